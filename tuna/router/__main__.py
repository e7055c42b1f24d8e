"""Runs the router from its environment: what a SkyServe router replica runs."""

import sys

from tuna.errors import TunaError
from tuna.router.app import serve
from tuna.router.config import RouterConfig

try:
    serve(RouterConfig.from_environment())
except TunaError as exc:
    sys.exit(f"tuna router: {exc}")

"""The workspace API key, and a REST client made from it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from tuna.errors import TunaError

if TYPE_CHECKING:
    from tuna.providers.baseten.api import BasetenApi

KEY_HINT = ("create an API key at https://app.baseten.co/settings/api_keys, then "
            "`export BASETEN_API_KEY=...`")


def api_key() -> str | None:
    return os.environ.get("BASETEN_API_KEY", "").strip() or None


def required_api_key() -> str:
    key = api_key()
    if key is None:
        raise TunaError(f"BASETEN_API_KEY is not set: {KEY_HINT}")
    return key


def client(key: str | None = None) -> BasetenApi:
    # requests is imported only by commands that talk to Baseten, not by --dry-run.
    from tuna.providers.baseten.api import BasetenApi

    return BasetenApi(key or required_api_key())

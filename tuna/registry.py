"""Finds provider plugins through the `tuna.providers` entry point group.

Built-in providers are registered in pyproject.toml exactly as a third-party package would
register its own, so both load through the same path.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points
from importlib.util import find_spec

from tuna.errors import TunaError, UsageError
from tuna.provider import Provider

GROUP = "tuna.providers"


@cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def names() -> list[str]:
    return sorted(_entry_points())


def _install_hint(ep: EntryPoint, extra: str | None) -> str:
    dist = ep.dist.name if ep.dist else ep.module.split(".")[0]
    target = f"{dist}[{extra}]" if extra else dist
    return f"pip install '{target}'" + (f" (in a checkout: uv sync --extra {extra})" if extra else "")


def load(name: str) -> Provider:
    """The named provider, ready to use, or an error that says how to install what it lacks."""
    ep = _entry_points().get(name)
    if ep is None:
        known = ", ".join(names()) or "none"
        raise UsageError(f"unknown provider {name!r}; installed providers: {known}")
    try:
        cls = ep.load()
    except ImportError as exc:
        raise TunaError(
            f"provider {name!r} cannot be loaded ({exc}); install it with {_install_hint(ep, None)}"
        ) from None
    missing = [module for module in cls.requires if find_spec(module) is None]
    if missing:
        raise TunaError(
            f"provider {name!r} needs {', '.join(missing)}, which is not installed: "
            f"{_install_hint(ep, cls.extra)}"
        )
    return cls()


def available() -> list[Provider]:
    """Every installed provider whose requirements are met."""
    found = []
    for name in names():
        try:
            found.append(load(name))
        except TunaError:
            continue
    return found

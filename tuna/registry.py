"""Finds provider plugins through the `tuna.providers` entry point group.

Built-in providers are registered in pyproject.toml exactly as a third-party package would
register its own, so both load through the same path and are held to the same contract.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points
from importlib.util import find_spec

from tuna.errors import TunaError, UsageError
from tuna.provider import InferenceProvider

GROUP = "tuna.providers"


@cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def names() -> list[str]:
    return sorted(_entry_points())


def install_hint(ep: EntryPoint, extra: str | None) -> str:
    dist = ep.dist.name if ep.dist else ep.module.split(".")[0]
    target = f"{dist}[{extra}]" if extra else dist
    return f"pip install '{target}'" + (f" (in a checkout: uv sync --extra {extra})" if extra else "")


def _entry_point(name: str) -> EntryPoint:
    ep = _entry_points().get(name.lower())
    if ep is None:
        from tuna.suggest import did_you_mean

        raise UsageError(f"unknown provider {name!r}{did_you_mean(name.lower(), names())}; "
                         f"installed providers: {', '.join(names()) or 'none'}")
    return ep


def provider_class(name: str) -> type[InferenceProvider]:
    """The named plugin's class, held to the contract: a plugin that misses a method fails here,
    when it is loaded, not halfway through a deploy."""
    ep = _entry_point(name)
    try:
        cls = ep.load()
    except ImportError as exc:
        raise TunaError(f"provider {ep.name!r} cannot be loaded ({exc}); install it with "
                        f"{install_hint(ep, None)}") from None
    if not (isinstance(cls, type) and issubclass(cls, InferenceProvider)):
        raise TunaError(f"provider plugin {ep.name!r} ({ep.value}) is not an InferenceProvider")
    if cls.__abstractmethods__:
        raise TunaError(f"provider plugin {ep.name!r} ({ep.value}) does not implement "
                        f"{', '.join(sorted(cls.__abstractmethods__))}")
    return cls


def missing_requirements(cls: type[InferenceProvider]) -> str | None:
    """The install hint when the modules the provider needs are absent, else None."""
    missing = [module for module in cls.requires if find_spec(module) is None]
    if not missing:
        return None
    return (f"provider {cls.name!r} needs {', '.join(missing)}, which is not installed: "
            f"{install_hint(_entry_point(cls.name), cls.extra)}")


def load(name: str) -> InferenceProvider:
    """The named provider, ready to use, or an error that says how to install what it lacks."""
    cls = provider_class(name)
    hint = missing_requirements(cls)
    if hint:
        raise TunaError(hint)
    return cls()


def available() -> list[InferenceProvider]:
    """Every installed provider whose requirements are met."""
    found = []
    for name in names():
        try:
            found.append(load(name))
        except TunaError:
            continue
    return found

"""Finds provider plugins through the `tuna.providers` entry point group.

Built-in providers are registered in pyproject.toml exactly as a third-party package would
register its own, so both load through the same path and are held to the same contract. A
plugin that needs optional packages names its extra in the entry point
(`baseten = "pkg.module:Class [baseten]"`); tuna checks that extra's requirements are installed
before loading it, and otherwise prints a one-line install hint.

The installed distributions' metadata is read directly rather than through importlib.metadata,
whose import alone costs `show-gpus` ~70 ms; tests check both find the same entry points.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from functools import cache
from importlib import import_module

from tuna.errors import TunaError, UsageError

GROUP = "tuna.providers"
# Providers of a hybrid service's spot fleet: the same contract, but never a deploy's serverless
# provider (`tuna deploy --hybrid` chooses them).
SPOT_GROUP = "tuna.spot_providers"
_ENTRY = re.compile(r"\s*([^=\s]+)\s*=\s*([\w.]+):([\w.]+)\s*(?:\[([^\]]*)\])?\s*")
_EXTRA_REQUIREMENT = re.compile(
    r"Requires-Dist:\s*([A-Za-z0-9][A-Za-z0-9._-]*).*;.*\bextra\s*==\s*['\"]([^'\"]+)['\"]")


def _normal(name: str) -> str:
    """A distribution name as the packaging specs compare them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Plugin:
    name: str
    module: str
    attribute: str
    extras: tuple[str, ...]
    dist_info: str  # the .dist-info directory of the distribution that registers it
    group: str = GROUP

    @property
    def value(self) -> str:
        return f"{self.module}:{self.attribute}"

    def _metadata(self) -> list[str]:
        try:
            with open(os.path.join(self.dist_info, "METADATA"), encoding="utf-8") as file:
                text = file.read().split("\n\n", 1)[0]  # the headers, not the description
        except OSError:
            return []
        return text.splitlines()

    @property
    def distribution(self) -> str:
        names = [line.split(":", 1)[1].strip() for line in self._metadata()
                 if line.startswith("Name:")]
        return names[0] if names else os.path.basename(self.dist_info).split("-")[0]

    def missing(self) -> list[str]:
        """The requirements of its extras that are not installed."""
        needed = [name for line in self._metadata()
                  for name, extra in _EXTRA_REQUIREMENT.findall(line) if extra in self.extras]
        return [name for name in needed if _normal(name) not in _installed()]

    def _source_directory(self) -> str | None:
        """The local directory it was installed from (a checkout), per PEP 610's
        direct_url.json; None when it came from a package index."""
        import json

        try:
            with open(os.path.join(self.dist_info, "direct_url.json"), encoding="utf-8") as file:
                url = json.load(file).get("url", "")
        except (OSError, ValueError):
            return None
        return url[len("file://"):] if url.startswith("file://") else None

    def install_hint(self) -> str:
        """What installs its extra the way it was installed: from a checkout, that checkout
        (the distribution may not be on any index); else from the index."""
        extras = ",".join(self.extras)
        checkout = self._source_directory()
        if checkout:
            flags = " ".join(f"--extra {extra}" for extra in self.extras)
            return (f"uv sync {flags} in {checkout} (or pip install '{checkout}[{extras}]')"
                    if extras else f"pip install '{checkout}'")
        target = f"{self.distribution}[{extras}]" if extras else self.distribution
        return f"pip install '{target}'"


@cache
def _dist_infos() -> dict[str, str]:
    """Normalised distribution name -> its .dist-info directory, the first on sys.path winning,
    as importlib.metadata decides."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                found.setdefault(_normal(name[:-len(".dist-info")].split("-")[0]),
                                 os.path.join(entry or ".", name))
    return found


def _installed() -> set[str]:
    return set(_dist_infos())


@cache
def plugins() -> dict[str, Plugin]:
    found: dict[str, Plugin] = {}
    for dist_info in _dist_infos().values():
        try:
            with open(os.path.join(dist_info, "entry_points.txt"), encoding="utf-8") as file:
                lines = file.read().splitlines()
        except OSError:
            continue
        group = None
        for line in lines:
            if line.strip().startswith("["):
                group = line.strip()[1:-1].strip()
            elif group in (GROUP, SPOT_GROUP) and (match := _ENTRY.fullmatch(line)):
                name, module, attribute, extras = match.groups()
                found.setdefault(name, Plugin(name, module, attribute, tuple(
                    e.strip() for e in (extras or "").split(",") if e.strip()), dist_info,
                    group))
    return found


def names(group: str = GROUP) -> list[str]:
    """The installed providers of one role: serverless ones unless told."""
    return sorted(name for name, found in plugins().items() if found.group == group)


def with_plugins(offers: list) -> list:
    """The catalog offers of providers that have a plugin here: only those are offered."""
    installed = set(names())
    return [offer for offer in offers if offer.provider in installed]


def plugin(name: str) -> Plugin:
    found = plugins().get(name.lower())
    if found is None:
        from tuna.suggest import did_you_mean

        raise UsageError(f"unknown provider {name!r}{did_you_mean(name.lower(), names())}; "
                         f"installed providers: {', '.join(names()) or 'none'}")
    return found


def install_hint(name: str) -> str:
    return plugin(name).install_hint()


def missing_requirements(name: str) -> str | None:
    """The install hint when what the provider's extra brings is absent, else None."""
    found = plugin(name)
    missing = found.missing()
    if not missing:
        return None
    return (f"provider {found.name!r} needs {', '.join(missing)}, which is not installed: "
            f"{found.install_hint()}")


def provider_class(name: str):
    """The named plugin's class, held to the contract: a plugin that misses a method fails here,
    when it is loaded, not halfway through a deploy."""
    from tuna.provider import InferenceProvider

    found = plugin(name)
    try:
        cls = getattr(import_module(found.module), found.attribute)
    except (ImportError, AttributeError) as exc:
        raise TunaError(f"provider {found.name!r} cannot be loaded ({exc}); install it with "
                        f"{found.install_hint()}") from None
    if not (isinstance(cls, type) and issubclass(cls, InferenceProvider)):
        raise TunaError(f"provider plugin {found.name!r} ({found.value}) is not an "
                        "InferenceProvider")
    if cls.__abstractmethods__:
        raise TunaError(f"provider plugin {found.name!r} ({found.value}) does not implement "
                        f"{', '.join(sorted(cls.__abstractmethods__))}")
    return cls


def load(name: str):
    """The named provider, ready to use, or an error that says how to install what it lacks."""
    hint = missing_requirements(name)
    if hint:
        raise TunaError(hint)
    return provider_class(name)()


def available() -> list:
    """Every installed provider whose requirements are met."""
    found = []
    for name in sorted(plugins()):
        try:
            found.append(load(name))
        except TunaError:
            continue
    return found

"""The vLLM releases tuna tracks: data/vllm.toml for tuna's own choices, data/vllm/<version>.json
for what each release can load and which flags it accepts (written by scripts/vllm_data.py)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache

DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")


@cache
def facts() -> dict:
    import tomllib  # only deploy paths read it

    with open(os.path.join(DATA, "vllm.toml"), "rb") as data:
        return tomllib.load(data)


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@cache
def tracked_versions() -> tuple[str, ...]:
    """Oldest first."""
    names = (name.removesuffix(".json") for name in os.listdir(os.path.join(DATA, "vllm")))
    return tuple(sorted(names, key=_key))


def newer_or_same(version: str, than: str) -> bool:
    return _key(version) >= _key(than)


@dataclass(frozen=True)
class Flag:
    takes_value: bool
    choices: tuple[str, ...] | None


@dataclass(frozen=True)
class Release:
    version: str
    architectures: frozenset[str]
    previously_supported: dict[str, str]  # architecture -> the last release that loaded it
    quantization_methods: frozenset[str]
    serve_flags: dict[str, Flag]


@cache
def release(version: str) -> Release:
    with open(os.path.join(DATA, "vllm", f"{version}.json"), encoding="utf-8") as file:
        data = json.load(file)
    flags = {name: Flag(spec["value"], tuple(spec["choices"]) if spec["choices"] else None)
             for name, spec in data["serve_flags"].items()}
    return Release(data["version"], frozenset(data["architectures"]),
                   data["previously_supported"], frozenset(data["quantization_methods"]), flags)


def default_version() -> str:
    return facts()["default_version"]


def gpu_memory_utilization() -> float:
    return float(facts()["gpu_memory_utilization"])


def quantization_methods() -> tuple[str, ...]:
    """The methods tuna knows the GPU needs of: those --quantization accepts."""
    return tuple(facts()["quantization_min_capability"])


def min_compute_capability(method: str) -> float:
    """The lowest CUDA compute capability the method's kernels run on."""
    return float(facts()["quantization_min_capability"][method])


def quantization_name(method: str, version: str, online: bool = True) -> str | None:
    """The name `version` knows `method` by; None if it has none. Newer releases renamed some
    online methods (applied while loading an unquantized checkpoint); a checkpoint quantized that
    way keeps the name its config states."""
    methods = release(version).quantization_methods
    renamed = facts()["quantization_renamed"].get(method)
    if online and renamed in methods:
        return renamed
    return method if method in methods else None

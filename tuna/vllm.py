"""Facts about the vLLM release tuna serves with, read from data/vllm.toml."""

from __future__ import annotations

import os
from functools import cache


@cache
def _facts() -> dict:
    import tomllib  # only deploy paths read it

    with open(os.path.join(os.path.dirname(__file__), "data", "vllm.toml"), "rb") as data:
        return tomllib.load(data)


def version() -> str:
    return _facts()["version"]


def default_image() -> str:
    return _facts()["image"]


def gpu_memory_utilization() -> float:
    return float(_facts()["gpu_memory_utilization"])


def quantization_methods() -> tuple[str, ...]:
    return tuple(_facts()["quantization_min_capability"])


def min_compute_capability(method: str) -> float:
    """The lowest CUDA compute capability the method's kernels run on."""
    return float(_facts()["quantization_min_capability"][method])

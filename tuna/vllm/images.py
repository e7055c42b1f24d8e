"""Which vllm/vllm-openai tag serves a release on a provider: the CUDA build is the provider's
choice (data/vllm.toml, [cuda]); a provider not listed runs the CUDA 12 build, which more hosts
can start."""

from __future__ import annotations

from tuna.vllm.releases import facts, newer_or_same


def openai_image(version: str, provider: str) -> str:
    return openai_tag(version, facts()["cuda"].get(provider, {}).get("major", 12))


def openai_tag(version: str, cuda_major: int) -> str:
    image = facts()["image"]
    tag = f"v{version}"
    if cuda_major == 12 and newer_or_same(version, image["cuda13_from"]):
        tag += image["cuda12_suffix"]  # from 0.20 the plain tag is CUDA 13
    elif cuda_major == 13 and not newer_or_same(version, image["cuda13_from"]):
        raise ValueError(f"vLLM {version} has no CUDA 13 image")
    return f"{image['repository']}:{tag}"

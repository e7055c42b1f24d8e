"""Can a release load a model: vLLM picks the model class by the architecture names in the
model's config.json (`architectures`), from its own registry, the data of each tracked release."""

from __future__ import annotations

from collections.abc import Sequence

from tuna.vllm.releases import release, tracked_versions


def loads(architectures: Sequence[str], version: str) -> bool:
    """vLLM tries each name in turn: one it knows is enough."""
    return bool(set(architectures) & release(version).architectures)


def refusal(model: str, architectures: Sequence[str], version: str, provider: str,
            servable: Sequence[str]) -> str | None:
    """Why vLLM `version` cannot load the model, naming what can; None when it can. `servable`:
    the tracked releases the provider can serve."""
    if loads(architectures, version):
        return None
    names = "/".join(architectures)
    head = f"--model: {model} is {names}, which vLLM {version} cannot load"
    newer = [v for v in tracked_versions() if loads(architectures, v)]
    if not newer:
        tracked = tracked_versions()
        retired = {release(version).previously_supported.get(a) for a in architectures} - {None}
        dropped = f" (vLLM dropped it after {', '.join(sorted(retired))})" if retired else ""
        return (f"--model: {model} is {names}, an architecture no vLLM tuna tracks "
                f"({tracked[0]} to {tracked[-1]}) can load{dropped}; --skip-model-check deploys "
                "without this check, if it loads another way (a plugin, trust-remote-code)")
    usable = [v for v in newer if v in servable]
    if usable:
        return (f"{head}; vLLM {usable[0]} is the oldest tuna tracks that can: add "
                f"--vllm-version {usable[0]}")
    return (f"{head}; vLLM {', '.join(newer)} can, but {provider} serves only "
            f"{', '.join(servable)}: choose another --serverless-provider")

"""The `vllm serve` command every provider renders, in the flags of the release it targets, and a
check of any argv against that release's own parser (its stored flags)."""

from __future__ import annotations

from tuna.models import ColdStartMode, DeployRequest
from tuna.vllm.releases import gpu_memory_utilization, quantization_name, release


def serve_argv(request: DeployRequest, model_path: str, port: int, version: str) -> list[str]:
    argv = [
        "vllm", "serve", model_path,
        "--served-model-name", request.model,
        "--host", "0.0.0.0",
        "--port", str(port),
        "--max-model-len", str(request.max_model_len),
        "--tensor-parallel-size", str(request.tp_size),
        "--gpu-memory-utilization", str(gpu_memory_utilization()),
        # A custom server ignores a platform's own concurrency setting: vLLM's bound on the
        # requests batched at once is what --concurrency means.
        "--max-num-seqs", str(request.scaling.concurrency),
    ]
    if request.cold_start_mode is ColdStartMode.FAST_BOOT:
        argv.append("--enforce-eager")  # skips CUDA graph capture: a faster cold start
    if request.quantization:
        # prepare refused a method the release lacks; the name is the release's own
        online = request.checkpoint_quantization is None
        argv += ["--quantization", quantization_name(request.quantization, version, online)
                 or request.quantization]
    return argv


def unaccepted(argv: list[str], version: str) -> list[str]:
    """What vLLM `version`'s `vllm serve` parser would reject in argv (from `vllm serve MODEL`
    on): unknown flags, missing values, values outside a flag's choices."""
    flags = release(version).serve_flags
    problems, rest = [], list(argv[3:])
    while rest:
        token = rest.pop(0)
        name, _, inline = token.partition("=")
        flag = flags.get(name)
        if flag is None:
            problems.append(f"vLLM {version} does not know {name}")
            continue
        if not flag.takes_value:
            continue
        value = inline or (rest.pop(0) if rest and not rest[0].startswith("--") else None)
        if value is None:
            problems.append(f"{name} needs a value")
        elif flag.choices and value not in flag.choices:
            problems.append(f"vLLM {version} accepts {name} {'|'.join(flag.choices)}, not {value}")
    return problems

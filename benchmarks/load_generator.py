"""`tuna benchmark load-test`'s own overhead (from the repository root):

    uv run --locked --all-extras python benchmarks/load_generator.py

Runs tuna's load generator (tuna/bench/load.py) at 64 concurrent streams against a fake vLLM in
a process of its own that streams 128 tokens per answer 10 ms apart (about what one vLLM stream
of a small model gives), and reports the generator's CPU per request and per token, its share
of one core, and whether it kept pace (the inter-token time it measured against the 10 ms the
server keeps). It is not the bottleneck while its share of a core stays well under 1 and the
measured gaps stay near 10 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loopback import fake_vllm, report, stop  # noqa: E402

from tuna.bench import load  # noqa: E402
from tuna.bench.target import Target  # noqa: E402
from tuna.models import DeployRequest, Record, Status  # noqa: E402

TOKEN_DELAY_S = 0.010
BUDGETS = {"generator_core_share": 0.5, "inter_token_p50_over_server": 1.2}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--requests", type=int, default=640)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    server, url = fake_vllm(events=args.tokens, token_delay_s=TOKEN_DELAY_S)
    record = Record("bench", "fake", Status.ACTIVE, DeployRequest("Qwen/Qwen3-0.6B", "L4"))
    try:
        result = asyncio.run(load.run(Target(record, f"{url}/v1", {}, "Qwen/Qwen3-0.6B"),
                                      args.concurrency, args.requests, None, 16, args.tokens))
    finally:
        stop(server)
    summary = result.summary()
    tokens = summary["output_tokens"]
    found = {
        "concurrency": args.concurrency, "requests": summary["completed"],
        "errors": summary["errors"], "duration_s": summary["duration_s"],
        "output_tokens_per_s": summary["output_tokens_per_s"],
        "generator_cpu_ms_per_request": summary["client_cpu_ms_per_request"],
        "generator_cpu_us_per_token": 1e6 * result.client_cpu_s / tokens if tokens else None,
        "generator_core_share": result.client_cpu_s / summary["duration_s"],
        "inter_token_p50_ms": summary["inter_token_s"]["p50"] * 1000,
        "inter_token_p50_over_server": summary["inter_token_s"]["p50"] / TOKEN_DELAY_S,
    }
    return report(found, BUDGETS, args.json)


if __name__ == "__main__":
    sys.exit(main())

"""`tuna benchmark cold-start|load-test|show NAME`."""

from __future__ import annotations

from tuna.cli_parser import duration, json_flag, service_flag, whole_number
from tuna.commands import POLLING, command, state_store
from tuna.errors import UsageError

ACTIONS = ("cold-start", "load-test", "show")


def _benchmark_arguments(p) -> None:
    p.add_argument("action", choices=ACTIONS,
                   help="cold-start: time a request from zero replicas; load-test: stream "
                   "requests at a concurrency; show: the results kept for the service")
    service_flag(p)
    p.add_argument("--runs", type=whole_number, default=3, help="cold-start: how many")
    p.add_argument("--zero-timeout", type=duration, default="30m",
                   help="cold-start: how long to wait for the provider to report no replica")
    p.add_argument("--concurrency", type=whole_number, default=8,
                   help="load-test: requests in flight at once")
    p.add_argument("--requests", type=whole_number, help="load-test: how many requests")
    p.add_argument("--duration", type=duration, help="load-test: or for how long, e.g. 60s")
    p.add_argument("--prompt-tokens", type=whole_number, default=128,
                   help="load-test: about how many tokens each prompt has")
    p.add_argument("--max-tokens", type=whole_number, default=128,
                   help="load-test: the most output tokens each answer may have")
    p.add_argument("--url", metavar="BASE_URL",
                   help="the OpenAI base URL to use instead of the record's (a hybrid router "
                   "started with `tuna router serve NAME`)")
    json_flag(p)


@command("benchmark", "measure a service's cold start or its throughput under load",
         "tuna benchmark load-test qwen3-0-6b --concurrency 16 --requests 200",
         _benchmark_arguments, POLLING)
def run_benchmark(args, out) -> int:
    from tuna.bench import runner

    if args.action == "show":
        return out.show(runner.show(state_store(), args.service_name))
    if args.action == "cold-start":
        if args.runs < 1:
            raise UsageError("--runs: at least 1")
        return out.show(runner.cold_starts(state_store(), args.service_name, args.runs,
                                           args.zero_timeout, args.url, out.note))
    if args.concurrency < 1:
        raise UsageError("--concurrency: at least 1")

    def progress(done: int, errors: int, elapsed: float) -> None:
        out.progress_line(f"{done} done, {errors} errors, {elapsed:.1f} s")

    report = runner.load_test(state_store(), args.service_name, args.concurrency, args.requests,
                              args.duration, args.prompt_tokens, args.max_tokens, args.url,
                              progress)
    out.progress_line(None)
    return out.show(report)

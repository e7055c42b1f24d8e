"""tuna's command line: parses arguments, calls the host, prints. Logic lives below this module.

Heavy modules (truss, requests, the providers) are imported inside the commands that need them,
so `--help`, `show-gpus`, `list` and friends start fast.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from tuna.errors import TunaError, UsageError

DEFAULT_TIMEOUT = "30m"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit 2), not the usage block."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def _whole_number(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d{1,12}", text.strip()):
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    return int(text)


def duration(text: str) -> float:
    """Seconds from '90', '90s', '10m' or '2h'."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", text.strip())
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"expected a duration like 90s, 10m or 2h, got {text!r}")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def _deploy_args(deploy: argparse.ArgumentParser) -> None:
    deploy.add_argument("--model", required=True, help="Hugging Face model id, e.g. Qwen/Qwen3-0.6B")
    deploy.add_argument("--gpu", required=True, help="GPU name, e.g. L4 or A100 (see show-gpus)")
    deploy.add_argument("--serverless-provider", metavar="PROVIDER",
                        help="provider plugin, e.g. baseten (default: the cheapest installed "
                        "provider offering the GPU)")
    deploy.add_argument("--service-name", default="",
                        help="name of the service (default: derived from the model)")
    deploy.add_argument("--tp-size", type=_whole_number, default=1,
                        help="tensor-parallel size = GPUs per replica (default: 1)")
    deploy.add_argument("--max-model-len", type=_whole_number, default=4096,
                        help="maximum context length in tokens (default: 4096)")
    deploy.add_argument("--concurrency", type=_whole_number, default=32,
                        help="requests one replica serves at once; also the autoscaling "
                        "target (default: 32)")
    deploy.add_argument("--cold-start-mode", default="fast_boot",
                        help="fast_boot (vLLM --enforce-eager: faster start) or no_fast_boot "
                        "(CUDA graphs: faster decoding) (default: fast_boot)")
    deploy.add_argument("--quantization", help="vLLM quantization method, e.g. awq or fp8")
    deploy.add_argument("--revision", default="main",
                        help="model repo branch, tag or commit (default: main)")
    deploy.add_argument("--image", help="vLLM container image (default: the provider's pinned one)")
    deploy.add_argument("--hf-secret", metavar="NAME",
                        help="provider secret holding a Hugging Face token, for gated or private "
                        "models (Baseten uses hf_access_token when the workspace has it)")
    deploy.add_argument("--min-replicas", type=_whole_number, default=0,
                        help="replicas kept running; 0 scales to zero when idle (default: 0)")
    deploy.add_argument("--max-replicas", type=_whole_number, default=1,
                        help="most replicas under load (default: 1)")
    deploy.add_argument("--scale-down-delay", type=_whole_number, default=300,
                        help="idle seconds before a replica is removed (default: 300)")
    deploy.add_argument("--dry-run", nargs="?", const="", metavar="DIR",
                        help="render and validate offline into DIR (default: ./<service>-truss); "
                        "no account needed")
    deploy.add_argument("--update", action="store_true",
                        help="roll a new version of a live service out behind its endpoint")
    deploy.add_argument("--no-wait", action="store_true",
                        help="return once the deployment is created, without waiting for it")
    deploy.add_argument("--timeout", type=duration, default=DEFAULT_TIMEOUT,
                        help="how long to wait for readiness, e.g. 900s, 30m (default: 30m)")
    _json_flag(deploy)


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def _service_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--service-name", required=True)


def _status_args(status: argparse.ArgumentParser) -> None:
    _service_arg(status)
    _json_flag(status)


def _list_args(listing: argparse.ArgumentParser) -> None:
    listing.add_argument("--all", action="store_true", help="include destroyed services")
    _json_flag(listing)


def _destroy_args(destroy: argparse.ArgumentParser) -> None:
    which = destroy.add_mutually_exclusive_group(required=True)
    which.add_argument("--service-name")
    which.add_argument("--all", action="store_true", help="every live service (asks first)")
    destroy.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def _show_gpus_args(gpus: argparse.ArgumentParser) -> None:
    gpus.add_argument("--gpu", help="one GPU: its offers, cheapest first")
    gpus.add_argument("--provider", help="only this provider's offers")
    _json_flag(gpus)


def _check_args(check: argparse.ArgumentParser) -> None:
    check.add_argument("--provider", required=True)


def _logs_args(logs: argparse.ArgumentParser) -> None:
    _service_arg(logs)
    logs.add_argument("--since", type=duration, default="30m",
                      help="how far back, e.g. 10m or 2h (default: 30m)")
    logs.add_argument("--follow", action="store_true", help="keep printing new lines until Ctrl-C")


# name -> (help, arguments); only the invoked command's arguments are built, which keeps
# start-up short.
SUBCOMMANDS = {
    "deploy": ("deploy a model (or render it with --dry-run)", _deploy_args),
    "status": ("show a service's live status and burn rate", _status_args),
    "list": ("list services tuna deployed", _list_args),
    "destroy": ("remove a deployed service", _destroy_args),
    "show-gpus": ("compare GPU prices across providers", _show_gpus_args),
    "check": ("run a provider's preflight checks", _check_args),
    "logs": ("show a service's deployment logs", _logs_args),
    "cost": ("estimate what a service has cost so far", _status_args),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = _Parser(prog="tuna", description="Deploy open LLMs served by vLLM onto serverless "
                     "GPU providers, behind an OpenAI-compatible endpoint.")
    parser.add_argument("--version", action="version", version="tuna 0.2.0")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=_Parser)
    invoked = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, (text, add_arguments) in SUBCOMMANDS.items():
        subparser = commands.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        if name == invoked:
            add_arguments(subparser)
    return parser


# --- commands ------------------------------------------------------------------------------


def cmd_show_gpus(args, out) -> int:
    from tuna import catalog

    cat = catalog.load()
    gpu = cat.resolve(args.gpu) if args.gpu else None
    if args.provider and args.provider not in cat.providers():
        raise UsageError(f"unknown provider {args.provider!r}; the catalog has "
                         f"{', '.join(cat.providers())}")
    offers = cat.offers_for(gpu=gpu, provider=args.provider)
    if args.json:
        return out.json([o.to_json() for o in offers])
    if gpu:
        out.gpu_offers(cat.gpus[gpu], offers)
    else:
        out.price_matrix(cat, offers)
    return 0


def _request(args):
    from tuna import catalog
    from tuna.models import DeployRequest, Scaling

    return DeployRequest(
        model=args.model, gpu=catalog.load().resolve(args.gpu), service_name=args.service_name,
        tp_size=args.tp_size, max_model_len=args.max_model_len,
        cold_start_mode=args.cold_start_mode, quantization=args.quantization,
        revision=args.revision, image=args.image, hf_secret=args.hf_secret,
        scaling=Scaling(concurrency=args.concurrency, min_replicas=args.min_replicas,
                        max_replicas=args.max_replicas, scale_down_delay=args.scale_down_delay),
    )


def cmd_deploy(args, out) -> int:
    from pathlib import Path

    from tuna import lifecycle
    from tuna.state import StateStore

    request = _request(args)
    provider, note = lifecycle.choose_provider(request, args.serverless_provider)
    if note:
        out.note(note)
    plan = lifecycle.plan(request, provider)
    if args.dry_run is not None:
        directory = Path(args.dry_run or f"{request.service_name}-truss")
        written = plan.write(directory)
        if args.json:
            return out.json({"dry_run": True, "provider": provider.name,
                             "service_name": request.service_name, "directory": str(directory),
                             "files": [str(p) for p in written], "summary": plan.summary})
        out.dry_run(plan, directory, written)
        return 0
    with out.deploy_events() as events:
        result = lifecycle.deploy(StateStore(), provider, plan, events,
                                  None if args.no_wait else args.timeout, update=args.update)
    if args.json:
        return out.json(result.to_json())
    out.deployed(result, plan)
    return 0


def cmd_status(args, out) -> int:
    from tuna import lifecycle
    from tuna.state import StateStore

    report = lifecycle.status(StateStore(), args.service_name)
    if args.json:
        remote = report.remote
        return out.json({**report.record.to_json(),
                         "provider_status": remote.provider_status if remote else None,
                         "active_replicas": remote.active_replicas if remote else None,
                         **(remote.details if remote else {}),
                         "burn_rate_per_hour": report.burn_rate})
    out.status(report)
    return 0


def cmd_cost(args, out) -> int:
    from tuna import lifecycle
    from tuna.state import StateStore

    report, estimate = lifecycle.estimate_cost(StateStore(), args.service_name)
    if args.json:
        return out.json({"service_name": report.record.service_name,
                         "provider": report.record.provider, "gpu": report.record.request.gpu,
                         **estimate.to_json(), "burn_rate_per_hour": report.burn_rate})
    out.cost(report, estimate)
    return 0


def cmd_logs(args, out) -> int:
    import time

    from tuna import lifecycle
    from tuna.state import StateStore

    since_ms = int((time.time() - args.since) * 1000)
    try:
        for line in lifecycle.logs(StateStore(), args.service_name, since_ms, args.follow):
            out.log_line(line)
    except KeyboardInterrupt:
        if not args.follow:
            raise
    return 0  # Ctrl-C is how a follow ends


def cmd_list(args, out) -> int:
    from tuna.state import StateStore

    records = StateStore().list(include_destroyed=args.all)
    if args.json:
        return out.json([r.to_json() for r in records])
    out.records(records)
    return 0


def cmd_destroy(args, out) -> int:
    from tuna import lifecycle
    from tuna.state import StateStore

    store = StateStore()
    if not args.all:
        lifecycle.destroy(store, args.service_name)
        out.note(f"Destroyed {args.service_name}.")
        return 0
    names = [r.service_name for r in store.list()]
    if not names:
        out.note("Nothing to destroy.")
        return 0
    if not args.yes and not out.confirm(f"Destroy {len(names)} services ({', '.join(names)})?"):
        raise UsageError("not confirmed; nothing was destroyed (pass --yes to skip the question)")
    failed = False
    for name, error in lifecycle.destroy_each(store, names):
        if error is None:
            out.note(f"Destroyed {name}.")
        else:
            failed = True
            out.error(f"{name}: {error} (record kept; retry `tuna destroy --service-name {name}`)")
    return 1 if failed else 0


def cmd_check(args, out) -> int:
    from tuna import registry

    checks = registry.load(args.provider).preflight(None)
    out.checks(args.provider, checks)
    return 0 if all(c.ok for c in checks) else 1


COMMANDS = {"deploy": cmd_deploy, "status": cmd_status, "list": cmd_list,
            "destroy": cmd_destroy, "show-gpus": cmd_show_gpus, "check": cmd_check,
            "logs": cmd_logs, "cost": cmd_cost}


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    import signal

    from tuna.output import Output

    # A kill from a CI runner or supervisor gets the same truthful cleanup as Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    out = None
    try:
        argv = sys.argv[1:] if argv is None else argv
        args = build_parser(argv).parse_args(argv)
        out = Output(json_mode=getattr(args, "json", False))
        return COMMANDS[args.command](args, out)
    except TunaError as exc:
        (out or Output()).fail(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        print("tuna: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("TUNA_DEBUG"):
            raise
        print(f"tuna: internal error: {type(exc).__name__}: {exc} (TUNA_DEBUG=1 shows the "
              "traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

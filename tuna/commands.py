"""tuna's commands, each declared once: name, help, example, arguments, and a handler that
makes one call into the host and prints its result.

Heavy modules (truss, requests, the providers) are imported inside the handlers that need them,
so `--help`, `show-gpus`, `list` and friends start fast.
"""

from __future__ import annotations

from tuna.cli_parser import (Command, Environment, default, duration, json_flag, lower,
                             provider_option_groups, service_flag, whole_number)
from tuna.errors import UsageError
from tuna.table import plural

COMMANDS: dict[str, Command] = {}
DEFAULT_TIMEOUT = "30m"
LOGS_SINCE = "30m"


def command(name: str, help: str, example: str, arguments,
            environment: Environment = Environment()):
    """Declare a command once: name, help, example, arguments and (decorated) handler."""

    def declare(run):
        COMMANDS[name] = Command(name, help, example, arguments, run, environment)
        return run
    return declare


def state_store():
    from tuna.state import StateStore

    return StateStore()


# --- deploy ----------------------------------------------------------------------------------

def number_flag(p, flag: str, owner, help: str) -> None:
    """A whole-number flag whose default is the request dataclass field of the same name."""
    p.add_argument(flag, type=whole_number, default=default(owner, flag[2:].replace("-", "_")),
                   help=help)


def _deploy_arguments(p) -> None:
    from tuna.models import DeployRequest, Scaling

    p.add_argument("--model", required=True, help="Hugging Face model id, e.g. Qwen/Qwen3-0.6B")
    p.add_argument("--gpu", required=True, help="GPU name, e.g. L4 or A100 (see `tuna show-gpus`)")
    from tuna import registry

    p.add_argument("--serverless-provider", "--provider", metavar="PROVIDER", type=lower,
                   help=f"provider plugin, one of {', '.join(registry.names())} (default: the "
                   "cheapest installed provider offering the GPU that can serve the request; "
                   "tuna says which)")
    p.add_argument("--service-name", default="", metavar="NAME",
                   help="name of the service (default: derived from the model, qwen3-0-6b)")
    number_flag(p, "--tp-size", DeployRequest, "tensor-parallel size = GPUs per replica")
    number_flag(p, "--max-model-len", DeployRequest, "maximum context length in tokens")
    number_flag(p, "--concurrency", Scaling, "requests one replica serves at once (vLLM "
            "--max-num-seqs); also the autoscaling target")
    p.add_argument("--cold-start-mode", default=default(DeployRequest, "cold_start_mode").value,
                   choices=["fast_boot", "no_fast_boot"],
                   help="fast_boot (vLLM --enforce-eager: faster start) or no_fast_boot (CUDA "
                   "graphs: faster decoding)")
    p.add_argument("--quantization", metavar="METHOD",
                   help="vLLM quantization method, e.g. awq or fp8 (checked against the GPU)")
    p.add_argument("--revision", default=default(DeployRequest, "revision"),
                   help="model repo branch, tag or commit")
    vllm_version_flag(p)
    p.add_argument("--image", help="vLLM container image (default: the provider's pinned one; "
                   "with --vllm-version, the release it carries)")
    p.add_argument("--hf-secret", metavar="NAME",
                   help="provider secret holding a Hugging Face token, for gated or private models")
    p.add_argument("--team", metavar="NAME",
                   help="the team of the provider workspace to deploy in (needed when it has "
                   "several)")
    number_flag(p, "--min-replicas", Scaling, "replicas kept running; 0 scales to zero when idle")
    number_flag(p, "--max-replicas", Scaling, "most replicas under load")
    number_flag(p, "--scale-down-delay", Scaling, "idle seconds before a replica is removed")
    p.add_argument("--dry-run", nargs="?", const="", metavar="DIR",
                   help="render and validate offline into DIR (default: ./<service>-<provider>); "
                   "no account needed")
    p.add_argument("--force", action="store_true",
                   help="with --dry-run: overwrite files tuna did not render for this service")
    p.add_argument("--update", action="store_true",
                   help="roll a new version of a live service out behind its endpoint")
    p.add_argument("--yes", action="store_true",
                   help="with --update: confirm that the service is to serve a different --model")
    p.add_argument("--skip-model-check", action="store_true",
                   help="do not read the model from the Hugging Face Hub first (for a model the "
                   "Hub does not describe, e.g. a private mirror)")
    p.add_argument("--no-wait", action="store_true",
                   help="return once the deployment is created, without waiting for it")
    p.add_argument("--timeout", type=duration, default=DEFAULT_TIMEOUT,
                   help="how long to wait for readiness, e.g. 900s, 30m")
    json_flag(p)
    from tuna.commands_hybrid import hybrid_arguments

    hybrid_arguments(p)
    provider_option_groups(p)


def vllm_version_flag(p, prefix: str = "") -> None:
    from tuna import vllm

    p.add_argument("--vllm-version", metavar="X.Y.Z",
                   help=f"{prefix}the vLLM release to serve with, one tuna tracks "
                   f"({', '.join(vllm.tracked_versions())}; default: the provider's)")


STATE = Environment(("TUNA_STATE_DIR", "TUNA_DEBUG"))
REMOTE = Environment(("TUNA_STATE_DIR", "TUNA_DEBUG"), providers=True)
# Commands that poll the provider until something happens.
POLLING = Environment(("TUNA_STATE_DIR", "TUNA_POLL_INTERVAL", "TUNA_DEBUG"), providers=True)
DEPLOY = Environment(("TUNA_STATE_DIR", "TUNA_POLL_INTERVAL", "HF_ENDPOINT", "HF_TOKEN",
                      "TUNA_DEBUG"), providers=True)


def _given_options(args) -> dict[str, dict[str, str]]:
    given: dict[str, dict[str, str]] = {}
    for dest, value in vars(args).items():
        if dest.startswith("option:") and value is not None:
            _, provider, name = dest.split(":")
            given.setdefault(provider, {})[name] = value
    return given


def _request(args):
    from tuna.models import DeployRequest, Scaling

    return DeployRequest(
        model=args.model, gpu=args.gpu, service_name=args.service_name, tp_size=args.tp_size,
        max_model_len=args.max_model_len, cold_start_mode=args.cold_start_mode,
        quantization=args.quantization, revision=args.revision, image=args.image,
        vllm_version=args.vllm_version, hf_secret=args.hf_secret, team=args.team, options=_given_options(args),
        scaling=Scaling(concurrency=args.concurrency, min_replicas=args.min_replicas,
                        max_replicas=args.max_replicas, scale_down_delay=args.scale_down_delay),
    )


@command("deploy", "deploy a model (or render it offline with --dry-run)",
         "tuna deploy --model Qwen/Qwen3-0.6B --gpu L4 --serverless-provider baseten",
         _deploy_arguments, DEPLOY)
def run_deploy(args, out) -> int:
    from tuna import deploying

    request = _request(args)
    if args.hybrid:
        from tuna.commands_hybrid import run_hybrid

        return run_hybrid(args, request, out)
    hybrid_only = [flag for flag, given in (("--router", args.router != "skyserve"),
                                           ("--spot-min-replicas", args.spot_min_replicas),
                                           ("--spot-max-replicas", args.spot_max_replicas != 2))
                   if given]
    if hybrid_only:
        raise UsageError(f"{', '.join(hybrid_only)} goes with --hybrid")
    with out.deploy_events() as events:
        if args.dry_run is not None:
            return out.show(deploying.dry_run(request, args.serverless_provider,
                                              args.dry_run or None, args.force, events,
                                              skip_model_check=args.skip_model_check))
        if args.force:
            raise UsageError("--force goes with --dry-run")
        return out.show(deploying.deploy(state_store(), request, args.serverless_provider, events,
                                         None if args.no_wait else args.timeout, args.update,
                                         replace_model=args.yes,
                                         skip_model_check=args.skip_model_check))


# --- inspect ---------------------------------------------------------------------------------

def _service_arguments(p) -> None:
    service_flag(p)
    json_flag(p)


@command("status", "show a service's live status and burn rate",
         "tuna status qwen3-0-6b", _service_arguments, REMOTE)
def run_status(args, out) -> int:
    from tuna import lifecycle

    return out.show(lifecycle.status(state_store(), args.service_name))


def _list_arguments(p) -> None:
    p.add_argument("--all", action="store_true", help="include destroyed services")
    p.add_argument("--remote", action="store_true",
                   help="ask each provider with credentials which services tuna made there, "
                   "marking those the local state does not know")
    json_flag(p)


@command("list", "list the services tuna deployed (local state; --remote asks providers)",
         "tuna list --remote", _list_arguments, REMOTE)
def run_list(args, out) -> int:
    from tuna import lifecycle

    if args.remote:
        listing = lifecycle.remote_listing(state_store())
        out.show(listing)
        return 0 if listing.searched else 1  # nothing searched is not "nothing runs"
    return out.show(lifecycle.listing(state_store(), args.all))


def _wait_arguments(p) -> None:
    service_flag(p)
    p.add_argument("--timeout", type=duration, default=DEFAULT_TIMEOUT,
                   help="how long to wait for readiness, e.g. 900s, 30m")
    json_flag(p)


@command("wait", "wait again until a deploying service is ready (exit 1 on failure or timeout)",
         "tuna wait qwen3-0-6b --timeout 20m", _wait_arguments, POLLING)
def run_wait(args, out) -> int:
    from tuna import lifecycle

    with out.deploy_events() as events:
        return out.show(lifecycle.wait(state_store(), args.service_name, events, args.timeout))


@command("cost", "estimate what a service has cost so far",
         "tuna cost qwen3-0-6b", _service_arguments, REMOTE)
def run_cost(args, out) -> int:
    from tuna import lifecycle

    return out.show(lifecycle.estimate_cost(state_store(), args.service_name))


def _logs_arguments(p) -> None:
    service_flag(p)
    p.add_argument("--since", type=duration, default=LOGS_SINCE,
                   help="how far back, e.g. 10m or 2h")
    p.add_argument("--follow", action="store_true", help="keep printing new lines until Ctrl-C")
    p.add_argument("--json", action="store_true", help="print one JSON object per log line")


@command("logs", "show a service's deployment logs, oldest first",
         "tuna logs qwen3-0-6b --since 10m --follow", _logs_arguments, POLLING)
def run_logs(args, out) -> int:
    import time

    from tuna import lifecycle

    since_ms = int((time.time() - args.since) * 1000)
    try:
        for line in lifecycle.logs(state_store(), args.service_name, since_ms, args.follow):
            out.log_line(line)
    except KeyboardInterrupt:
        if not args.follow:
            raise
    return 0  # Ctrl-C is how a follow ends


# --- destroy ---------------------------------------------------------------------------------

def _destroy_arguments(p) -> None:
    service_flag(p, required=False)
    p.add_argument("--all", action="store_true", help="every live service (asks first)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    json_flag(p)


@command("destroy", "remove a deployed service and stop its billing",
         "tuna destroy qwen3-0-6b", _destroy_arguments, POLLING)
def run_destroy(args, out) -> int:
    from tuna import lifecycle

    if bool(args.service_name) == args.all:
        raise UsageError("tuna destroy: name one service (`tuna destroy NAME`) or pass --all")
    store = state_store()
    remote = lifecycle.untracked(store, args.service_name) if args.service_name else None
    if remote:  # tuna made it (its labels say so), but the local state does not know it
        if not args.yes and not out.confirm(f"{remote.service_name} is a {remote.provider} "
                                            "service tuna made that its state does not know. "
                                            "Destroy it?"):
            return out.show(lifecycle.DestroyReport())
        return out.show(lifecycle.destroy_untracked(remote))
    names = [args.service_name] if args.service_name else lifecycle.live_services(store)
    if args.all and names and not args.yes and not out.confirm(
            f"Destroy {plural(len(names), 'service')} ({', '.join(names)})?"):
        names = []  # the user said no: nothing is destroyed, and that is not a failure
    report = lifecycle.destroy_each(store, names)
    if args.service_name and report.failed:
        raise report.failed[args.service_name]
    out.show(report)
    return 1 if report.failed else 0


# Commands declared elsewhere register themselves on import.
from tuna import commands_bench, commands_catalog, commands_hybrid  # noqa: E402,F401

"""The hybrid commands and flags: `deploy --hybrid` and `tuna router serve NAME`."""

from __future__ import annotations

from tuna.cli_parser import default, service_flag, whole_number
from tuna.commands import STATE, state_store, command


def hybrid_arguments(p) -> None:
    from tuna.hybrid import ROUTERS, HybridSettings

    group = p.add_argument_group("hybrid (a spot fleet on SkyServe and the serverless "
                                 "deployment behind one router; needs the [hybrid] extra)")
    group.add_argument("--hybrid", action="store_true",
                       help="deploy the serverless leg, a spot fleet and a router")
    group.add_argument("--router", choices=ROUTERS, default=default(HybridSettings, "router"),
                       help="where the router runs: its own small SkyServe service, or "
                       "`tuna router serve NAME` on this machine")
    for flag in ("--spot-min-replicas", "--spot-max-replicas"):
        group.add_argument(flag, type=whole_number,
                           default=default(HybridSettings, flag[2:].replace("-", "_")),
                           help=f"spot replicas at {'least' if 'min' in flag else 'most'}")


def run_hybrid(args, request, out) -> int:
    from tuna.hybrid import HybridSettings, deploy

    settings = HybridSettings(args.serverless_provider or "", args.router, args.spot_min_replicas,
                              args.spot_max_replicas)
    with out.deploy_events() as events:
        if args.update and args.dry_run is None:
            return out.show(deploy.update(state_store(), request, settings, events,
                                          None if args.no_wait else args.timeout,
                                          replace_model=args.yes,
                                          skip_model_check=args.skip_model_check))
        if args.dry_run is not None:
            return out.show(deploy.dry_run(request, settings, args.dry_run or None, args.force,
                                           events, skip_model_check=args.skip_model_check))
        return out.show(deploy.deploy(state_store(), request, settings, events,
                                      None if args.no_wait else args.timeout,
                                      skip_model_check=args.skip_model_check))


def _router_arguments(p) -> None:
    p.add_argument("action", choices=["serve"], help="serve: run the router here")
    service_flag(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=whole_number, default=8080, help="port to listen on")


@command("router", "run a hybrid service's router on this machine (`--router local`)",
         "tuna router serve qwen3-0-6b --port 8080", _router_arguments, STATE)
def run_router(args, out) -> int:
    from tuna.hybrid import local_router

    try:
        local_router.serve(state_store(), args.service_name, args.host, args.port, out.note)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how it ends
    return 0

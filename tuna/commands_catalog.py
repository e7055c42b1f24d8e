"""`tuna show-gpus` and `tuna check`: the catalog, and checks before deploying."""

from __future__ import annotations

from tuna.cli_parser import Environment, default, json_flag, lower
from tuna.commands import number_flag, vllm_version_flag, command
from tuna.errors import UsageError


def _show_gpus_arguments(p) -> None:
    p.add_argument("--gpu", help="one GPU: its offers, cheapest first")
    p.add_argument("--provider", type=lower, help="only this provider's offers")
    p.add_argument("--spot", action="store_true",
                   help="spot prices from SkyPilot's catalog for --gpu (the [hybrid] extra; "
                   "reads the network only to fetch a catalog not yet on this machine)")
    p.add_argument("--spots-cloud", default="aws", metavar="CLOUDS",
                   help="with --spot: the clouds, comma-separated")
    json_flag(p)


@command("show-gpus", "compare GPU prices across providers (no network)",
         "tuna show-gpus --gpu L4", _show_gpus_arguments)
def run_show_gpus(args, out) -> int:
    from tuna import prices

    if args.spot:
        spot = prices.spot_price_list(args.gpu, tuple(filter(None, args.spots_cloud.split(","))))
        out.show(spot)
        return 0 if any(spot.offers.values()) else 1
    return out.show(prices.price_list(args.gpu, args.provider))


def _check_arguments(p) -> None:
    from tuna.models import DeployRequest

    p.add_argument("--provider", type=lower,
                   help="check this provider's account (key, tools); with --model, the provider "
                   "to check the model for (default: the cheapest installed one)")
    p.add_argument("--model", help="check this Hugging Face model on --gpu, as deploy does")
    p.add_argument("--gpu", help="with --model: the GPU, e.g. L4")
    number_flag(p, "--tp-size", DeployRequest, "with --model: GPUs per replica")
    number_flag(p, "--max-model-len", DeployRequest, "with --model: context length in tokens")
    p.add_argument("--quantization", metavar="METHOD", help="with --model: vLLM method")
    vllm_version_flag(p, "with --model: ")
    p.add_argument("--revision", default=default(DeployRequest, "revision"),
                   help="with --model: branch, tag or commit")
    json_flag(p)


@command("check", "check a provider account, or a model on a GPU, before deploying",
         "tuna check --model Qwen/Qwen3-0.6B --gpu L4", _check_arguments,
         Environment(("HF_ENDPOINT", "HF_TOKEN", "TUNA_DEBUG"), providers=True))
def run_check(args, out) -> int:
    from tuna import lifecycle
    from tuna.models import DeployRequest

    if args.model:
        if not args.gpu:
            raise UsageError("tuna check: --model needs --gpu (see `tuna check --help`)")
        report = lifecycle.check_model(DeployRequest(
            args.model, args.gpu, tp_size=args.tp_size, max_model_len=args.max_model_len,
            quantization=args.quantization, revision=args.revision,
            vllm_version=args.vllm_version), args.provider)
    elif args.provider:
        report = lifecycle.check(args.provider)
    else:
        raise UsageError("tuna check: pass --provider P, or --model M --gpu G "
                         "(see `tuna check --help`)")
    out.show(report)
    return 0 if report.ok else 1

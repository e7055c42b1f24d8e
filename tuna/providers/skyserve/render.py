"""Renders the SkyServe service YAML of a hybrid service's spot fleet and of its router, from
templates/skyserve/. Every value enters as JSON, which YAML reads as is, so none can become
structure; secret values never enter at all (they go to `sky serve up` from the environment)."""

from __future__ import annotations

import json
import math
import os
import shlex
from dataclasses import dataclass
from string import Template

from tuna import template_files, vllm
from tuna.errors import InvalidValue
from tuna.models import DeployRequest

SPOT_TEMPLATE, SPOT_FILE = "skyserve/spot.yaml.tpl", "spot.yaml"
ROUTER_TEMPLATE, ROUTER_FILE = "skyserve/router.yaml.tpl", "router.yaml"
PORT = 8000
ROUTER_PORT = 8080
# Clouds SkyPilot provisions spot GPUs on (`sky check` names); the user installs their extras.
SPOT_CLOUDS = ("aws", "gcp", "azure", "oci", "lambda", "runpod", "kubernetes", "nebius")
# A spot VM pulls the image and the weights before vLLM answers /health (upstream budgets 1200 s).
READY_DELAY_S = 1200
SPOT_KEY = "VLLM_API_KEY"  # vLLM's key on the spot replicas: the router sends it
ROUTER_SECRETS = ("TUNA_ROUTER_KEY", "TUNA_ROUTER_SPOT_KEY", "TUNA_ROUTER_SERVERLESS_HEADERS")
_REGION = r"[a-z0-9][a-z0-9-]{0,62}"


@dataclass(frozen=True)
class SpotFleet:
    """Where and how the spot leg runs (the hybrid flags)."""

    clouds: tuple[str, ...] = ("aws",)
    regions: tuple[str, ...] = ()
    target_qps: float = 2.5  # per replica: SkyServe sizes the fleet as ceil(qps / this)
    fallback: str = "none"  # none | dynamic | base:N (on-demand replicas when spot is short)

    def __post_init__(self):
        import re

        unknown = [cloud for cloud in self.clouds if cloud not in SPOT_CLOUDS]
        if not self.clouds or unknown:
            raise InvalidValue("spots_cloud", f"expected some of {', '.join(SPOT_CLOUDS)}, "
                               f"got {','.join(self.clouds)!r}")
        for region in self.regions:
            cloud, _, name = region.rpartition("/")
            if not re.fullmatch(_REGION, name) or (cloud and cloud not in self.clouds):
                raise InvalidValue("region", f"expected region names like us-east-1 or "
                                   f"aws/us-east-1 (a cloud of --spots-cloud), got {region!r}")
            if not cloud and len(self.clouds) > 1:
                raise InvalidValue("region", f"{region!r} names no cloud and several are given: "
                                   f"write it as CLOUD/{region}")
        if not (isinstance(self.target_qps, (int, float)) and 0 < self.target_qps <= 1000
                and math.isfinite(self.target_qps)):
            raise InvalidValue("spot_target_qps", f"must be a number above 0 and at most 1000, "
                               f"got {self.target_qps!r}")
        self.fallback_fields()  # refuses a malformed value now, not at render

    def fallback_fields(self) -> tuple[int, bool]:
        """(base_ondemand_fallback_replicas, dynamic_ondemand_fallback)."""
        if self.fallback == "none":
            return 0, False
        if self.fallback == "dynamic":
            return 0, True
        kind, _, count = self.fallback.partition(":")
        if kind == "base" and count.isdigit() and 1 <= int(count) <= 1000:
            return int(count), False
        raise InvalidValue("spot_fallback", f"expected none, dynamic or base:N, got {self.fallback!r}")

    def locations(self, accelerator: str) -> list[dict[str, str]]:
        """SkyServe's `any_of`: each region given, and anywhere in each cloud none was given for."""
        places = [region if "/" in region else f"{self.clouds[0]}/{region}"
                  for region in self.regions]
        places += [cloud for cloud in self.clouds
                   if not any(place.startswith(f"{cloud}/") for place in places)]
        return [{"infra": place, "accelerators": accelerator} for place in places]


def accelerator(gpu_id: str, count: int) -> str:
    return f"{gpu_id}:{count}"


def image(request: DeployRequest) -> str:
    return request.image or vllm.openai_image(request.vllm_version or vllm.default_version(),
                                              "skyserve")


def disk_gb(request: DeployRequest) -> int:
    """Image (~20 GB) plus the weights with room: as RunPod's disk is sized."""
    if request.weights_gb is None:
        return 150
    return max(100, math.ceil(1.2 * request.weights_gb + 40))


def serve_command(request: DeployRequest) -> str:
    from tuna.vllm.argv import serve_argv

    argv = serve_argv(request, request.model, PORT, request.vllm_version or vllm.default_version())
    argv += ["--revision", request.revision]
    # The key stays in the VM's environment: the shell expands it, the file only names it.
    return shlex.join(argv) + f' --api-key "${SPOT_KEY}"\n'


def _fill(template: str, values: dict) -> str:
    return Template(template_files.read(template)).substitute(
        {key: json.dumps(value) for key, value in values.items()})


def render_spot(request: DeployRequest, gpu_id: str, fleet: SpotFleet) -> str:
    base, dynamic = fleet.fallback_fields()
    scaling = request.scaling
    secrets = {SPOT_KEY: None, **({"HF_TOKEN": None} if request.hf_secret else {})}
    return _fill(SPOT_TEMPLATE, {
        "name": request.service_name, "ready_delay": READY_DELAY_S,
        "min_replicas": scaling.min_replicas, "max_replicas": scaling.max_replicas,
        "target_qps": fleet.target_qps, "downscale_delay": max(scaling.scale_down_delay, 60),
        "base_fallback": base, "dynamic_fallback": dynamic, "port": PORT,
        "locations": fleet.locations(accelerator(gpu_id, request.tp_size)),
        "image": f"docker:{image(request)}", "disk_gb": disk_gb(request), "secrets": secrets,
        "envs": {"HF_XET_HIGH_PERFORMANCE": "1"}, "run": serve_command(request),
    })


@dataclass(frozen=True)
class RouterSetup:
    """What the router is told when it starts: where the legs are and how hard to push spot."""

    service_name: str
    spot_url: str
    serverless_url: str
    spot_cap: int  # requests in flight on spot at most: max replicas x concurrency
    idle_s: int  # how long after the last client request it keeps reporting demand

    def envs(self) -> dict[str, str]:
        return {"TUNA_ROUTER_SPOT_URL": self.spot_url,
                "TUNA_ROUTER_SERVERLESS_URL": self.serverless_url,
                "TUNA_ROUTER_SPOT_CAP": str(self.spot_cap), "TUNA_ROUTER_IDLE_S": str(self.idle_s),
                "TUNA_ROUTER_PORT": str(ROUTER_PORT)}


def render_router(setup: RouterSetup, infra: str, aiohttp_version: str) -> str:
    package = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return _fill(ROUTER_TEMPLATE, {
        "name": setup.service_name, "port": ROUTER_PORT, "infra": infra,
        "file_mounts": {"~/tuna-router/tuna": package},
        "setup": f"pip install --quiet aiohttp=={aiohttp_version}",
        "secrets": dict.fromkeys(ROUTER_SECRETS), "envs": setup.envs(),
        "run": "cd ~/tuna-router && python -m tuna.router\n",
    })

"""Renders the Cloud Run Service (v2 API, proto3 JSON) for a deploy request from
templates/cloudrun/service.json.tpl. Every value enters as JSON, so none can become structure."""

from __future__ import annotations

import json
from string import Template

from tuna import template_files, vllm
from tuna.models import DeployRequest

TEMPLATE = "cloudrun/service.json.tpl"
SERVICE_FILE = "service.json"
PORT = 8000
MANAGED_BY = "tuna"
# The instance each GPU needs at least (cloud.google.com/run/docs/configuring/services/gpu); the
# L4's doubled, since vLLM loads weights through host memory.
INSTANCE = {"nvidia-l4": ("8", "32Gi"), "nvidia-rtx-pro-6000": ("20", "80Gi")}
# The startup probe allows 240 s + 24 x 10 s: Cloud Run's ceiling for a service's start.
STARTUP_WINDOW_S = 240 + 24 * 10


def labels(service_name: str) -> dict[str, str]:
    """On the service, so tuna can recognise what it made (`list --remote`)."""
    return {"managed-by": MANAGED_BY, "tuna-service": service_name}


def image(request: DeployRequest) -> str:
    return request.image or vllm.openai_image(request.vllm_version or vllm.default_version(),
                                              "cloudrun")


def vllm_args(request: DeployRequest) -> list[str]:
    """The image's entrypoint is `vllm serve`: only its arguments, with the weights pinned to
    the commit checked (vLLM downloads them at each cold start)."""
    from tuna.vllm.argv import serve_argv

    argv = serve_argv(request, request.model, PORT, request.vllm_version or vllm.default_version())
    return argv[2:] + ["--revision", request.revision]


def render_service(request: DeployRequest, accelerator: str, public: bool,
                   zonal_redundancy: bool) -> str:
    cpu, memory = INSTANCE[accelerator]
    scaling = request.scaling
    env = ([{"name": "HF_TOKEN", "valueSource": {"secretKeyRef": {
        "secret": request.hf_secret, "version": "latest"}}}] if request.hf_secret else [])
    values = {
        "labels": labels(request.service_name), "public": public,
        "min_instances": scaling.min_replicas, "max_instances": scaling.max_replicas,
        "concurrency": scaling.concurrency, "accelerator": accelerator,
        "no_zonal_redundancy": not zonal_redundancy, "image": image(request),
        "args": vllm_args(request), "port": PORT, "env": env, "cpu": cpu, "memory": memory,
    }
    text = Template(template_files.read(TEMPLATE)).substitute(
        {key: json.dumps(value) for key, value in values.items()})
    return json.dumps(json.loads(text), indent=2) + "\n"

"""Renders the Truss directory for a deploy request from templates/baseten/config.yaml.tpl."""

from __future__ import annotations

import json
import shlex
from string import Template

from tuna import template_files, vllm
from tuna.errors import TunaError
from tuna.models import DeployRequest

TEMPLATE = "baseten/config.yaml.tpl"
SERVER_PORT = 8000  # Baseten's proxy owns 8080
DEFAULT_HF_SECRET = "hf_access_token"


def mount_location(request: DeployRequest) -> str:
    return "/models/" + request.model.split("/", 1)[1]


def accelerator(gpu_id: str, gpu_count: int) -> str:
    return gpu_id if gpu_count == 1 else f"{gpu_id}:{gpu_count}"


def vllm_argv(request: DeployRequest) -> list[str]:
    from tuna.vllm.argv import serve_argv

    return serve_argv(request, mount_location(request), SERVER_PORT,
                      request.vllm_version or vllm.default_version())


def image(request: DeployRequest) -> str:
    return request.image or vllm.openai_image(request.vllm_version or vllm.default_version(),
                                              "baseten")


def render_config(request: DeployRequest, gpu_id: str) -> str:
    """The Truss config.yaml. Values go in as JSON scalars, which YAML reads as quoted strings."""
    values = {
        "service_name": request.service_name,
        "description": f"{request.model} served by vLLM, deployed with tuna",
        "served_model_name": request.model,
        "image": image(request),
        # Baseten runs start_command with `sh -c`: shlex keeps each value one argument.
        "start_command": shlex.join(vllm_argv(request)),
        "server_port": SERVER_PORT,
        "accelerator": accelerator(gpu_id, request.gpu_count),
        # Ignored by custom servers, but Baseten advises concurrency_target <= predict_concurrency:
        # kept equal so the autoscaling target never contradicts it.
        "predict_concurrency": request.scaling.concurrency,
        "weights_source": f"hf://{request.model}@{request.revision}",
        "mount_location": mount_location(request),
        "auth_secret_name": request.hf_secret,
        "secrets": {request.hf_secret: None} if request.hf_secret else {},
    }
    import yaml  # only a render needs it: loading the plugin stays light

    template = template_files.read(TEMPLATE)
    text = Template(template).substitute({key: json.dumps(value) for key, value in values.items()})
    _check_same_keys(yaml.safe_load(template), yaml.safe_load(text))
    return text


def _check_same_keys(template: dict, rendered: dict, where: str = "") -> None:
    """Defence in depth: whatever a value holds, the rendered config has exactly the template's
    keys (a placeholder parses as one string in the template, so it is not descended into)."""
    if set(template) != set(rendered):
        raise TunaError(f"rendered config.yaml{where} has keys {sorted(rendered)}, "
                        f"the template {sorted(template)}")
    for key, value in template.items():
        if isinstance(value, dict) and isinstance(rendered[key], dict):
            _check_same_keys(value, rendered[key], f"{where}.{key}")

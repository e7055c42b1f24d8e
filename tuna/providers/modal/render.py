"""Renders the Modal app file for a deploy request from templates/modal/app.py.tpl. Every value
enters the file as a Python literal (repr), so no request value can become code."""

from __future__ import annotations

from string import Template

from tuna import template_files, vllm
from tuna.models import DeployRequest

TEMPLATE = "modal/app.py.tpl"
APP_FILE = "app.py"
FUNCTION = "serve"
PORT = 8000
HF_DIR = "/root/.cache/huggingface"
VLLM_DIR = "/root/.cache/vllm"
MANAGED_BY = "tuna"
# Weights download and load inside Modal's startup window; past it the container is restarted.
STARTUP_TIMEOUT_S = 1800
REQUEST_TIMEOUT_S = 3600  # one request: long generations stream for minutes


def app_name(request: DeployRequest) -> str:
    return request.service_name


def tags(service_name: str) -> dict[str, str]:
    """On the app, so tuna can recognise what it made (`list --remote`)."""
    return {"managed-by": MANAGED_BY, "tuna-service": service_name}


def gpu(gpu_id: str, count: int) -> str:
    return gpu_id if count == 1 else f"{gpu_id}:{count}"


def image(request: DeployRequest) -> str:
    return request.image or vllm.openai_image(request.vllm_version or vllm.default_version(),
                                              "modal")


def vllm_argv(request: DeployRequest) -> list[str]:
    from tuna.vllm.argv import serve_argv

    # vLLM downloads the weights into the Hub cache volume: pinned to the commit checked.
    return serve_argv(request, request.model, PORT,
                      request.vllm_version or vllm.default_version()) + [
        "--revision", request.revision]


def render_app(request: DeployRequest, gpu_id: str, public: bool) -> str:
    scaling = request.scaling
    secrets = f"[modal.Secret.from_name({request.hf_secret!r})]" if request.hf_secret else "[]"
    values = {
        "model": request.model,  # in the docstring: a model id has no quotes or backslashes
        "service_name": request.service_name,
        "app_name": repr(app_name(request)),
        "tags": repr(tags(request.service_name)),
        "image": repr(image(request)),
        "env": repr({"HF_HUB_CACHE": f"{HF_DIR}/hub", "HF_XET_HIGH_PERFORMANCE": "1",
                     "VLLM_CACHE_ROOT": VLLM_DIR}),
        "hf_volume": repr(f"{request.service_name}-hf-cache"),
        "vllm_volume": repr(f"{request.service_name}-vllm-cache"),
        "gpu": repr(gpu(gpu_id, request.gpu_count)),
        "hf_dir": repr(HF_DIR),
        "vllm_dir": repr(VLLM_DIR),
        "secrets": secrets,
        "min_containers": repr(scaling.min_replicas),
        "max_containers": repr(scaling.max_replicas),
        "scaledown_window": repr(scaling.scale_down_delay),
        "timeout": repr(REQUEST_TIMEOUT_S),
        "concurrency": repr(scaling.concurrency),
        "port": repr(PORT),
        "startup_timeout": repr(STARTUP_TIMEOUT_S),
        "proxy_auth": repr(not public),
        "argv": repr(vllm_argv(request)),
    }
    return Template(template_files.read(TEMPLATE)).substitute(values)

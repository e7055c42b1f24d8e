"""The RunPod template and endpoint tuna creates for a request.

The image is RunPod's vLLM worker, pinned: v2.25.2 is built on vllm/vllm-openai:v0.27.1 (its
Dockerfile's VLLM_VERSION), so it serves vLLM 0.15.1 or newer as Baseten's image does, and maps
environment variables to the same `vllm serve` flags. RunPod's REST API cannot create a
load-balancing endpoint, which a plain vllm/vllm-openai image would need.
"""

from __future__ import annotations

import secrets

from tuna import vllm
from tuna.models import ColdStartMode, DeployRequest

WORKER_IMAGE = "runpod/worker-v1-vllm:v2.25.2"
NAME_PREFIX = "tuna-"  # RunPod has no labels: tuna's resources are known by their names


def endpoint_name(service_name: str) -> str:
    return NAME_PREFIX + service_name


def template_body(request: DeployRequest) -> dict:
    env = {
        "MODEL_NAME": request.model,
        "MODEL_REVISION": request.revision,
        "OPENAI_SERVED_MODEL_NAME_OVERRIDE": request.model,
        "MAX_MODEL_LEN": str(request.max_model_len),
        "TENSOR_PARALLEL_SIZE": str(request.tp_size),
        "MAX_NUM_SEQS": str(request.scaling.concurrency),
        "GPU_MEMORY_UTILIZATION": str(vllm.gpu_memory_utilization()),
        "ENFORCE_EAGER": "true" if request.cold_start_mode is ColdStartMode.FAST_BOOT else "false",
    }
    if request.quantization:
        env["QUANTIZATION"] = request.quantization
    if request.hf_secret:
        # A reference RunPod resolves in the worker; the token itself never leaves RunPod.
        env["HF_TOKEN"] = "{{ RUNPOD_SECRET_%s }}" % request.hf_secret
    return {
        # Template names must be unique in the account; endpoint names need not be.
        "name": f"{endpoint_name(request.service_name)}-{secrets.token_hex(3)}",
        "imageName": request.image or WORKER_IMAGE,
        "isServerless": True,
        "containerDiskInGb": 50,
        "env": env,
    }


def endpoint_body(request: DeployRequest, gpu_type_id: str, template_id: str) -> dict:
    scaling = request.scaling
    return {
        "name": endpoint_name(request.service_name),
        "templateId": template_id,
        "computeType": "GPU",
        "gpuTypeIds": [gpu_type_id],
        "gpuCount": request.tp_size,
        "workersMin": scaling.min_replicas,
        "workersMax": scaling.max_replicas,
        "idleTimeout": scaling.scale_down_delay,
        "flashboot": request.cold_start_mode is ColdStartMode.FAST_BOOT,
        # A new worker once a worker has this many requests waiting, like Baseten's target.
        "scalerType": "REQUEST_COUNT",
        "scalerValue": scaling.concurrency,
    }

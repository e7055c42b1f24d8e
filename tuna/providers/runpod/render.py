"""The serverless endpoint tuna creates for a request, as RunPod's REST API v2 takes it: one
body with the container inline, so no template exists to outlive the endpoint.

The image is RunPod's vLLM worker, pinned in data/runpod.toml; it maps environment variables to
the same `vllm serve` flags the other providers render. The REST API's QUEUE endpoint is the
worker's mode (a load-balancing endpoint would need a plain vLLM image and RunPod's own proxy).
"""

from __future__ import annotations

import math
import os
from functools import cache

from tuna import vllm
from tuna.errors import TunaError
from tuna.models import ColdStartMode, DeployRequest

NAME_PREFIX = "tuna-"  # RunPod has no labels: tuna's resources are known by their names
# How long one job may run on a worker once it has started (ms). RunPod's spec default is 300 s
# but an omitted value comes back 0, so tuna always sends one: the console's default.
JOB_TIMEOUT_MS = 600_000
# A new worker starts once requests wait this long in the queue (seconds).
QUEUE_DELAY_S = 4
# Container disk: the weights are downloaded onto it (without a network volume), plus headroom
# for the Hub's temporary files and vLLM's compile cache.
DISK_HEADROOM = 1.2
DISK_EXTRA_GB = 30
MIN_DISK_GB = 50
# Time to download and load the weights: 10 minutes for the image and vLLM's start, plus a
# conservative 15 s per GB (about 70 MB/s from the Hub), never under the worker's own default.
STARTUP_FLOOR_S = 1200
STARTUP_BASE_S = 600
STARTUP_S_PER_GB = 15
UNKNOWN_WEIGHTS_STARTUP_S = 3600


@cache
def facts() -> dict:
    import tomllib  # only deploy paths read it

    path = os.path.join(os.path.dirname(__file__), "..", "..", "data", "runpod.toml")
    with open(path, "rb") as data:
        return tomllib.load(data)


def worker_image() -> str:
    return facts()["worker"]["image"]


def endpoint_name(service_name: str) -> str:
    return NAME_PREFIX + service_name


def gpu_selection(gpu_type_id: str, count: int, custom_image: bool = False) -> dict:
    """The one pool holding the GPU type, minus every other type in it; on hosts whose driver
    runs the worker image's CUDA (a custom image's needs are its author's to know)."""
    pools = facts()["pools"]
    pool = next((name for name, types in pools.items() if gpu_type_id in types), None)
    if pool is None:
        raise TunaError(f"no RunPod serverless pool holds {gpu_type_id!r} (data/runpod.toml)")
    selection = {"pools": [pool], "excludedTypes": [t for t in pools[pool] if t != gpu_type_id],
                 "count": count}
    if not custom_image:
        selection["allowedCudaVersions"] = list(facts()["worker"]["allowed_cuda_versions"])
    return selection


def disk_gb(request: DeployRequest, network_volume: str | None) -> int:
    if network_volume:
        return MIN_DISK_GB  # the weights live on the volume
    if request.weights_gb is None:
        return int(facts()["worker"]["manifest_disk_gb"])  # what RunPod's own manifest asks
    return max(MIN_DISK_GB, math.ceil(request.weights_gb * DISK_HEADROOM + DISK_EXTRA_GB))


def startup_timeout_s(request: DeployRequest) -> int:
    if request.weights_gb is None:
        return UNKNOWN_WEIGHTS_STARTUP_S
    return max(STARTUP_FLOOR_S,
               math.ceil(STARTUP_BASE_S + request.weights_gb * STARTUP_S_PER_GB))


def _env(request: DeployRequest) -> dict[str, str]:
    startup = startup_timeout_s(request)
    env = {
        "MODEL_NAME": request.model,
        "MODEL_REVISION": request.revision,
        "OPENAI_SERVED_MODEL_NAME_OVERRIDE": request.model,
        "MAX_MODEL_LEN": str(request.max_model_len),
        "TENSOR_PARALLEL_SIZE": str(request.tp_size),
        "MAX_NUM_SEQS": str(request.scaling.concurrency),
        # The worker takes 30 jobs at once unless told: it would cap --concurrency silently.
        "MAX_CONCURRENCY": str(request.scaling.concurrency),
        "GPU_MEMORY_UTILIZATION": str(vllm.gpu_memory_utilization()),
        "ENFORCE_EAGER": "true" if request.cold_start_mode is ColdStartMode.FAST_BOOT else "false",
        # The worker waits this long for vLLM's /health; RunPod marks a worker unhealthy after
        # its init timeout (7 minutes unless set), so the latter must cover the former.
        "VLLM_STARTUP_TIMEOUT": str(startup),
        "RUNPOD_INIT_TIMEOUT": str(startup + 120),
    }
    if request.quantization:
        env["QUANTIZATION"] = vllm.quantization_name(
            request.quantization, request.vllm_version or vllm.default_version(),
            online=request.checkpoint_quantization is None)
    if request.hf_secret:
        # A reference RunPod resolves in the worker; the token itself never leaves RunPod.
        env["HF_TOKEN"] = "{{ RUNPOD_SECRET_%s }}" % request.hf_secret
    return env


def endpoint_body(request: DeployRequest, gpu_type_id: str,
                  network_volume: str | None = None) -> dict:
    """The body of POST /v2/serverless, and of the PATCH that updates the endpoint to it. The
    worker keeps its Hugging Face cache under /runpod-volume, where a network volume mounts."""
    scaling = request.scaling
    body = {
        "name": endpoint_name(request.service_name),
        "type": "QUEUE",
        "image": request.image or worker_image(),
        "disk": disk_gb(request, network_volume),
        "env": _env(request),
        "gpu": gpu_selection(gpu_type_id, request.gpu_count, custom_image=bool(request.image)),
        # idleTimeout (--scale-down-delay) applies only with the queue-delay scaler; each worker
        # takes --concurrency jobs at once (MAX_CONCURRENCY) before requests queue.
        "workers": {"min": scaling.min_replicas, "max": scaling.max_replicas,
                    "idleTimeout": scaling.scale_down_delay},
        "scaling": {"type": "QUEUE_DELAY", "queueDelay": QUEUE_DELAY_S},
        "timeout": JOB_TIMEOUT_MS,
        "flashboot": "FLASHBOOT" if request.cold_start_mode is ColdStartMode.FAST_BOOT else "OFF",
    }
    if network_volume:
        body["networkVolumes"] = [network_volume]
    return body

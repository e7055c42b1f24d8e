"""Facts about the vLLM releases tuna serves with: versions, images, what each loads and accepts."""

from tuna.vllm.images import openai_image
from tuna.vllm.releases import (default_version, gpu_memory_utilization, min_compute_capability,
                                quantization_methods, quantization_name, release,
                                tracked_versions)

__all__ = ["default_version", "gpu_memory_utilization", "min_compute_capability", "openai_image",
           "quantization_methods", "quantization_name", "release", "tracked_versions"]

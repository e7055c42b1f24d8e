"""${model} served by vLLM on Modal, as tuna deploys it (service ${service_name}).

Rendered by tuna; `modal deploy` can deploy this file by hand too.
"""

import subprocess

import modal

app = modal.App(${app_name}, tags=${tags})

image = (
    # vllm/vllm-openai's ENTRYPOINT is vLLM's server: Modal starts its own, so clear it.
    modal.Image.from_registry(${image})
    .entrypoint([])
    # Modal needs `python` on $$PATH; the image has python3 only.
    .run_commands('ln -sf "$$(command -v python3)" /usr/local/bin/python')
    .env(${env})
)

# Weights and vLLM's compile cache survive the container, so a cold start downloads them once.
hf_cache = modal.Volume.from_name(${hf_volume}, create_if_missing=True)
vllm_cache = modal.Volume.from_name(${vllm_volume}, create_if_missing=True)


@app.function(
    image=image,
    gpu=${gpu},
    volumes={${hf_dir}: hf_cache, ${vllm_dir}: vllm_cache},
    secrets=${secrets},
    min_containers=${min_containers},
    max_containers=${max_containers},
    scaledown_window=${scaledown_window},
    timeout=${timeout},
)
@modal.concurrent(max_inputs=${concurrency})
@modal.web_server(${port}, startup_timeout=${startup_timeout}, requires_proxy_auth=${proxy_auth})
def serve():
    subprocess.Popen(${argv})

# Truss config rendered by tuna for service ${service_name}.
# Every placeholder is filled with a quoted YAML scalar, so no input can add keys.
model_name: ${service_name}
description: ${description}
model_metadata:
  example_model_input:
    model: ${served_model_name}
    messages:
      - role: user
        content: Hello
    max_tokens: 128
base_image:
  image: ${image}
docker_server:
  start_command: ${start_command}
  server_port: ${server_port}
  predict_endpoint: /v1/chat/completions
  readiness_endpoint: /health
  liveness_endpoint: /health
resources:
  accelerator: ${accelerator}
runtime:
  predict_concurrency: ${predict_concurrency}
  health_checks:
    # Large weights take a while to load into GPU memory; Baseten allows up to 3000 s.
    startup_threshold_seconds: 3000
# Baseten's weight cache: mirrored once, mounted read-only at start, so cold starts stay fast.
weights:
  - source: ${weights_source}
    mount_location: ${mount_location}
    auth_secret_name: ${auth_secret_name}
    # Exclude duplicate formats rather than allow-listing, which would drop tokenizer files.
    ignore_patterns: ["*.bin", "*.pt", "*.pth", "*.onnx", "*.msgpack", "*.h5", "original/*"]
secrets: ${secrets}

# The spot fleet of a tuna hybrid service, as a SkyServe service (docs.skypilot.co, service YAML).
# Every value is JSON (which YAML reads as is), so no request value can become structure.
name: ${name}
service:
  # A replica is ready once vLLM answers /health; the delay covers pulling the image and weights.
  readiness_probe: {path: /health, initial_delay_seconds: ${ready_delay}, timeout_seconds: 15}
  replica_policy:
    min_replicas: ${min_replicas}
    max_replicas: ${max_replicas}
    target_qps_per_replica: ${target_qps}
    upscale_delay_seconds: 60
    downscale_delay_seconds: ${downscale_delay}
    base_ondemand_fallback_replicas: ${base_fallback}
    dynamic_ondemand_fallback: ${dynamic_fallback}
  load_balancing_policy: least_load
  # Long generations stream for minutes; SkyServe's default would cut them at 120 s.
  load_balancer: {stream_timeout_seconds: 3600}
  ports: ${port}
resources:
  use_spot: true
  any_of: ${locations}
  image_id: ${image}
  disk_size: ${disk_gb}
# Values come from the deploying machine at `sky serve up` (task.update_secrets), never this file.
secrets: ${secrets}
envs: ${envs}
run: ${run}

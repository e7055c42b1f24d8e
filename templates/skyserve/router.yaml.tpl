# The router of a tuna hybrid service, as a one-replica SkyServe service on a small on-demand CPU
# VM: SkyServe restarts it when its probe fails and gives it a stable endpoint.
# Every value is JSON (which YAML reads as is), so no request value can become structure.
name: ${name}
service:
  readiness_probe: {path: /router/health, initial_delay_seconds: 300, timeout_seconds: 15}
  replicas: 1
  load_balancer: {stream_timeout_seconds: 3600}
  ports: ${port}
resources:
  cpus: 2+
  memory: 4+
  use_spot: false
  infra: ${infra}
# The router's own code (tuna's package, under 1 MB), uploaded from this machine: nothing is
# installed from a package index but aiohttp.
file_mounts: ${file_mounts}
setup: ${setup}
secrets: ${secrets}
envs: ${envs}
run: ${run}

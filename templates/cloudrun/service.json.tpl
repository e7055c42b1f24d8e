{
  "labels": ${labels},
  "ingress": "INGRESS_TRAFFIC_ALL",
  "invokerIamDisabled": ${public},
  "scaling": {"minInstanceCount": ${min_instances}, "maxInstanceCount": ${max_instances}},
  "template": {
    "labels": ${labels},
    "timeout": "3600s",
    "maxInstanceRequestConcurrency": ${concurrency},
    "nodeSelector": {"accelerator": ${accelerator}},
    "gpuZonalRedundancyDisabled": ${no_zonal_redundancy},
    "containers": [{
      "image": ${image},
      "args": ${args},
      "ports": [{"name": "http1", "containerPort": ${port}}],
      "env": ${env},
      "resources": {
        "limits": {"nvidia.com/gpu": "1", "cpu": ${cpu}, "memory": ${memory}},
        "startupCpuBoost": true
      },
      "startupProbe": {
        "httpGet": {"path": "/health", "port": ${port}},
        "initialDelaySeconds": 240, "periodSeconds": 10, "timeoutSeconds": 5,
        "failureThreshold": 24
      }
    }]
  }
}

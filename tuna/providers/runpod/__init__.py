"""RunPod serverless: RunPod's vLLM worker behind an endpoint made from a template, through
RunPod's REST API (https://rest.runpod.io/v1); readiness from the endpoint's /health.

`provider.RunpodProvider` is the plugin; `api` the REST client, `render` the template and
endpoint it creates, `remote` what the endpoint's health and listing say.
"""

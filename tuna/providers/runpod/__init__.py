"""RunPod serverless: RunPod's vLLM worker behind a queue endpoint created through RunPod's REST
API v2 (https://api.runpod.io/v2); readiness from the endpoint's worker list.

`provider.RunpodProvider` is the plugin; `api` the REST client, `render` the endpoint it
creates, `remote` what the endpoint and its workers say, `endpoint` a record's endpoint.
"""

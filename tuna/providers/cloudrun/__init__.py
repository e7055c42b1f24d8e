"""The Cloud Run plugin: vLLM as a Cloud Run GPU service, through Google's `google-cloud-run`."""

"""The Modal plugin: vLLM as a Modal web server, deployed through the `modal` SDK."""

"""tuna: deploy open LLMs served by vLLM onto serverless GPU providers."""

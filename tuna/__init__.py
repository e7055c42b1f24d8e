"""tuna: deploy open LLMs served by vLLM onto serverless GPU providers."""

__version__ = "0.2.0"

"""Where a deployed model answers: Baseten's OpenAI-compatible URL, and a request to try it."""

from __future__ import annotations

from urllib.parse import urlsplit

from tuna.provider import chat_example

OPENAI_PATH = "/environments/production/sync/v1"


def endpoint_url(model_id: str, predict_url: str | None = None) -> str:
    """Baseten's documented OpenAI-compatible base URL for the production environment, on the
    model's real host: the one in truss's predict_url when there is one (a workspace may have
    its own hostname), else the default."""
    if predict_url:
        parts = urlsplit(predict_url if "://" in predict_url else "https://" + predict_url)
        if parts.hostname:
            return f"{parts.scheme}://{parts.netloc}{OPENAI_PATH}"
    return f"https://model-{model_id}.api.baseten.co{OPENAI_PATH}"


def curl_example(base_url: str, served_model_name: str) -> str:
    return chat_example(base_url, served_model_name, "Authorization: Api-Key $BASETEN_API_KEY")

"""Where a deployed model answers: Baseten's OpenAI-compatible URL, and a request to try it."""

from __future__ import annotations


def endpoint_url(model_id: str) -> str:
    """Baseten's documented OpenAI-compatible base URL for the production environment."""
    return f"https://model-{model_id}.api.baseten.co/environments/production/sync/v1"


def curl_example(base_url: str, served_model_name: str) -> str:
    return (
        f"curl {base_url}/chat/completions \\\n"
        '  -H "Authorization: Api-Key $BASETEN_API_KEY" -H "Content-Type: application/json" \\\n'
        f'  -d \'{{"model": "{served_model_name}", '
        '"messages": [{"role": "user", "content": "Hello"}]}\''
    )

"""`tuna benchmark`: cold starts and load, measured through a service's OpenAI-compatible
endpoint beside what its provider reports."""

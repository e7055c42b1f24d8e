"""'Did you mean' for names users type: commands, providers, GPUs."""

from __future__ import annotations

import difflib


def close_matches(typed: str, known: list[str]) -> list[str]:
    # One wrong character of a short name (L5 for L4) is half of it.
    return difflib.get_close_matches(typed, known, n=3, cutoff=0.5 if len(typed) <= 3 else 0.6)


def did_you_mean(typed: str, known: list[str]) -> str:
    """' (did you mean X?)' when something known is close to what was typed, else ''."""
    close = close_matches(typed, known)
    return f" (did you mean {' or '.join(close)}?)" if close else ""

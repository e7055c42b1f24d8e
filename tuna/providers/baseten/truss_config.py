"""Validates a rendered Truss directory with the installed truss, exactly as `truss push` does."""

from __future__ import annotations

from pathlib import Path

from tuna.errors import TunaError


def validate(config_path: Path) -> None:
    # Imported here: truss costs over a second to import and only deploys need it.
    from truss.base.truss_config import TrussConfig

    try:
        TrussConfig.from_yaml(config_path).validate_forbid_extra()
    except Exception as exc:  # truss raises pydantic, ValueError and its own errors alike
        detail = " ".join(str(exc).split())
        raise TunaError(f"truss rejected the rendered {config_path.name}: {detail}") from None

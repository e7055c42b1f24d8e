"""Validates a rendered Truss directory with the installed truss, exactly as `truss push` does.

It runs in a process of its own: importing truss costs over a second and ~65 MB that the tuna
process, which may then wait half an hour for a deployment, has no reason to keep.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tuna.errors import TunaError

VALIDATE_TIMEOUT_S = 120


def validate(config_path: Path) -> str:
    """Validate, and return what validated it ("truss 0.18.36")."""
    try:
        done = subprocess.run([sys.executable, "-m", __name__, str(config_path)],
                              capture_output=True, text=True, timeout=VALIDATE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise TunaError(f"validating {config_path.name} with truss took over "
                        f"{VALIDATE_TIMEOUT_S} s") from None
    if done.returncode != 0:
        detail = " ".join(done.stderr.split()) or f"exit {done.returncode}"
        raise TunaError(f"truss rejected the rendered {config_path.name}: {detail}")
    return done.stdout.strip()


def _main(path: str) -> int:
    try:
        from truss.base.truss_config import TrussConfig
    except ImportError:
        from tuna import registry

        print(f"truss is not installed: {registry.install_hint('baseten')}", file=sys.stderr)
        return 3
    try:
        TrussConfig.from_yaml(Path(path)).validate_forbid_extra()
    except Exception as exc:  # truss raises pydantic, ValueError and its own errors alike
        print(exc, file=sys.stderr)
        return 1
    from importlib.metadata import version

    print(f"truss {version('truss')}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1]))

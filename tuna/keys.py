"""Keys tuna makes for a service (a hybrid router's, vLLM's on spot replicas): one 0600 file each
beside the state, never in the state database, a rendered file or the output."""

from __future__ import annotations

import os
import secrets


def path(service_name: str) -> str:
    from tuna.state import default_dir

    return os.path.join(default_dir(), "keys", f"{service_name}.key")


def read(service_name: str) -> str | None:
    try:
        with open(path(service_name)) as existing:
            return existing.read().strip()
    except FileNotFoundError:
        return None


def make(service_name: str) -> str:
    """The service's key, made on first use."""
    found = read(service_name)
    if found:
        return found
    where = path(service_name)
    os.makedirs(os.path.dirname(where), mode=0o700, exist_ok=True)
    key = secrets.token_urlsafe(32)
    with os.fdopen(os.open(where, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as new:
        new.write(key)
    return key


def forget(service_name: str) -> None:
    """Once the service is confirmed gone, its key is of no use."""
    try:
        os.remove(path(service_name))
    except FileNotFoundError:
        pass

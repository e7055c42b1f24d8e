"""Errors the CLI turns into a one-line message and an exit code."""

from __future__ import annotations


class TunaError(Exception):
    """An operation failed (exit 1)."""

    exit_code = 1


class UsageError(TunaError):
    """Bad usage or input, refused before anything remote happens (exit 2)."""

    exit_code = 2


class InvalidValue(UsageError):
    """A value that fails validation, named by the flag the user typed."""

    def __init__(self, field: str, message: str):
        self.flag = "--" + field.replace("_", "-")
        super().__init__(f"{self.flag}: {message}")


class NameTaken(UsageError):
    def __init__(self, service_name: str, status: str, serving: str, requested: str):
        if serving == requested:
            advice = ("pass --update to roll out a new version behind the same endpoint, or "
                      "destroy it first")
        else:  # --update would replace an unrelated service
            advice = f"it serves {serving}: choose another --service-name for {requested}"
        super().__init__(f"service {service_name!r} already exists ({status}); {advice}")


class StateError(TunaError):
    """The local state store cannot be used."""


class ProviderError(TunaError):
    """A provider's remote operation failed."""


class StillDeploying(ProviderError):
    """The wait ran out, not the deployment: it goes on remotely and can be waited for again."""


class PreflightFailed(TunaError):
    """Checks before anything remote failed; each failed check says how to fix it."""

    def __init__(self, provider: str, failed: list, also: str | None = None):
        self.failed = failed  # of tuna.models.Check
        super().__init__(f"{provider} preflight failed: " + "; ".join(c.name for c in failed)
                         + (f"; and the model: {also}" if also else ""))


class Interrupted(TunaError):
    """The user stopped tuna (Ctrl-C or SIGTERM) mid-operation."""

    exit_code = 130

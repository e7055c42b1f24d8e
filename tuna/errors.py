"""Errors the CLI turns into a one-line message and an exit code."""


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


class StateError(TunaError):
    """The local state store cannot be used."""


class ProviderError(TunaError):
    """A provider's remote operation failed."""


class Interrupted(TunaError):
    """The user stopped tuna (Ctrl-C or SIGTERM) mid-operation."""

    exit_code = 130

"""Errors of providers' REST APIs, importable without the HTTP stack."""

from __future__ import annotations

from tuna.errors import ProviderError


class ApiError(ProviderError):
    def __init__(self, method: str, path: str, status: int | None, detail: str,
                 service: str = "API"):
        self.status = status
        super().__init__(f"{service} {method} {path} failed" + (f" (HTTP {status})" if status else "")
                         + (f": {detail}" if detail else ""))

    @property
    def transient(self) -> bool:
        """Worth trying again later: no answer, rate-limited, or a server-side failure."""
        return self.status is None or self.status == 429 or self.status >= 500


class KeyRejected(ApiError):
    pass


class NotFound(ApiError):
    pass


class Retired(ApiError):
    """HTTP 410: the provider retired the API itself; it says nothing about the resource."""

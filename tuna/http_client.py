"""A JSON REST client for providers' management APIs.

Retries are urllib3's: idempotent calls are retried on connection errors, 429 (honouring
Retry-After) and 502/503/504, with bounded backoff. Every call has connect and read timeouts.
Error messages carry the method, path and status, never request headers; a key a server echoes
back is blanked.
"""

from __future__ import annotations

import sys

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NameResolutionError
from urllib3.util.retry import Retry

from tuna.http_errors import ApiError, KeyRejected, NotFound, Retired

TIMEOUT = (5.0, 30.0)  # connect, read (seconds)


class _Retry(Retry):
    """urllib3's Retry, but a name that does not resolve fails at once (it will not resolve on
    the next try), and a pause longer than a second is said on stderr rather than kept silent."""

    SAID_AFTER_S = 1.0

    def increment(self, method=None, url=None, response=None, error=None, _pool=None,
                  _stacktrace=None):
        if isinstance(error, NameResolutionError):
            raise MaxRetryError(_pool, url, error) from error
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def sleep(self, response=None) -> None:
        wait = (self.get_retry_after(response) if response and self.respect_retry_after_header
                else None) or self.get_backoff_time()
        if wait > self.SAID_AFTER_S:
            why = f"HTTP {response.status}" if response else "no answer"
            print(f"tuna: {why}; retrying in {wait:.0f} s", file=sys.stderr, flush=True)
        super().sleep(response)


def _retry() -> Retry:
    return _Retry(
        total=5, connect=5, read=2, status=5,
        backoff_factor=0.25, backoff_max=4.0,
        status_forcelist=(429, 502, 503, 504),
        allowed_methods=frozenset({"GET", "DELETE", "PATCH", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


class JsonClient:
    service = "API"  # how errors name the API
    key_hint = "check the API key"
    retired_hint = "the provider retired this API; upgrade tuna"  # what a 410 Gone means

    def __init__(self, base_url: str, api_key: str, authorization: str):
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.session = requests.Session()
        self.session.headers["Authorization"] = authorization
        self.session.mount("https://", HTTPAdapter(max_retries=_retry()))
        self.session.mount("http://", HTTPAdapter(max_retries=_retry()))

    def _call(self, method: str, path: str, base_url: str | None = None, **kwargs) -> dict:
        base = base_url or self.base_url
        try:
            response = self.session.request(method, base + path, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise ApiError(method, path, None, type(exc).__name__ + " reaching " + base,
                           self.service) from None
        self._refuse_errors(response, method, path)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise ApiError(method, path, response.status_code, "answer is not JSON",
                           self.service) from None

    def _refuse_errors(self, response: requests.Response, method: str, path: str) -> None:
        """Raise for an answer that is not a success, in the server's own words."""
        if response.status_code in (401, 403):
            raise KeyRejected(method, path, response.status_code,
                              f"the API key was rejected; {self.key_hint}", self.service)
        if response.status_code == 410:  # never "gone": the API is, not the resource
            raise Retired(method, path, 410, self.retired_hint, self.service)
        if not response.ok:
            detail = _short(response).replace(self._api_key, "***")  # a server may echo headers
            if response.status_code == 404:
                raise NotFound(method, path, 404, detail or "not found", self.service)
            raise ApiError(method, path, response.status_code, detail, self.service)


def _short(response: requests.Response) -> str:
    """The server's own words: an RFC 9457 problem's detail and validation errors, or the
    `error`/`message` of older APIs."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        problems = body.get("errors") if isinstance(body.get("errors"), list) else []
        detail = "; ".join(str(part) for part in [
            body.get("detail") or body.get("error") or body.get("message") or body.get("title")
            or "", *problems] if part)
    else:
        detail = body
    return " ".join(str(detail).split())[:200]

"""Where a benchmark sends its requests: the service's OpenAI base URL, the headers its callers
send (with the key from the environment, never printed), and the model name it serves."""

from __future__ import annotations

from dataclasses import dataclass

from tuna import keys, registry
from tuna.errors import TunaError, UsageError
from tuna.models import Record
from tuna.state import StateStore


@dataclass(frozen=True)
class Target:
    record: Record
    base_url: str  # ends in /v1
    headers: dict[str, str]
    model: str

    @property
    def service_name(self) -> str:
        return self.record.service_name


def resolve(store: StateStore, service_name: str, url: str | None = None) -> Target:
    """The live service's endpoint, refusing one that is not deployed or whose callers' key is
    missing. `url` points at a router started with `tuna router serve NAME`."""
    from tuna import lifecycle
    from tuna.hybrid import PROVIDER, leg_name

    report = lifecycle.status(store, service_name)
    record = getattr(report, "parent", None) or report.record
    if not record.status.deployed:
        raise TunaError(f"{service_name} is {record.status.value}, not ready to serve: `tuna "
                        f"wait {service_name}` first")
    if record.provider == PROVIDER:
        router_key = keys.read(leg_name(service_name, "router"))
        base = url or record.endpoint_url
        if not base or not router_key:
            raise UsageError(f"{service_name}'s router runs on this machine: start it with "
                             f"`tuna router serve {service_name}` and pass --url "
                             "http://127.0.0.1:8080/v1")
        return Target(record, base.rstrip("/"), {"Authorization": f"Bearer {router_key}"},
                      record.request.model)
    headers = registry.load(record.provider).client_headers(record.request)
    if headers is None:
        raise UsageError(f"tuna holds no token for {service_name}'s callers on "
                         f"{record.provider}; deploy it with --public to benchmark it")
    if not (url or record.endpoint_url):
        raise TunaError(f"{service_name} has no endpoint yet: `tuna wait {service_name}`")
    return Target(record, (url or record.endpoint_url).rstrip("/"), headers,
                  record.request.model)


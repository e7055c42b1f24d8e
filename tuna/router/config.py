"""What a router is told when it starts, from its environment (a SkyServe service's `envs` and
`secrets`, or `tuna router serve NAME` on this machine)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from tuna.errors import UsageError


@dataclass(frozen=True)
class RouterConfig:
    key: str  # what clients send as `Authorization: Bearer KEY`
    spot_url: str  # the spot fleet's SkyServe endpoint (http://host:port)
    spot_key: str  # vLLM's --api-key on the spot replicas
    serverless_url: str  # the serverless leg's OpenAI base, ending in /v1
    serverless_headers: dict[str, str] = field(default_factory=dict)  # its auth
    spot_cap: int = 32  # requests in flight on spot at most (max replicas x concurrency)
    idle_s: float = 600.0  # demand is reported to SkyServe until clients are this long silent
    port: int = 8080
    probe_every_s: float = 10.0
    probe_timeout_s: float = 5.0
    connect_timeout_s: float = 3.0

    @classmethod
    def from_environment(cls, environ=os.environ) -> RouterConfig:
        def need(name: str) -> str:
            value = environ.get(name, "").strip()
            if not value:
                raise UsageError(f"the router needs {name} in its environment")
            return value

        try:
            headers = json.loads(environ.get("TUNA_ROUTER_SERVERLESS_HEADERS") or "{}")
            return cls(key=need("TUNA_ROUTER_KEY"), spot_url=need("TUNA_ROUTER_SPOT_URL").rstrip("/"),
                       spot_key=need("TUNA_ROUTER_SPOT_KEY"),
                       serverless_url=need("TUNA_ROUTER_SERVERLESS_URL").rstrip("/"),
                       serverless_headers={str(k): str(v) for k, v in headers.items()},
                       spot_cap=int(environ.get("TUNA_ROUTER_SPOT_CAP", 32)),
                       idle_s=float(environ.get("TUNA_ROUTER_IDLE_S", 600)),
                       port=int(environ.get("TUNA_ROUTER_PORT", 8080)))
        except (ValueError, AttributeError) as exc:
            raise UsageError(f"the router's environment is malformed: {exc}") from None

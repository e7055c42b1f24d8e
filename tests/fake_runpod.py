"""A loopback fake of RunPod, built from REST API v2's OpenAPI spec (runpod/docs a900806,
api-reference-v2/openapi.json) and its migration guide: `/v2/serverless` endpoints, their
workers and worker logs (Server-Sent Events), `/v2/templates/{id}`, and the job API's
`/v2/{id}/health`. REST API v1 (`/v1/...`) answers 410 Gone, as RunPod has since 2026-11-15.

As the spec says: create answers 201, delete 204; lists are wrapped (`{"endpoints": [...]}`);
errors are RFC 9457 problems; unknown body fields are 422 (`unevaluatedProperties: false`),
rule conflicts 400 (gpu and cpu, excluded types outside the pools, CUDA set beside a floor),
unknown ids 404; `idleTimeout` with a request-count scaler on a queue endpoint is 422; an
omitted `timeout` comes back 0 (RunPod's live behaviour). A PATCH changes only the fields sent
and starts a new configuration version: workers of the old one are stale. Workers move through a
scripted list of states, one step per workers read; the job API's /health counts them.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass, field

from tests.loopback import DispatchingHandler, Fault, Faults, LoopbackServer

POOLS = {
    "AMPERE_16": ["NVIDIA RTX A4000", "NVIDIA RTX A4500", "NVIDIA RTX 4000 Ada Generation",
                  "NVIDIA RTX 2000 Ada Generation"],
    "AMPERE_24": ["NVIDIA L4", "NVIDIA RTX A5000", "NVIDIA GeForce RTX 3090"],
    "ADA_24": ["NVIDIA GeForce RTX 4090"],
    "AMPERE_48": ["NVIDIA RTX A6000", "NVIDIA A40"],
    "ADA_48_PRO": ["NVIDIA L40", "NVIDIA L40S", "NVIDIA RTX 6000 Ada Generation"],
    "AMPERE_80": ["NVIDIA A100 80GB PCIe", "NVIDIA A100-SXM4-80GB"],
    "ADA_80_PRO": ["NVIDIA H100 80GB HBM3"],
    "HOPPER_141": ["NVIDIA H200"],
    "BLACKWELL_180": ["NVIDIA B200"],
}
# CreateEndpointRequest's properties (ContainerConfig's included), and its nested objects'.
CREATE_FIELDS = {"args", "disk", "env", "image", "ports", "registry", "gpu", "name", "scaling",
                 "type", "cpu", "dataCenterIds", "flashboot", "networkVolumes", "templateId",
                 "timeout", "workers"}
UPDATE_FIELDS = CREATE_FIELDS - {"type"}  # UpdateEndpointRequest: the routing type is fixed
GPU_FIELDS = {"pools", "excludedTypes", "count", "allowedCudaVersions", "minCudaVersion"}
WORKERS_FIELDS = {"min", "max", "idleTimeout"}
SCALING_FIELDS = {"QUEUE_DELAY": {"type", "queueDelay"}, "REQUEST_COUNT": {"type", "requestCount"}}
FLASHBOOT = {"OFF", "FLASHBOOT", "PRIORITY_FLASHBOOT"}
STATES = ("RUNNING", "IDLE", "INITIALIZING", "THROTTLED", "UNHEALTHY")


def step(*states: str, stale: int = 0) -> tuple[tuple[str, ...], int]:
    """One moment of an endpoint's workers: their states, the first `stale` of them running the
    configuration before the current one."""
    return states, stale


READY_SCRIPT = (step("INITIALIZING"), step("INITIALIZING"), step("IDLE"))


class Problem(Exception):
    def __init__(self, status: int, detail: str, errors: list[str] | None = None):
        self.status, self.detail, self.errors = status, detail, errors


def _unknown(obj: dict, allowed: set[str], where: str) -> list[str]:
    return [f"{where}: additional properties '{key}' not allowed" for key in sorted(set(obj) - allowed)]


def check_body(body: dict, create: bool) -> None:
    """The spec's rules for a create (or, with create False, a PATCH) body."""
    errors = _unknown(body, CREATE_FIELDS if create else UPDATE_FIELDS, "$")
    for name, allowed in (("gpu", GPU_FIELDS), ("workers", WORKERS_FIELDS)):
        if isinstance(body.get(name), dict):
            errors += _unknown(body[name], allowed, f"$.{name}")
    scaling = body.get("scaling")
    if scaling is not None:
        kind = scaling.get("type") if isinstance(scaling, dict) else None
        if kind not in SCALING_FIELDS:
            errors.append("$.scaling.type: value must be one of 'QUEUE_DELAY', 'REQUEST_COUNT'")
        else:
            errors += _unknown(scaling, SCALING_FIELDS[kind], "$.scaling")
    if create:
        errors += [f"$: missing property '{key}'" for key in ("name", "type", "scaling")
                   if key not in body]
        if "image" not in body and "templateId" not in body:
            errors.append("$: missing property 'image'")
    if "type" in body and body["type"] not in ("QUEUE", "LOAD_BALANCER"):
        errors.append("$.type: value must be one of 'QUEUE', 'LOAD_BALANCER'")
    if "flashboot" in body and body["flashboot"] not in FLASHBOOT:
        errors.append("$.flashboot: value must be one of 'OFF', 'FLASHBOOT', 'PRIORITY_FLASHBOOT'")
    if not all(isinstance(v, str) for v in (body.get("env") or {}).values()):
        errors.append("$.env: additionalProperties: expected string")
    workers = body.get("workers") or {}
    idle = workers.get("idleTimeout")
    if idle is not None and not (isinstance(idle, int) and 1 <= idle <= 3600):
        errors.append("$.workers.idleTimeout: must be >= 1 and <= 3600")
    if idle is not None and (scaling or {}).get("type") == "REQUEST_COUNT" and \
            body.get("type", "QUEUE") == "QUEUE":
        errors.append("idleTimeout does not apply to queue-based endpoints scaling on requestCount")
    if errors:
        raise Problem(422, "Request validation failed.", errors)
    gpu = body.get("gpu")
    if create and ("gpu" in body) == ("cpu" in body):
        raise Problem(400, "exactly one of gpu or cpu must be set")
    if gpu:
        pools = gpu.get("pools") or []
        if create and not pools:
            raise Problem(422, "Request validation failed.", ["$.gpu: missing property 'pools'"])
        if set(pools) - set(POOLS):
            raise Problem(400, f"unknown GPU pool: {sorted(set(pools) - set(POOLS))[0]}")
        in_pools = {t for p in pools for t in POOLS[p]}
        excluded = {t.strip() for t in gpu.get("excludedTypes") or []}
        if excluded - in_pools:
            raise Problem(400, f"excluded GPU type is not in the selected pools: "
                          f"{sorted(excluded - in_pools)[0]}")
        if pools and not in_pools - excluded:
            raise Problem(400, "the GPU selection leaves no GPU type")
        if gpu.get("allowedCudaVersions") and gpu.get("minCudaVersion"):
            raise Problem(400, "allowedCudaVersions and minCudaVersion are mutually exclusive")


@dataclass
class Endpoint:
    body: dict
    id: str
    script: list
    version: int = 1
    reads: int = 0
    template_id: str | None = None  # v1-era endpoints are bound to a template
    logs: dict = field(default_factory=dict)  # worker id -> [(ts, line)]

    def workers(self) -> dict:
        states, stale = self.script[min(self.reads, len(self.script) - 1)]
        self.reads += 1
        listed = [{"id": f"{self.id}-w{i}", "status": s, "isStale": i < stale,
                   "version": self.version - 1 if i < stale else self.version,
                   "gpuCount": self.body["gpu"]["count"], "image": self.body.get("image"),
                   "gpuTypeId": None if s in ("INITIALIZING", "THROTTLED") else "NVIDIA L4",
                   "uptimeSeconds": None, "dataCenterId": None, "startedAt": None}
                  for i, s in enumerate(states)]
        summary = {s.lower(): list(states).count(s) for s in STATES} | {"total": len(states)}
        return {"workers": listed, "summary": summary, "endpointVersion": self.version}

    def json(self, base: str) -> dict:
        gpu = {"allowedCudaVersions": [], "minCudaVersion": None, **self.body["gpu"]}
        urls = {k: f"{base}/v2/{self.id}/{k}" for k in
                ("run", "runSync", "status", "stream", "cancel", "retry", "purgeQueue", "health")}
        return {**{k: v for k, v in self.body.items() if k != "templateId"}, "id": self.id,
                "gpu": gpu, "requestUrls": urls, "createdAt": "2026-12-01T00:00:00Z",
                "dataCenterIds": self.body.get("dataCenterIds", []),
                "networkVolumes": self.body.get("networkVolumes", []),
                "timeout": self.body.get("timeout", 0), "flashboot": self.body.get("flashboot", "OFF"),
                "workers": {"min": 0, "max": 3, **self.body.get("workers", {})}}


@dataclass
class FakeRunpod(LoopbackServer, Faults):
    api_key: str = "rp-test-key-31c9"
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    templates: dict[str, dict] = field(default_factory=dict)
    script: tuple = READY_SCRIPT
    requests: list[tuple[str, str]] = field(default_factory=list)
    bodies: list[tuple[str, str, dict]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    created: set[str] = field(default_factory=set)  # ids of everything created, for leak checks

    def __post_init__(self):
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    def endpoint_named(self, name: str) -> Endpoint | None:
        return next((e for e in self.endpoints.values() if e.body["name"] == name), None)

    def seed_v1_endpoint(self, body: dict, endpoint_id: str, template_id: str) -> Endpoint:
        """An endpoint created through REST API v1 from a template, as v2 serves it now."""
        endpoint = Endpoint(body, endpoint_id, list(self.script), template_id=template_id)
        self.endpoints[endpoint_id] = endpoint
        self.templates[template_id] = {"id": template_id, "name": body["name"] + "-tpl",
                                       "image": body.get("image"), "isServerless": True}
        self.created |= {endpoint_id, template_id}
        return endpoint

    def answer(self, method: str, path: str, query: dict, body: dict | None):
        with self._lock:
            if path.startswith("/v1/"):
                raise Problem(410, "REST API v1 was retired on 2026-11-15; use "
                              "https://api.runpod.io/v2")
            health = re.fullmatch(r"/v2/([^/]+)/health", path)
            if health and health.group(1) not in ("serverless", "templates"):
                return 200, self._health(self._endpoint(health.group(1)))
            if path == "/v2/serverless":
                if method == "GET":
                    return 200, {"endpoints": [e.json(self.url) for e in self.endpoints.values()]}
                if method == "POST":
                    return self._create(body)
            if match := re.fullmatch(r"/v2/serverless/([^/]+)", path):
                return self._one(method, self._endpoint(match.group(1)), body)
            if match := re.fullmatch(r"/v2/serverless/([^/]+)/workers", path):
                if method == "GET":
                    return 200, self._endpoint(match.group(1)).workers()
            if match := re.fullmatch(r"/v2/templates/([^/]+)", path):
                return self._template(method, match.group(1))
            raise Problem(404, f"no route {method} {path}")

    def _endpoint(self, endpoint_id: str) -> Endpoint:
        if endpoint_id not in self.endpoints:
            raise Problem(404, "The requested endpoint does not exist.")
        return self.endpoints[endpoint_id]

    def _create(self, body: dict | None):
        body = body or {}
        check_body(body, create=True)
        endpoint = Endpoint(body, f"ep{next(self._ids):04d}{'x' * 8}", list(self.script))
        self.endpoints[endpoint.id] = endpoint
        self.created.add(endpoint.id)
        self.bodies.append(("POST", endpoint.id, body))
        return 201, endpoint.json(self.url)

    def _one(self, method: str, endpoint: Endpoint, body: dict | None):
        if method == "GET":
            return 200, endpoint.json(self.url)
        if method == "DELETE":  # the endpoint and the template it is bound to
            del self.endpoints[endpoint.id]
            self.templates.pop(endpoint.template_id or "", None)
            return 204, None
        if method == "PATCH":
            body = body or {}
            check_body(body, create=False)
            self.bodies.append(("PATCH", endpoint.id, body))
            merged = {**endpoint.body, **body}
            if "gpu" in body:  # pools without excludedTypes clears them
                merged["gpu"] = {**endpoint.body["gpu"], **body["gpu"]}
                if "pools" in body["gpu"] and "excludedTypes" not in body["gpu"]:
                    merged["gpu"].pop("excludedTypes", None)
            endpoint.body, endpoint.version, endpoint.reads = merged, endpoint.version + 1, 0
            endpoint.script = list(self.script)
            return 200, endpoint.json(self.url)
        raise Problem(405, f"{method} is not allowed here")

    def _template(self, method: str, template_id: str):
        if template_id not in self.templates:
            raise Problem(404, "The requested template does not exist.")
        if method == "GET":
            return 200, self.templates[template_id]
        if method == "DELETE":
            if any(e.template_id == template_id for e in self.endpoints.values()):
                raise Problem(400, "template is bound to an endpoint")
            del self.templates[template_id]
            return 204, None
        raise Problem(405, f"{method} is not allowed here")

    def _health(self, endpoint: Endpoint) -> dict:
        states, _ = endpoint.script[min(max(endpoint.reads - 1, 0), len(endpoint.script) - 1)]
        return {"jobs": {"completed": 0, "failed": 0, "inProgress": 0, "inQueue": 0, "retried": 0},
                "workers": {"idle": states.count("IDLE"), "running": states.count("RUNNING")}}

    def worker_log(self, endpoint_id: str, worker_id: str, since: str | None) -> list[dict]:
        with self._lock:
            lines = self._endpoint(endpoint_id).logs.get(worker_id, [])
            return [{"source": "container", "line": line, "ts": ts} for ts, line in lines
                    if since is None or ts >= since]


class _Handler(DispatchingHandler):
    server_fake: FakeRunpod

    def _handle(self, method: str) -> None:
        fake = self.server_fake
        path, query, raw = self.read_request()
        fake.requests.append((method, path))
        fault = fake.take_fault(method, path)
        if fault and fault.status == 0:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        try:
            if fault:
                raise Problem(fault.status, "injected fault")
            if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                raise Problem(401, "invalid bearer token")
            if logs := re.fullmatch(r"/v2/serverless/([^/]+)/workers/([^/]+)/logs", path):
                return self._stream(fake.worker_log(*logs.groups(), _unquote(query.get("since"))))
            status, answer = fake.answer(method, path, query, json.loads(raw) if raw else None)
        except Problem as problem:
            titles = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405:
                      "Method Not Allowed", 410: "Gone", 422: "Unprocessable Entity",
                      429: "Too Many Requests"}
            status, answer = problem.status, {
                "title": titles.get(problem.status, "Error"), "status": problem.status,
                "detail": problem.detail, **({"errors": problem.errors} if problem.errors else {})}
        data = b"" if answer is None else json.dumps(answer).encode()
        headers = {"x-request-id": f"req-{len(fake.requests)}"}
        if status == 429:
            headers["Retry-After"] = 0
        if status >= 400:
            headers["Content-Type"] = "application/problem+json"
        self.reply(status, data, headers)

    def _stream(self, events: list[dict]) -> None:
        """The backfill, then the stream stays open for new lines, as RunPod's does, until the
        client goes away (or a few seconds pass, so a test's server can stop)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in events:  # one chunk an event, as a streaming server sends them
            data = f"id: {event['ts']}\ndata: {json.dumps(event)}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()
        self.close_connection = True
        self.connection.settimeout(5)
        try:
            self.rfile.read(1)  # returns when the client closes the connection
        except OSError:
            pass


def _unquote(value: str | None) -> str | None:
    from urllib.parse import unquote

    return unquote(value) if value else None


FakeRunpod.handler = _Handler

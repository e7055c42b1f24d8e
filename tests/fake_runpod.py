"""A loopback fake of RunPod, built from its OpenAPI spec (runpod/docs, api-reference/openapi.json):
the REST API's templates and endpoints at /v1, and an endpoint's /v2/{id}/health.

As RunPod does: template names are unique (400 otherwise); a template an endpoint uses cannot be
deleted (400); deletes answer 204; unknown ids 404; a bad key 401; POST bodies are checked
against the spec's required fields and gpuTypeIds enum. Workers move through a scripted list of
health answers, one step per health read. Faults (a status, or 0 for a dropped connection) can
be queued per route.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from tests.loopback import Fault, Faults, JsonHandler, LoopbackServer

GPU_TYPE_IDS = {"NVIDIA L4", "NVIDIA RTX A4000", "NVIDIA RTX A5000", "NVIDIA GeForce RTX 4090",
                "NVIDIA RTX A6000", "NVIDIA A40", "NVIDIA L40", "NVIDIA L40S",
                "NVIDIA A100 80GB PCIe", "NVIDIA H100 80GB HBM3", "NVIDIA B200"}


def workers(**counts) -> dict:
    return {"jobs": {"completed": 0, "failed": 0, "inProgress": 0, "inQueue": 0, "retried": 0},
            "workers": {"idle": 0, "initializing": 0, "ready": 0, "running": 0,
                        "throttled": 0, "unhealthy": 0, **counts}}


READY_SCRIPT = (workers(initializing=1), workers(initializing=1), workers(idle=1))


@dataclass
class Endpoint:
    body: dict
    id: str
    script: list[dict]
    reads: int = 0

    def health(self) -> dict:
        answer = self.script[min(self.reads, len(self.script) - 1)]
        self.reads += 1
        return answer




@dataclass
class FakeRunpod(LoopbackServer, Faults):
    api_key: str = "rp-test-key-31c9"
    templates: dict[str, dict] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    script: tuple[dict, ...] = READY_SCRIPT
    requests: list[tuple[str, str]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    created: set[str] = field(default_factory=set)  # ids of everything created, for leak checks

    def __post_init__(self):
        self._ids = itertools.count(1)
        self._lock = threading.RLock()



    def endpoint_named(self, name: str) -> Endpoint | None:
        return next((e for e in self.endpoints.values() if e.body["name"] == name), None)




    def answer(self, method: str, path: str, body: dict | None) -> tuple[int, object]:
        with self._lock:
            health = re.fullmatch(r"/v2/([^/]+)/health", path)
            if health:
                endpoint = self.endpoints.get(health.group(1))
                return (200, endpoint.health()) if endpoint else (404, {"error": "not found"})
            if path == "/v1/templates" and method == "POST":
                return self._create_template(body or {})
            if path == "/v1/endpoints" and method == "POST":
                return self._create_endpoint(body or {})
            if path == "/v1/endpoints" and method == "GET":
                return 200, [self._endpoint_json(e) for e in self.endpoints.values()]
            match = re.fullmatch(r"/v1/(templates|endpoints)/([^/]+)", path)
            if not match:
                return 404, {"error": f"no route {method} {path}"}
            kind, item = match.groups()
            store = self.templates if kind == "templates" else self.endpoints
            if item not in store:
                return 404, {"error": f"{kind[:-1]} not found"}
            if method == "GET":
                return 200, store[item] if kind == "templates" else self._endpoint_json(store[item])
            if method == "DELETE":
                if kind == "templates" and any(e.body["templateId"] == item
                                               for e in self.endpoints.values()):
                    return 400, {"error": "template is in use by an endpoint"}
                del store[item]
                return 204, None
            return 404, {"error": f"no route {method} {path}"}

    def _create_template(self, body: dict) -> tuple[int, object]:
        if not {"name", "imageName"} <= set(body):
            return 400, {"error": "name and imageName are required"}
        if any(t["name"] == body["name"] for t in self.templates.values()):
            return 400, {"error": "template name must be unique"}
        template = {**body, "id": f"tpl{next(self._ids):04d}", "isRunpod": False}
        self.templates[template["id"]] = template
        self.created.add(template["id"])
        return 200, template

    def _create_endpoint(self, body: dict) -> tuple[int, object]:
        if body.get("templateId") not in self.templates:
            return 400, {"error": "templateId is required and must exist"}
        if set(body.get("gpuTypeIds", [])) - GPU_TYPE_IDS:
            return 400, {"error": "gpuTypeIds has a value outside the enum"}
        endpoint = Endpoint(body, f"ep{next(self._ids):04d}", list(self.script))
        self.endpoints[endpoint.id] = endpoint
        self.created.add(endpoint.id)
        return 200, self._endpoint_json(endpoint)

    def _endpoint_json(self, endpoint: Endpoint) -> dict:
        return {**endpoint.body, "id": endpoint.id, "userId": "user_1", "version": 0,
                "createdAt": "2026-11-30T00:00:00Z"}


class _Handler(JsonHandler):
    server_fake: FakeRunpod

    def _handle(self, method: str) -> None:
        fake = self.server_fake
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0]
        fake.requests.append((method, path))
        fault = fake.take_fault(method, path)
        if fault and fault.status == 0:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault:
            status, answer = fault.status, {"error": "injected fault"}
        elif self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            status, answer = 401, {"error": "Unauthorized"}
        else:
            status, answer = fake.answer(method, path, json.loads(raw) if raw else None)
        data = b"" if answer is None else json.dumps(answer).encode()
        self.reply(status, data, {"Retry-After": 0} if status == 429 else None)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")


FakeRunpod.handler = _Handler

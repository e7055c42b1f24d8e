"""A loopback stand-in for the Cloud Run Admin API v2 (REST), Cloud Logging's `entries:list` and
Secret Manager's secret lookup, served to Google's own `google-cloud-run` client.

Built from the v2 API's REST reference and the shapes the client sends and parses
(../shared/reference/cloudrun-facts.md): proto3 JSON (camelCase, enums as integers or names,
int64 as strings), long-running operations whose `metadata` and `response` carry `@type`, errors
as `{"error": {"code", "message", "status"}}`. Awkward parts modelled: a service reconciles for a
few reads before its Ready condition settles, its observed generation lags, a failed revision
carries Cloud Run's reason while an update's old revision keeps serving, names and projects are
checked, a deleted service answers 404, listing has no region wildcard.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field

from tests.loopback import DispatchingHandler, LoopbackServer

SERVICE_TYPE = "type.googleapis.com/google.cloud.run.v2.Service"
SUCCEEDED, FAILED = "CONDITION_SUCCEEDED", "CONDITION_FAILED"
_NAME = re.compile(r"[a-z](?:[a-z0-9-]{0,47}[a-z0-9])?")


class Problem(Exception):
    def __init__(self, code: int, status: str, message: str):
        super().__init__(message)
        self.code, self.status, self.message = code, status, message


@dataclass
class Service:
    name: str  # projects/P/locations/R/services/ID
    spec: dict
    generation: int = 1
    observed: int = 0
    reconcile_reads: int = 3
    failure: str | None = None  # a revision that will fail, with this reason
    ready_revision: str | None = None
    revisions: int = 1

    @property
    def uri(self) -> str:
        return f"https://{self.name.rsplit('/', 1)[1]}-abc123-uc.a.run.app"

    @property
    def revision(self) -> str:
        return f"{self.name.rsplit('/', 1)[1]}-{self.revisions:05d}-abc"

    def read(self) -> dict:
        """One GET: reconciling settles after a few reads, then the Ready condition says how."""
        if self.observed < self.generation:
            self.reconcile_reads -= 1
            if self.reconcile_reads <= 0:
                self.observed = self.generation
                if not self.failure:
                    self.ready_revision = self.revision
        return self.json()

    def json(self) -> dict:
        reconciling = self.observed < self.generation
        state = ("CONDITION_RECONCILING" if reconciling else FAILED if self.failure
                 else SUCCEEDED)
        service_id = self.name.rsplit("/", 1)[1]
        return {**self.spec, "name": self.name, "uid": f"uid-{service_id}",
                "generation": str(self.generation), "observedGeneration": str(self.observed),
                "reconciling": reconciling, "etag": f'"{self.generation}"',
                "terminalCondition": {"type": "Ready", "state": state,
                                      **({"revisionReason": self.failure,
                                          "message": f"Revision '{self.revision}' is not ready: "
                                          f"{self.failure}"} if state == FAILED else {})},
                "latestCreatedRevision": f"{self.name}/revisions/{self.revision}",
                **({"latestReadyRevision": f"{self.name}/revisions/{self.ready_revision}"}
                   if self.ready_revision else {}),
                "uri": self.uri}


@dataclass
class FakeCloudRun(LoopbackServer):
    projects: set[str] = field(default_factory=lambda: {"tuna-test"})
    services: dict[str, Service] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)  # "projects/P/secrets/S"
    logs: list[tuple[str, float, str]] = field(default_factory=list)  # (service id, time, text)
    fail_next_revision: str | None = None  # e.g. HEALTH_CHECK_CONTAINER_ERROR
    requests: list[tuple[str, str]] = field(default_factory=list)
    created: set[str] = field(default_factory=set)  # every service name created, for leak checks

    def __post_init__(self):
        self._ops = itertools.count(1)
        self._lock = threading.RLock()

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services.values() if s.name.endswith(f"/{service_id}")),
                    None)

    def _operation(self, parent: str, service: dict, done: bool) -> dict:
        op = {"name": f"{parent}/operations/op-{next(self._ops)}", "done": done,
              "metadata": {"@type": SERVICE_TYPE, **service}}
        if done:
            op["response"] = {"@type": SERVICE_TYPE, **service}
        return op

    def answer(self, method: str, path: str, query: dict, body: dict | None) -> dict:
        with self._lock:
            if path == "/token" and method == "POST":  # Google's OAuth token endpoint
                return {"access_token": "ya29.loopback", "expires_in": 3600,
                        "token_type": "Bearer"}
            if path == "/v2/entries:list" and method == "POST":
                return self._entries(body or {})
            if match := re.fullmatch(r"/v1/projects/([^/]+)/secrets/([^/:]+)", path):
                if f"projects/{match.group(1)}/secrets/{match.group(2)}" not in self.secrets:
                    raise Problem(404, "NOT_FOUND", f"Secret [{path[4:]}] not found or has no "
                                  "versions.")
                return {"name": path[4:]}
            match = re.fullmatch(r"/v2/(projects/([^/]+)/locations/([^/]+))"
                                 r"(?:/(services|operations)(?:/([^/:]+))?)?", path)
            if not match:
                raise Problem(404, "NOT_FOUND", f"no route {method} {path}")
            parent, project, _region, kind, item = match.groups()
            if project not in self.projects:
                raise Problem(403, "PERMISSION_DENIED", f"Permission 'run.services.{method.lower()}'"
                              f" denied on resource '{parent}' (or it may not exist).")
            if kind == "operations" and method == "GET":
                return {"name": path[4:], "done": True}
            if kind == "services" and item is None:
                return self._collection(method, parent, query, body)
            if kind == "services":
                return self._one(method, f"{parent}/services/{item}", body)
            raise Problem(404, "NOT_FOUND", f"no route {method} {path}")

    def _collection(self, method: str, parent: str, query: dict, body: dict | None) -> dict:
        if method == "GET":
            found = [s.json() for s in self.services.values() if s.name.startswith(parent + "/")]
            return {"services": found} if found else {}
        if method != "POST":
            raise Problem(405, "METHOD_NOT_ALLOWED", method)
        service_id = query.get("serviceId", "")
        if not _NAME.fullmatch(service_id):
            raise Problem(400, "INVALID_ARGUMENT", f"service_id '{service_id}' must begin with a "
                          "letter, cannot end with a hyphen and must be fewer than 50 characters")
        name = f"{parent}/services/{service_id}"
        if name in self.services:
            raise Problem(409, "ALREADY_EXISTS", f"Resource '{service_id}' already exists.")
        spec = dict(body or {})
        if query.get("validateOnly") == "true":
            return self._operation(parent, {**spec, "name": name}, done=True)
        service = Service(name, spec, failure=self.fail_next_revision)
        self.fail_next_revision = None
        self.services[name] = service
        self.created.add(name)
        return self._operation(parent, service.json(), done=False)

    def _one(self, method: str, name: str, body: dict | None) -> dict:
        service = self.services.get(name)
        if service is None:
            raise Problem(404, "NOT_FOUND", f"Resource '{name.rsplit('/', 1)[1]}' of kind "
                          "'SERVICE' in region was not found.")
        parent = name.rsplit("/services/", 1)[0]
        if method == "GET":
            return service.read()
        if method == "DELETE":
            del self.services[name]
            return self._operation(parent, service.json(), done=True)
        if method == "PATCH":
            # A new revision; the old one keeps traffic until it is ready.
            service.spec = {k: v for k, v in (body or {}).items()
                            if k not in ("name", "etag", "generation")}
            service.generation += 1
            service.revisions += 1
            service.reconcile_reads = 3
            service.failure = self.fail_next_revision
            self.fail_next_revision = None
            return self._operation(parent, service.json(), done=False)
        raise Problem(405, "METHOD_NOT_ALLOWED", method)

    def _entries(self, body: dict) -> dict:
        wanted = re.search(r'resource\.labels\.service_name\s*=\s*"([^"]+)"',
                           body.get("filter", ""))
        entries = [{"timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp))
                    + f".{int(stamp % 1 * 1e6):06d}Z", "textPayload": text,
                    "resource": {"type": "cloud_run_revision",
                                 "labels": {"service_name": service_id}}}
                   for service_id, stamp, text in self.logs
                   if wanted and service_id == wanted.group(1)]
        return {"entries": entries}


class _Handler(DispatchingHandler):
    server_fake: FakeCloudRun

    def _handle(self, method: str) -> None:
        fake = self.server_fake
        path, query, raw = self.read_request()
        fake.requests.append((method, path))
        try:
            if path != "/token" and not (self.headers.get("Authorization") or "").startswith(
                    "Bearer "):
                raise Problem(401, "UNAUTHENTICATED", "Request is missing required "
                              "authentication credential.")
            is_json = "json" in (self.headers.get("Content-Type") or "")
            answer = fake.answer(method, path, query, json.loads(raw) if raw and is_json else None)
            status = 200
        except Problem as problem:
            status, answer = problem.code, {"error": {
                "code": problem.code, "message": problem.message, "status": problem.status}}
        self.reply(status, json.dumps(answer).encode())


FakeCloudRun.handler = _Handler

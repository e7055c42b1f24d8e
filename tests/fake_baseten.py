"""A loopback fake of Baseten: the GraphQL calls and S3 upload `truss push` makes, and the
management REST API tuna uses. Tests start it on 127.0.0.1 and point tuna and truss at it.

Deployments move through a scripted list of statuses, one step per status read, so tests never
wait on real time. Faults (an HTTP status or a dropped connection) can be queued per route.

It behaves as Baseten does where that is awkward (baseten-facts.md, section 7): a deployment
becomes production only after it has finished deploying (a read after ACTIVE), until then
`deployments/production` is 404 and `production_deployment_id` null; the first promotion resets
the environment's autoscaling to Baseten's defaults; environment settings apply asynchronously
(visible from the second read after the PATCH); several teams need `--team`; labels arrive as the
`userDeployMetadata` GraphQL variable; logs come newest first with nanosecond string stamps,
`limit` 1-1000 and a window of at most 7 days. Secrets and model names belong to a team
(`/v1/secrets` lists every team's, `/v1/teams/{id}/secrets` one team's); instance types and their
prices (USD per minute) are the workspace's own, H200 and B200 only on request; a promotion
through the REST API completes only once its deployment is ACTIVE, and applies the autoscaling
sent with it in that same moment.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from tests.loopback import Fault, Faults, JsonHandler, LoopbackServer

READY_SCRIPT = ("BUILDING", "BUILDING", "DEPLOYING", "LOADING_MODEL", "ACTIVE")
DEFAULT_AUTOSCALING = {"min_replica": 0, "max_replica": 1, "autoscaling_window": 60,
                       "scale_down_delay": 900, "concurrency_target": 1,
                       "target_utilization_percentage": 70}
AUTOSCALING_FIELDS = set(DEFAULT_AUTOSCALING)
LOG_WINDOW_MS = 7 * 24 * 3600 * 1000
DEFAULT_TEAMS = ({"id": "t1", "name": "Default", "default": True},)
PROMOTE_FIELDS = {"deployment_id", "scale_down_previous_deployment", "preserve_env_instance_type",
                  "environment_settings_update"}


def instance_type(gpu: str, count: int, per_hour: float, millicpu: int = 4000) -> dict:
    """An entry of GET /v1/instance_type_prices, priced per minute as Baseten answers."""
    name = f"{count}x{gpu}" if count else "CPU"
    return {"instance_type": {"id": name, "name": name, "memory_limit_mib": 16384 * max(count, 1),
                              "millicpu_limit": millicpu * max(count, 1), "gpu_count": count,
                              "gpu_type": gpu if count else None,
                              "gpu_memory_limit_mib": 24576 if count else None},
            "price": round(per_hour / 60, 6)}


# A workspace as Baseten documents them: multi-GPU T4, L4 and A10G boxes priced as such; no H200
# or B200 (on request).
WORKSPACE_INSTANCES = [
    instance_type("", 0, 0.06), instance_type("T4", 1, 0.63), instance_type("T4", 2, 2.35),
    instance_type("T4", 4, 4.69), instance_type("L4", 1, 0.85),
    instance_type("L4", 1, 1.05, millicpu=8000),  # a bigger box of the same GPU
    instance_type("L4", 2, 2.40), instance_type("L4", 4, 4.80), instance_type("A10G", 1, 1.21),
    instance_type("A10G", 2, 3.40), instance_type("A10G", 4, 6.81), instance_type("A10G", 8, 19.55),
    instance_type("A100", 1, 4.00), instance_type("A100", 2, 8.00), instance_type("A100", 4, 16.00),
    instance_type("A100", 8, 32.00), instance_type("H100", 1, 6.50), instance_type("H100", 2, 13.00),
    instance_type("H100", 4, 26.00), instance_type("H100", 8, 52.00),
    instance_type("H100MIG", 1, 3.75), instance_type("RTX_PRO_6000", 1, 4.00),
]


@dataclass
class Deployment:
    id: str
    model_id: str
    script: list[str]
    config: dict
    promote: bool = False  # pushed with --promote: becomes production once it is ACTIVE
    labels: dict = field(default_factory=dict)
    build_seconds: float | None = None  # real time BUILDING, then ACTIVE (for benchmarks)
    reads: int = 0
    active_reads: int = 0
    created_at: float = field(default_factory=time.time)

    @property
    def active_since(self) -> float | None:
        return None if self.build_seconds is None else self.created_at + self.build_seconds

    @property
    def status(self) -> str:
        if self.build_seconds is not None:
            return "ACTIVE" if time.time() >= self.active_since else "BUILDING"
        return self.script[min(self.reads, len(self.script) - 1)]

    def read_status(self) -> str:
        status = self.status
        self.reads += 1
        return status


@dataclass
class Model:
    id: str
    name: str
    deployments: dict[str, Deployment] = field(default_factory=dict)
    production_id: str | None = None
    autoscaling: dict = field(default_factory=lambda: dict(DEFAULT_AUTOSCALING))
    pending_autoscaling: dict = field(default_factory=dict)  # PATCHed, not yet applied
    reads_until_applied: int = 0
    team: dict = field(default_factory=lambda: dict(DEFAULT_TEAMS[0]))
    promotion: dict | None = None  # {"deployment_id", "autoscaling"} while one is in progress




class FakeBaseten(LoopbackServer, Faults):
    def __init__(self, api_key: str = "fake-key-0123456789"):
        self.api_key = api_key
        self.models: dict[str, Model] = {}
        self.secrets: set[str] = set()  # the default team's
        self.team_secrets: dict[str, set[str]] = {DEFAULT_TEAMS[0]["id"]: self.secrets}
        self.instance_types: list[dict] = [dict(entry) for entry in WORKSPACE_INSTANCES]
        # (production deployment, its autoscaling) each time either changes: what was live.
        self.live_history: list[tuple[str, dict]] = []
        self.script: tuple[str, ...] = READY_SCRIPT
        self.build_seconds: float | None = None  # when set, builds take this long in real time
        self.logs = ["Starting vLLM", "Loading weights from /models"]
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, in order
        self.uploads: dict[str, bytes] = {}
        self.faults: list[Fault] = []
        self.delete_keeps_model = False  # a delete that answers 200 yet leaves the model
        self.echo_auth = False  # a careless server that echoes the Authorization header in errors
        self.log_stamps: list[int] = []  # epoch ms of each line of `logs`
        self.pushed: set[str] = set()  # ids of models created by `truss push`
        self.teams: list[dict] = [dict(team) for team in DEFAULT_TEAMS]
        self.create_answer_delay = 0.0  # seconds between creating a model and answering truss
        # The model host truss reports in predict_url; a workspace may have its own.
        self.hostname = "https://model-{model_id}.api.baseten.co"
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    # --- test controls -------------------------------------------------------------------


    def add_model(self, name: str, script: tuple[str, ...] = ("ACTIVE",)) -> Model:
        with self._lock:
            model = Model(self._new_id("m"), name)
            self.models[model.id] = model
            deployment = Deployment(self._new_id("d"), model.id, list(script), {})
            model.deployments[deployment.id] = deployment
            model.production_id = deployment.id  # deployed long ago: production already
            return model

    def add_team(self, team_id: str, name: str, secrets: tuple[str, ...] = ()) -> None:
        self.teams.append({"id": team_id, "name": name, "default": False})
        self.team_secrets[team_id] = set(secrets)

    def model_named(self, name: str) -> Model | None:
        return next((m for m in self.models.values() if m.name == name), None)

    def count(self, method: str, path_pattern: str) -> int:
        return sum(1 for m, p in self.requests if m == method and re.fullmatch(path_pattern, p))




    # --- internals -----------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):05d}"


    def _create(self, model: Model, config: dict, variables: dict, promote: bool = False
                ) -> Deployment:
        labels = json.loads(variables.get("userDeployMetadata") or "null") or {}
        # Not production yet: only a deployment that finished deploying is promoted.
        deployment = Deployment(self._new_id("d"), model.id, list(self.script), config, promote,
                                labels, self.build_seconds)
        model.deployments[deployment.id] = deployment
        return deployment

    def _promote(self, model: Model, deployment: Deployment, autoscaling: dict | None = None
                 ) -> None:
        if model.production_id is None:
            # Baseten applies its default autoscaling when there was no previous deployment.
            model.autoscaling = dict(DEFAULT_AUTOSCALING)
            model.pending_autoscaling = {}
        model.autoscaling.update(autoscaling or {})  # sent with the promotion: the same moment
        model.production_id = deployment.id
        self._went_live(model)

    def _went_live(self, model: Model) -> None:
        if model.production_id:
            self.live_history.append((model.production_id, dict(model.autoscaling)))

    def _promote_request(self, model: Model, body: dict) -> tuple[int, dict]:
        """POST .../environments/production/promote: the promotion completes on a read once its
        deployment is ACTIVE (see _advance_promotion)."""
        unknown = set(body) - PROMOTE_FIELDS
        settings = (body.get("environment_settings_update") or {}).get("autoscaling_settings") or {}
        if unknown or set(settings) - AUTOSCALING_FIELDS or not body.get("deployment_id"):
            return 400, {"error": f"invalid promote request: {sorted(unknown) or body}"}
        deployment = model.deployments.get(body["deployment_id"])
        if deployment is None:
            return 404, {"error": "no such deployment"}
        if model.promotion:
            return 409, {"error": "a promotion is already in progress"}
        model.promotion = {"deployment_id": deployment.id, "autoscaling": dict(settings)}
        return 200, self.deployment_json(model, deployment, read=False)

    def _advance_promotion(self, model: Model) -> None:
        promotion = model.promotion
        if promotion is None:
            return
        deployment = model.deployments[promotion["deployment_id"]]
        if deployment.status == "ACTIVE":
            model.promotion = None
            self._promote(model, deployment, promotion["autoscaling"])
        elif deployment.status in ("BUILD_FAILED", "DEPLOY_FAILED", "FAILED"):
            model.promotion = None

    def _team(self, query: str) -> dict:
        team_id = re.search(r'\bteam_id:\s*"([^"]*)"', query)
        if team_id:
            return next(t for t in self.teams if t["id"] == team_id.group(1))
        assert len(self.teams) == 1, "truss must name the team in a workspace with several"
        return self.teams[0]

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        variables = variables or {}
        with self._lock:
            if "teams" in query and "Teams" in query:
                return {"teams": [dict(team) for team in self.teams]}
            if "truss_validation" in query:
                return {"truss_validation": {"success": True, "details": "{}"}}
            if "model_s3_upload_credentials" in query:
                return {"model_s3_upload_credentials": {
                    "s3_bucket": "fake-bucket", "s3_key": f"uploads/{self._new_id('u')}.tgz",
                    "aws_access_key_id": "AKIAFAKE", "aws_secret_access_key": "fake",
                    "aws_session_token": "fake", "endpoint_url": self.url,
                    "region_name": "us-east-1"}}
            if "create_model_version_from_truss" in query:
                model = self.models[_arg(query, "model_id")]
                promote = "environment_name:" in query
                return {"create_model_version_from_truss": self._version(
                    model, self._create(model, _config(query), variables, promote))}
            if "create_model_from_truss" in query:
                model = Model(self._new_id("m"), _arg(query, "name"), team=self._team(query))
                self.models[model.id] = model
                self.pushed.add(model.id)
                return {"create_model_from_truss": self._version(
                    model, self._create(model, _config(query), variables))}
            if "models(" in query:
                team_id = re.search(r'\bteam_id:\s*"([^"]*)"', query)
                return {"models": [{"id": m.id, "name": m.name, "team": {
                    "id": m.team["id"], "name": m.team["name"]}} for m in self.models.values()
                    if team_id is None or m.team["id"] == team_id.group(1)]}
        raise KeyError(f"fake Baseten does not know this query: {query[:80]}")

    def _version(self, model: Model, deployment: Deployment) -> dict:
        return {"model_version": {
            "id": deployment.id,
            "oracle": {"id": model.id, "name": model.name,
                       "hostname": self.hostname.format(model_id=model.id)},
            "instance_type": {"name": "fake-instance"}}}

    def deployment_json(self, model: Model, deployment: Deployment, read: bool = True) -> dict:
        status = deployment.read_status() if read else deployment.status
        if read and status == "ACTIVE":
            deployment.active_reads += 1
            first = model.production_id is None
            if (first or deployment.promote) and deployment.active_reads > 1:
                self._promote(model, deployment)  # promotion lands a read after ACTIVE
        active = status in ("ACTIVE", "UNHEALTHY")
        return {
            "id": deployment.id, "model_id": model.id, "name": deployment.id, "status": status,
            "active_replica_count": max(1, model.autoscaling["min_replica"]) if active else 0,
            "autoscaling_settings": dict(model.autoscaling) if status != "BUILDING" else None,
            "is_production": model.production_id == deployment.id,
            "environment": "production" if model.production_id == deployment.id else None,
            "instance_type_name": "fake-instance", "created_at": "2026-11-23T00:00:00Z",
            "labels": dict(deployment.labels),
        }

    def rest(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
        with self._lock:
            if path == "/v1/secrets" and method == "GET":
                names = {t["id"]: t["name"] for t in self.teams}
                return 200, {"secrets": [{"name": s, "team_name": names.get(team, team)}
                                         for team, found in self.team_secrets.items()
                                         for s in sorted(found)]}
            if path == "/v1/instance_type_prices" and method == "GET":
                return 200, {"instance_types": [dict(entry) for entry in self.instance_types]}
            match = re.fullmatch(r"/v1/teams/([^/?]+)/(secrets|models)(\?.*)?", path)
            if match and method == "GET":
                team_id, what = match.group(1), match.group(2)
                team = next((t for t in self.teams if t["id"] == team_id), None)
                if team is None:
                    return 404, {"error": "no such team"}
                if what == "secrets":
                    found = self.team_secrets.get(
                        team_id, self.secrets if team.get("default") else set())
                    return 200, {"secrets": [{"name": s} for s in sorted(found)]}
                name = _query_param(path, "name")
                return 200, {"models": [self._model_json(m) for m in self.models.values()
                                        if m.team["id"] == team_id and name in (None, m.name)]}
            if path == "/v1/teams" and method == "GET":
                return 200, {"teams": [{**team, "created_at": "2026-01-01T00:00:00Z"}
                                       for team in self.teams]}
            if path.startswith("/v1/models") and method == "GET" and path.count("/") == 2:
                name = _query_param(path, "name")
                found = [m for m in self.models.values() if name is None or m.name == name]
                return 200, {"models": [self._model_json(m) for m in found]}
            match = re.fullmatch(r"/v1/models/([^/?]+)(/.*)?", path)
            if not match or match.group(1) not in self.models:
                return 404, {"error": "not found"}
            model, rest = self.models[match.group(1)], match.group(2) or ""
            if rest == "" and method == "GET":
                return 200, self._model_json(model)
            if rest == "" and method == "DELETE":
                if not self.delete_keeps_model:
                    del self.models[model.id]
                return 200, {"id": model.id, "deleted": True}
            if rest == "/environments/production/promote" and method == "POST":
                return self._promote_request(model, body or {})
            if rest == "/environments/production" and method == "PATCH":
                settings = (body or {}).get("autoscaling_settings", {})
                if set(settings) - AUTOSCALING_FIELDS:
                    return 400, {"error": f"unknown fields {sorted(set(settings) - AUTOSCALING_FIELDS)}"}
                model.pending_autoscaling.update(settings)
                model.reads_until_applied = 1
                return 200, {"status": "ACCEPTED", "message": "queued"}
            if rest == "/environments/production" and method == "GET":
                current = model.deployments.get(model.production_id or "")
                promoting = model.promotion and model.deployments[model.promotion["deployment_id"]]
                answer = {"name": "production", "model_id": model.id,
                          "autoscaling_settings": dict(model.autoscaling),
                          "current_deployment": current and self.deployment_json(
                              model, current, read=False),
                          "candidate_deployment": promoting and self.deployment_json(
                              model, promoting, read=False),
                          "in_progress_promotion": promoting and {
                              "deployment_id": promoting.id, "status": "PROMOTING"}}
                if model.reads_until_applied > 0:
                    model.reads_until_applied -= 1  # applied asynchronously: seen next time
                elif model.pending_autoscaling:
                    model.autoscaling.update(model.pending_autoscaling)
                    model.pending_autoscaling = {}
                    self._went_live(model)
                self._advance_promotion(model)  # seen on the next read
                return 200, answer
            if rest == "/deployments" and method == "GET":
                return 200, {"deployments": [self.deployment_json(model, d, read=False)
                                             for d in model.deployments.values()]}
            match = re.fullmatch(r"/deployments/([^/?]+)(/logs)?(\?.*)?", rest)
            if match:
                deployment = (model.deployments.get(model.production_id or "")
                              if match.group(1) == "production"
                              else model.deployments.get(match.group(1)))
                if deployment is None:
                    return 404, {"error": "no such deployment"}
                if match.group(2) and method == "GET":
                    return self._logs(path)
                if method == "GET":
                    return 200, self.deployment_json(model, deployment)
        return 404, {"error": f"fake Baseten has no route {method} {path}"}

    def _logs(self, path: str) -> tuple[int, dict]:
        # A line is stamped when a read first sees it, and keeps that stamp.
        now = int(time.time() * 1000)
        while len(self.log_stamps) < len(self.logs):
            self.log_stamps.append(max([now] + [t + 1 for t in self.log_stamps[-1:]]))
        limit = int(_query_param(path, "limit") or 500)
        end = int(_query_param(path, "end_epoch_millis") or max([now, *self.log_stamps]))
        start = int(_query_param(path, "start_epoch_millis") or end - 30 * 60 * 1000)
        if not 1 <= limit <= 1000:
            return 400, {"error": "limit must be between 1 and 1000"}
        if end - start > LOG_WINDOW_MS:
            return 400, {"error": "the window from start to end must not exceed 7 days"}
        lines = [{"timestamp": str(stamp * 1_000_000), "message": line, "replica": "r1"}
                 for line, stamp in zip(self.logs, self.log_stamps) if start <= stamp <= end]
        if _query_param(path, "direction") != "asc":
            lines.reverse()  # newest first unless asked otherwise
        return 200, {"logs": lines[:limit]}

    def _model_json(self, model: Model) -> dict:
        return {"id": model.id, "name": model.name, "created_at": "2026-11-23T00:00:00Z",
                "deployments_count": len(model.deployments),
                "production_deployment_id": model.production_id,
                "development_deployment_id": None, "instance_type_name": "fake-instance",
                "team_name": model.team["name"]}


def _arg(query: str, name: str) -> str:
    match = re.search(rf'\b{name}:\s*"([^"]*)"', query)
    if not match:
        raise KeyError(f"query has no {name} argument")
    return match.group(1)


def _config(query: str) -> dict:
    return json.loads(base64.b64decode(_arg(query, "config")))


def _query_param(path: str, name: str) -> str | None:
    from urllib.parse import parse_qs, urlsplit

    values = parse_qs(urlsplit(path).query).get(name)
    return values[0] if values else None


class _Handler(JsonHandler):
    server_fake: FakeBaseten

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, payload: dict | None, headers: dict | None = None) -> None:
        self.reply(status, json.dumps(payload).encode() if payload is not None else b"", headers)

    def _authorized(self) -> bool:
        auth = self.headers.get("Authorization", "")
        return auth in (f"Api-Key {self.server_fake.api_key}", f"Bearer {self.server_fake.api_key}")

    def _handle(self, method: str) -> None:
        fake = self.server_fake
        body = self._body()
        fake.requests.append((method, self.path))
        fault = fake.take_fault(method, self.path.split("?")[0])
        if fault is not None:
            if fault.status == 0:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            detail = "injected fault" + (f" for {self.headers.get('Authorization')}"
                                         if fake.echo_auth else "")
            if self.path.rstrip("/") == "/graphql" and fault.status == 200:
                self._send(200, {"errors": [{"message": detail}]})
            else:
                self._send(fault.status, {"error": detail, "retry_after": 0}, fault.headers)
            return
        if method == "PUT":  # the S3 upload of the packed Truss directory
            fake.uploads[self.path] = body
            self._send(200, None, {"ETag": '"fake-etag"'})
            return
        if not self._authorized():
            self._send(401, {"error": "invalid api key"})
            return
        payload = json.loads(body) if body else None
        if self.path.rstrip("/") == "/graphql":
            try:
                data = fake.graphql(payload["query"], payload.get("variables"))
                if "create_model_from_truss" in payload["query"]:
                    time.sleep(fake.create_answer_delay)  # the model exists; truss waits
                self._send(200, {"data": data})
            except KeyError as exc:
                self._send(200, {"errors": [{"message": str(exc)}]})
            return
        status, answer = fake.rest(method, self.path, payload)
        self._send(status, answer)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")


FakeBaseten.handler = _Handler

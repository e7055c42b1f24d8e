"""A loopback stand-in of the SkyPilot API server (skypilot 0.14.1), enough for `sky.serve`'s
client: GET /api/health, POST /validate and /optimize, POST /serve/up|update|down|status, GET
/api/stream and /api/get. It imitates sky/server/server.py and sky/serve/server/server.py (routes,
the X-Skypilot-Request-ID header) and builds every reply with SkyPilot's own classes
(sky.server.requests.requests.Request: set_return_value, set_error, encode), so the real client
decodes them as it decodes its server's. Services move through a status script per read, as the
SkyServe controller reports them (sky/serve/serve_state.py ServiceStatus and ReplicaStatus)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

VERSION, API_VERSION = "0.14.1", 62


@dataclass
class Service:
    name: str
    task: str  # the YAML the client sent
    script: list[str]  # statuses, one per status read; the last one stays
    version: int = 1
    reads: int = 0
    upgrade_reads: int = 0  # blue-green: reads until the new version's replica is ready
    down: bool = False
    replicas: list[dict] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.script[min(self.reads, len(self.script) - 1)]


class FakeSkyPilot:
    def __init__(self, user: str = "alice", script=("CONTROLLER_INIT", "REPLICA_INIT", "READY")):
        self.user = {"name": user, "id": f"{user}-hash"}
        self.script = list(script)
        self.services: dict[str, Service] = {}
        self.controller_up = False
        self.requests: dict[str, object] = {}
        self.calls: list[str] = []
        self.refuse_up: str | None = None  # an error message for the next serve/up
        self.hold_up: threading.Event | None = None  # serve/up waits for it (a slow launch)
        self.endpoints: dict[str, str] = {}  # a service's load balancer, when a test runs one
        self.blobs: dict[str, dict[int, bytes]] = {}  # /upload_v2: blob id -> chunks
        self.uploaded: dict[str, bytes] = {}  # blob id -> the whole zip
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- what the controller reports ---

    def endpoint(self, name: str) -> str:
        return self.endpoints.get(name, "http://127.0.0.1:30001")

    def _record(self, service: Service) -> dict:
        from sky.serve import serve_state

        status = service.status
        if service.upgrade_reads:  # the old version serves meanwhile
            service.upgrade_reads -= 1
            if not service.upgrade_reads:
                service.replicas = []
        if status == "READY" and not service.replicas:
            service.replicas = [{"replica_id": 1, "name": f"{service.name}-1", "status": "READY",
                                 "version": service.version,
                                 "is_spot": "use_spot: true" in service.task,
                                 "endpoint": "http://10.0.0.7:8000", "cloud": "AWS",
                                 "region": "us-east-1", "launched_at": int(time.time()),
                                 "handle": None}]
        return {
            "name": service.name, "active_versions": [service.version], "uptime": 10,
            "status": serve_state.ServiceStatus(status), "controller_port": 20001,
            "load_balancer_port": 30001, "endpoint": self.endpoint(service.name), "policy": None,
            "requested_resources_str": "L4:1 [spot]", "load_balancing_policy": "least_load",
            "tls_encrypted": False,
            "replica_info": [{**r, "status": serve_state.ReplicaStatus(r["status"])}
                             for r in service.replicas],
        }

    # --- requests, as the executor records them ---

    def _finish(self, name: str, body, value=None, error: BaseException | None = None) -> str:
        from sky.serve.server import core
        from sky.server.requests import requests as requests_lib

        request_id = str(uuid.uuid4())
        entry = {"serve.up": core.up, "serve.update": core.update, "serve.down": core.down,
                 "serve.status": core.status}.get(name, core.status)
        request = requests_lib.Request(
            request_id=request_id, name=f"sky.{name}", entrypoint=entry, request_body=body,
            status=requests_lib.RequestStatus.FAILED if error else
            requests_lib.RequestStatus.SUCCEEDED, created_at=time.time(),
            user_id=self.user["id"], finished_at=time.time())
        if error is not None:
            request.set_error(error)
        else:
            request.set_return_value(value)
        self.requests[request_id] = request
        return request_id

    def serve(self, kind: str, payload: dict) -> str:
        from sky import exceptions
        from sky.server.requests import payloads

        self.calls.append(kind)
        if kind == "up" and self.hold_up is not None:
            self.hold_up.wait(30)
        with self.lock:
            if kind == "up":
                body = payloads.ServeUpBody(**payload)
                name = body.service_name
                if self.refuse_up:
                    return self._finish("serve.up", body, error=RuntimeError(self.refuse_up))
                if name in self.services:
                    return self._finish("serve.up", body, error=ValueError(
                        f"Service {name!r} is already taken."))
                self.controller_up = True
                self.services[name] = Service(name, body.task, list(self.script))
                return self._finish("serve.up", body, [name, self.endpoint(name)])
            if kind == "update":
                body = payloads.ServeUpdateBody(**payload)
                service = self.services.get(body.service_name)
                if service is None:
                    return self._finish("serve.update", body, error=RuntimeError(
                        f"Service {body.service_name!r} does not exist."))
                service.version += 1
                service.task = body.task
                service.upgrade_reads = 2
                return self._finish("serve.update", body, None)
            if kind == "status":
                body = payloads.ServeStatusBody(**payload)
                if not self.controller_up:
                    return self._finish("serve.status", body, error=exceptions.ClusterNotUpError(
                        "Sky serve controller has not been launched yet."))
                names = body.service_names
                names = [names] if isinstance(names, str) else names
                found = [s for s in self.services.values() if names is None or s.name in names]
                records = [self._record(s) for s in found]
                for service in found:
                    service.reads += 1
                    if service.down:  # one read shutting down, then gone
                        del self.services[service.name]
                return self._finish("serve.status", body, records)
            body = payloads.ServeDownBody(**payload)
            if not self.controller_up:
                return self._finish("serve.down", body, error=exceptions.ClusterNotUpError(
                    "No live services."))
            names = body.service_names
            for name in [names] if isinstance(names, str) else names or []:
                if name in self.services:
                    self.services[name].down = True
                    self.services[name].script = ["SHUTTING_DOWN"]
                    self.services[name].reads = 0
            return self._finish("serve.down", body, None)

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _headers(self):
                return {"X-SkyPilot-API-Version": str(API_VERSION), "X-SkyPilot-Version": VERSION}

            def _json(self, status: int, body, extra: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {**self._headers(), **(extra or {})}.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/upload_v2/blob":  # sky/server/server.py: skip a known blob
                    return self._json(200, {"exists": query.get("blob_id") in fake.uploaded})
                if url.path == "/api/health":
                    return self._json(200, {"status": "healthy", "api_version": str(API_VERSION),
                                            "version": VERSION, "version_on_disk": VERSION,
                                            "commit": "0" * 40, "user": fake.user,
                                            "basic_auth_enabled": False})
                request = fake.requests.get(query.get("request_id", ""))
                if request is None:
                    return self._json(404, {"detail": "Request not found"})
                if url.path == "/api/get":
                    payload = request.encode().model_dump()
                    return self._json(500 if request.error else 200,
                                      {"detail": payload} if request.error else payload)
                if url.path == "/api/stream":  # the request's log, then the client asks /api/get
                    data = b"Done.\n"
                    self.send_response(200)
                    for name, value in self._headers().items():
                        self.send_header(name, value)
                    self.send_header("X-SkyPilot-Stream-Request-ID", request.request_id)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return None
                return self._json(404, {"detail": "Not Found"})

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                    return self.rfile.read(int(self.headers.get("Content-Length") or 0))
                data = b""
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    data += self.rfile.read(size)
                    self.rfile.readline()
                self.rfile.readline()
                return data

            def do_POST(self):
                url = urlparse(self.path)
                path, body = url.path, self._body()
                if path == "/upload_v2":  # chunks of the client's zip of its file mounts
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    chunks = fake.blobs.setdefault(query["upload_id"], {})
                    chunks[int(query["chunk_index"])] = body
                    if len(chunks) < int(query["total_chunks"]):
                        return self._json(200, {"status": "uploading"})
                    fake.uploaded[query["upload_id"]] = b"".join(
                        chunks[i] for i in sorted(chunks))
                    return self._json(200, {"status": "completed"})
                payload = json.loads(body or b"{}")
                if path == "/validate":
                    fake.calls.append("validate")
                    return self._json(200, None)
                if path == "/optimize":
                    from sky.server.requests import payloads

                    fake.calls.append("optimize")
                    request_id = fake._finish("optimize", payloads.OptimizeBody(**payload), None)
                elif path.startswith("/serve/") and path[7:] in ("up", "update", "down", "status"):
                    request_id = fake.serve(path[7:], payload)
                else:
                    return self._json(404, {"detail": "Not Found"})
                return self._json(200, {"request_id": request_id},
                                  {"X-Skypilot-Request-ID": request_id})

        return Handler

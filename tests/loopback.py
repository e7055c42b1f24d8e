"""What every loopback fake shares: an HTTP server on 127.0.0.1 at a free port, its handler
class bound to the fake it serves."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    handler: type[BaseHTTPRequestHandler]  # its handlers reach the fake as `self.server_fake`
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self):
        handler = type("Handler", (self.handler,), {"server_fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()


@dataclass
class Fault:
    method: str
    path: re.Pattern
    status: int  # 0 drops the connection without an answer
    times: int
    headers: dict = field(default_factory=dict)


class Faults:
    """Faults queued per route, taken one at a time; the fake holds `faults` and `_lock`."""

    faults: list[Fault]
    _lock: threading.RLock

    def fail(self, method: str, path_pattern: str, status: int, times: int = 1, **headers):
        self.faults.append(Fault(method, re.compile(path_pattern), status, times, headers))

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.method == method and fault.path.fullmatch(path):
                    fault.times -= 1
                    return fault
        return None


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet HTTP/1.1 handler that answers with a body and its length."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output quiet
        pass

    def reply(self, status: int, body: bytes, headers: dict | None = None,
              send_body: bool = True) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, str(value))
        if "Content-Type" not in (headers or {}):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)


class DispatchingHandler(JsonHandler):
    """Sends every method to `_handle(method)`, which the fake's handler defines."""

    def read_request(self) -> tuple[str, dict[str, str], bytes]:
        """The path, its query parameters and the raw body."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path, _, query_text = self.path.partition("?")
        return path, dict(part.split("=", 1) for part in query_text.split("&") if "=" in part), raw

    def _handle(self, method: str) -> None:
        raise NotImplementedError

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")

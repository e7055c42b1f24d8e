"""What the loopback benchmarks share: servers in processes of their own (so a process's CPU
time can be read), and the report of measures against their budgets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FAKE_VLLM = """
import sys
sys.path.insert(0, {root!r})
from tests.fake_openai import FakeOpenAI
from aiohttp import web
fake = FakeOpenAI()
fake.behaviour.events = {events}
fake.behaviour.token_delay_s = {token_delay_s}
web.run_app(fake.app(), host="127.0.0.1", port={port}, print=None)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(code: str, port: int) -> subprocess.Popen:
    """Run `code` in a new Python and wait until it listens on `port`."""
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    for _ in range(500):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.02)
    process.kill()
    raise SystemExit(f"nothing listens on {port}")


def fake_vllm(events: int, token_delay_s: float = 0.0) -> tuple[subprocess.Popen, str]:
    port = free_port()
    code = FAKE_VLLM.format(root=str(ROOT), port=port, events=events,
                            token_delay_s=token_delay_s)
    return start(code, port), f"http://127.0.0.1:{port}"


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        process.terminate()
        process.wait(10)


def report(found: dict, budgets: dict[str, float], as_json: bool) -> int:
    """Print the measures (JSON, or a Markdown table) with each budget's verdict; exit 1 when a
    measure is over its budget."""
    verdicts = {name: found[name] <= budget for name, budget in budgets.items()}
    if as_json:
        print(json.dumps({**found, "budgets": budgets, "within_budget": verdicts}, indent=2))
    else:
        print("| measure | value | budget |\n|---|---|---|")
        for name, value in found.items():
            budget = budgets.get(name)
            mark = "" if budget is None else f"{budget} ({'ok' if verdicts[name] else 'OVER'})"
            shown = f"{value:.3f}" if isinstance(value, float) else value
            print(f"| {name} | {shown} | {mark} |")
    return 0 if all(verdicts.values()) else 1

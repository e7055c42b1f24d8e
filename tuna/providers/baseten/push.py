"""Runs the real `truss push` CLI and reads its JSON answer."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tuna.errors import ProviderError

DEFAULT_REMOTE_URL = "https://app.baseten.co"
PUSH_TIMEOUT_S = 900.0  # building the upload and registering the model, not the image build


@dataclass(frozen=True)
class Pushed:
    model_id: str
    deployment_id: str
    predict_url: str | None = None  # its host is the model's real hostname


def truss_executable() -> str | None:
    """truss beside our interpreter first: a tool install (pipx, uv tool) is not on PATH."""
    beside = Path(sys.executable).with_name("truss")
    return str(beside) if beside.is_file() else shutil.which("truss")


def truss_env(api_key: str) -> dict[str, str]:
    """One credential source for truss: the same workspace as our REST calls, no `truss login`."""
    return {
        **os.environ,
        "BASETEN_TRUSS_AUTH_REMOTE_URL": os.environ.get("BASETEN_REMOTE_URL") or DEFAULT_REMOTE_URL,
        "BASETEN_TRUSS_AUTH_API_KEY": api_key,
        "TRUSS_NO_UPDATE_CHECK": "1",
    }


def _redacted(text: str, api_key: str) -> str:
    """One line of truss's words, the key blanked in case an error echoed a request."""
    line = " ".join(text.split())[:500]
    return line.replace(api_key, "***") if api_key else line


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


# Runs truss's console script without its main block, which imports truss's CLI (about a
# second), then waits: it runs the script as `truss ARGV...` only when a line of JSON argv
# arrives on stdin, and ends without doing anything on an empty line or at EOF (tuna refused the
# deploy, or exited).
_WAITING_TRUSS = """
import json, runpy, sys
script = sys.argv[1]
runpy.run_path(script, run_name="__tuna_waiting__")
line = sys.stdin.readline()
if not line.strip():
    sys.exit(0)
sys.argv = [script, *json.loads(line)]
runpy.run_path(script, run_name="__main__")
"""


def start(api_key: str) -> subprocess.Popen | None:
    """A truss process that imports while tuna checks the account and the model, so a push does
    not wait on the import; None when truss is not installed beside tuna's interpreter. It
    creates nothing until `push` hands it the command. In a session of its own, so a hang can be
    killed with everything truss started."""
    script = Path(sys.executable).with_name("truss")
    if not script.is_file():
        return None
    try:
        return subprocess.Popen([sys.executable, "-c", _WAITING_TRUSS, str(script)],
                                env=truss_env(api_key), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
    except OSError:
        return None  # only a head start: the push starts truss itself and reports what fails


def push(directory: Path, api_key: str, team: str | None = None,
         labels: dict[str, str] | None = None, timeout_s: float = PUSH_TIMEOUT_S,
         started: subprocess.Popen | None = None) -> Pushed:
    """Push a published deployment; the first one of a model becomes production once it has
    deployed. `labels` stay on the deployment, so tuna can recognise what it made. `started`:
    a process from `start`; truss starts now without one, or if that one ended early."""
    arguments = ["push", str(directory), "--output", "json", "--non-interactive"]
    if team:
        arguments += ["--team", team]
    if labels:
        arguments += ["--labels", json.dumps(labels)]
    if started and started.poll() is None:
        process, command = started, json.dumps(arguments) + "\n"
    else:
        process, command = _cold(arguments, api_key), None
    try:
        stdout, stderr = process.communicate(command, timeout=timeout_s)
    except BaseException as exc:  # our timeout, or Ctrl-C: leave no truss running behind us
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        if isinstance(exc, subprocess.TimeoutExpired):
            raise ProviderError(f"truss push did not finish within {timeout_s:g} s and was "
                                "stopped; the model may exist: `tuna destroy` removes it") from None
        raise
    return _answer(stdout, stderr, process.returncode, api_key)


def _cold(arguments: list[str], api_key: str) -> subprocess.Popen:
    executable = truss_executable()
    if executable is None:
        from tuna import registry

        raise ProviderError(f"truss is not installed: {registry.install_hint('baseten')}")
    return subprocess.Popen([executable, *arguments], env=truss_env(api_key),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _answer(stdout: str, stderr: str, returncode: int, api_key: str) -> Pushed:
    try:
        answer = json.loads(stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise ProviderError(f"truss push failed (exit {returncode}): "
                            + _redacted(_last_line(stderr or stdout), api_key))
    if returncode != 0 or "error" in answer:
        error = answer.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        raise ProviderError(f"truss push failed (exit {returncode}): "
                            + _redacted(str(message or _last_line(stderr)), api_key))
    try:
        return Pushed(answer["model_id"], answer["model_version_id"], answer.get("predict_url"))
    except KeyError as exc:
        raise ProviderError(f"truss push answered without {exc.args[0]}") from None

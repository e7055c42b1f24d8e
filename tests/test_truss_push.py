"""How tuna survives the truss subprocess misbehaving, with stand-in `truss` executables."""

from __future__ import annotations

import json
import os
import time

import pytest

from tuna.errors import ProviderError
from tuna.providers.baseten import push

KEY = "bt-push-key-31337"


@pytest.fixture
def fake_truss(tmp_path, monkeypatch):
    def install(script: str) -> str:
        path = tmp_path / "truss"
        path.write_text("#!/bin/sh\n" + script)
        path.chmod(0o755)
        monkeypatch.setattr(push, "truss_executable", lambda: str(path))
        return str(path)

    return install


def test_success_reads_ids_from_json_and_passes_one_credential(fake_truss, tmp_path, monkeypatch):
    monkeypatch.setenv("BASETEN_REMOTE_URL", "http://127.0.0.1:1")
    fake_truss(f'env > {tmp_path}/env; echo "$@" > {tmp_path}/args\n'
               'echo "Deploying..." >&2\necho \'{"model_id": "m1", "model_version_id": "d1"}\'\n')
    assert push.push(tmp_path, KEY) == push.Pushed("m1", "d1")
    env = dict(line.split("=", 1) for line in (tmp_path / "env").read_text().splitlines() if "=" in line)
    assert env["BASETEN_TRUSS_AUTH_API_KEY"] == KEY
    assert env["BASETEN_TRUSS_AUTH_REMOTE_URL"] == "http://127.0.0.1:1"
    assert env["TRUSS_NO_UPDATE_CHECK"] == "1"
    assert (tmp_path / "args").read_text().split() == [
        "push", str(tmp_path), "--output", "json", "--non-interactive"]


def test_missing_executable(monkeypatch, tmp_path):
    monkeypatch.setattr(push, "truss_executable", lambda: None)
    with pytest.raises(ProviderError, match=r"truss is not installed: pip install 'tuna-llm\[baseten\]'"):
        push.push(tmp_path, KEY)


def test_error_json_shows_truss_message_without_the_key(fake_truss, tmp_path):
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps({"error": {"message": f"Unauthorized for Bearer {KEY}\nretry"}}))
    fake_truss(f"cat {answer}\nexit 1\n")
    with pytest.raises(ProviderError) as caught:
        push.push(tmp_path, KEY)
    assert str(caught.value) == "truss push failed (exit 1): Unauthorized for Bearer *** retry"


@pytest.mark.parametrize("stdout", ["not json at all", "[1, 2]", ""])
def test_output_that_is_not_a_json_object(fake_truss, tmp_path, stdout):
    fake_truss(f'echo "{stdout}"\necho "first" >&2\necho "Traceback: boom" >&2\nexit 2\n')
    with pytest.raises(ProviderError, match=r"truss push failed \(exit 2\): Traceback: boom"):
        push.push(tmp_path, KEY)


def test_answer_without_ids(fake_truss, tmp_path):
    fake_truss('echo \'{"model_id": "m1"}\'\n')
    with pytest.raises(ProviderError, match="answered without model_version_id"):
        push.push(tmp_path, KEY)


def test_hang_is_killed_with_its_process_group(fake_truss, tmp_path):
    fake_truss(f"sleep 60 &\necho $! > {tmp_path}/child\nwait\n")
    started = time.monotonic()
    with pytest.raises(ProviderError, match=r"did not finish within 0.5 s .* `tuna destroy`"):
        push.push(tmp_path, KEY, timeout_s=0.5)
    assert time.monotonic() - started < 5
    child = int((tmp_path / "child").read_text())
    time.sleep(0.1)
    assert _state(child) in (None, "Z")  # the grandchild died with the group


def _state(pid: int) -> str | None:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def test_real_truss_is_found_beside_the_interpreter():
    found = push.truss_executable()
    assert found and os.access(found, os.X_OK)
    assert json.dumps(found)  # a plain path, usable in messages

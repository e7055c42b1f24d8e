"""How tuna survives the truss subprocess misbehaving, with stand-in `truss` executables."""

from __future__ import annotations

import json
import os
import sys
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
    with pytest.raises(ProviderError, match=r"truss is not installed: uv sync --extra baseten in "):
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


# Started ahead of the push ------------------------------------------------------------------------

# Shaped like the console script an installer writes: the import at the top, the work under
# __main__ (marks show which ran).
STAND_IN = """import json, os, sys
open(os.path.join(os.environ["MARKS"], "imported"), "a").write("x")
if __name__ == "__main__":
    with open(os.path.join(os.environ["MARKS"], "ran"), "w") as ran:
        json.dump({"argv": sys.argv[1:], "key": os.environ["BASETEN_TRUSS_AUTH_API_KEY"]}, ran)
    print(json.dumps({"model_id": "m1", "model_version_id": "d1"}))
"""


@pytest.fixture
def waiting_truss(tmp_path, monkeypatch):
    """A truss script beside the interpreter push.start runs, as an install of the extra has."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    (bin_dir / "truss").write_text(STAND_IN)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.setenv("MARKS", str(tmp_path))
    return tmp_path


def test_a_started_truss_imports_then_does_nothing_unless_handed_a_command(waiting_truss):
    process = push.start(KEY)
    process.stdin.close()  # tuna refused the deploy, or exited
    assert process.wait(timeout=30) == 0
    assert (waiting_truss / "imported").exists() and not (waiting_truss / "ran").exists()


def test_a_started_truss_runs_the_push_it_is_handed(waiting_truss):
    process = push.start(KEY)
    pushed = push.push(waiting_truss / "dir", KEY, team="Research", started=process)
    assert pushed == push.Pushed("m1", "d1")
    ran = json.loads((waiting_truss / "ran").read_text())
    assert ran == {"argv": ["push", str(waiting_truss / "dir"), "--output", "json",
                            "--non-interactive", "--team", "Research"], "key": KEY}


def test_a_started_truss_that_ended_early_is_replaced_by_a_fresh_one(waiting_truss, fake_truss):
    fake_truss("echo '{\"model_id\": \"m2\", \"model_version_id\": \"d2\"}'\n")
    process = push.start(KEY)
    process.kill()
    process.wait()
    assert push.push(waiting_truss, KEY, started=process) == push.Pushed("m2", "d2")


def test_nothing_is_started_without_truss_beside_the_interpreter(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    assert push.start(KEY) is None

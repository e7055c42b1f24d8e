"""The API key appears in no output, state, rendered config or error, even when a server
echoes it back."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import API_KEY
from tests.test_baseten_e2e import DEPLOY


def everything_written(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in tmp_path.rglob("*")
                    if p.is_file() and "home" not in p.parts)


def test_key_never_leaks_from_any_command(tuna, fake, tmp_path):
    runs = [
        tuna(*DEPLOY, "--dry-run", "rendered"),
        tuna(*DEPLOY, "--dry-run", "rendered-json", "--json"),
        tuna(*DEPLOY, "--json"),
        tuna("status", "--service-name", "qwen3-0-6b"),
        tuna("status", "--service-name", "qwen3-0-6b", "--json"),
        tuna("list"), tuna("list", "--all", "--json"),
        tuna("show-gpus"), tuna("show-gpus", "--gpu", "L4", "--json"),
        tuna("check", "--provider", "baseten"),
        tuna("destroy", "--service-name", "qwen3-0-6b"),
    ]
    fake.script = ("BUILDING", "DEPLOY_FAILED")
    fake.logs = ["crash loop"]
    runs.append(tuna(*DEPLOY, "--service-name", "failing"))
    runs.append(tuna("destroy", "--all", "--yes"))
    # A careless server echoing the Authorization header into its errors:
    fake.echo_auth = True
    fake.fail("POST", "/graphql/", 200, times=1)  # truss reports the GraphQL error
    echoed_push = tuna(*DEPLOY, "--service-name", "echoed")
    runs += [echoed_push, tuna("destroy", "--service-name", "echoed")]
    assert tuna(*DEPLOY, "--service-name", "echoed-rest", "--no-wait").code == 0
    fake.fail("DELETE", r"/v1/models/.*", 400, times=1)
    echoed_delete = tuna("destroy", "--service-name", "echoed-rest")
    runs.append(echoed_delete)

    assert [r.code for r in runs[:11]] == [0] * 11
    assert runs[11].code == 1 and echoed_push.code == 1 and echoed_delete.code == 1
    # The echo was there, and blanked:
    assert "injected fault for Bearer ***" in echoed_push.stderr
    assert "injected fault for Api-Key ***" in echoed_delete.stderr
    for run in runs:
        assert API_KEY not in run.stdout and API_KEY not in run.stderr
    assert API_KEY.encode() not in everything_written(tmp_path)
    assert (tmp_path / "rendered" / "config.yaml").is_file()

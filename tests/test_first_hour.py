"""The traps a new user met in their first hour with tuna (issue 22), each through the real CLI."""

from __future__ import annotations

NAME = "qwen3-0-6b"
DRY = ("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--dry-run", "out")


def test_provider_is_an_alias_of_serverless_provider(tuna):
    done = tuna(*DRY, "--provider", "baseten")
    assert done.code == 0, done.stderr
    assert "qwen3-0-6b-baseten" in done.stdout or "out" in done.stdout


def test_abbreviated_flags_are_not_guessed(tuna):
    done = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider",
                "baseten", "--dry")
    assert done.code == 2 and "unrecognized arguments: --dry" in done.stderr


def test_service_names_by_position(tuna, fake):
    assert tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider",
                "baseten", "--min-replicas", "1").code == 0
    status = tuna("status", NAME, "--json")
    assert status.code == 0 and status.json()["service_name"] == NAME
    assert tuna("cost", NAME, "--json").json()["service_name"] == NAME
    assert tuna("logs", NAME).code == 0
    assert tuna("wait", NAME).code == 0
    assert tuna("status", "--service-name", NAME).code == 0  # the flag still works
    differ = tuna("status", NAME, "--service-name", "other")
    assert differ.code == 2 and "differ" in differ.stderr
    missing = tuna("status")
    assert missing.code == 2 and "tuna status NAME" in missing.stderr
    assert tuna("destroy").code == 2
    assert tuna("destroy", NAME, "--yes").code == 0
    assert fake.model_named(NAME) is None


def test_list_remote_without_any_key_says_nothing_was_searched(tuna):
    none = {"BASETEN_API_KEY": "", "RUNPOD_API_KEY": "", "MODAL_TOKEN_ID": "",
            "GOOGLE_APPLICATION_CREDENTIALS": ""}
    done = tuna("list", "--remote", env=none)
    assert done.code == 1
    assert "No provider was searched" in done.stdout and "nothing is found" not in done.stdout
    one = tuna("list", "--remote", "--json", env={k: v for k, v in none.items()
                                                 if k != "BASETEN_API_KEY"})
    assert one.code == 0 and one.json()["searched"] == ["baseten"]


def test_show_gpus_for_one_provider_names_who_offers_the_gpu(tuna):
    done = tuna("show-gpus", "--provider", "baseten", "--gpu", "A4000")
    assert done.code == 0
    assert "baseten does not offer A4000; offered by: runpod." in done.stdout


def test_a_dry_run_never_writes_into_a_folder_holding_other_files(tuna, tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "README.md").write_text("mine")
    done = tuna(*DRY[:-1], "repo", "--serverless-provider", "baseten")
    assert done.code == 2 and "already holds other files" in done.stderr
    assert sorted(p.name for p in (tmp_path / "repo").iterdir()) == ["README.md"]
    assert tuna(*DRY[:-1], "repo", "--serverless-provider", "baseten", "--force").code == 0
    # Another model's render is not overwritten either; the same one is.
    assert tuna(*DRY, "--serverless-provider", "baseten").code == 0
    again = tuna(*DRY, "--serverless-provider", "baseten")
    assert again.code == 0, again.stderr
    other = tuna("deploy", "--model", "Qwen/Qwen2.5-0.5B-Instruct", "--gpu", "L4",
                 "--serverless-provider", "baseten", "--dry-run", "out")
    assert other.code == 2 and "holds tuna's render of qwen3-0-6b on baseten" in other.stderr


def test_only_providers_with_a_plugin_are_offered(tuna, tmp_path):
    """A catalog row whose provider has no plugin here is neither listed nor suggested: hide the
    built-in runpod plugin's entry point behind a distribution that registers nothing."""
    site = tmp_path / "site"
    (site / "tuna_llm-9.dist-info").mkdir(parents=True)
    (site / "tuna_llm-9.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: tuna-llm\n")
    (site / "tuna_llm-9.dist-info" / "entry_points.txt").write_text(
        "[tuna.providers]\nbaseten = tuna.providers.baseten.provider:BasetenProvider\n")
    env = {"PYTHONPATH": str(site)}
    shown = tuna("show-gpus", "--gpu", "A4000", env=env)
    assert "runpod" not in shown.stdout and "No provider in the catalog offers A4000." in shown.stdout
    refused = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L40S",
                   "--serverless-provider", "baseten", "--dry-run", "out", env=env)
    assert refused.code == 2 and "offered by: no provider" in refused.stderr


def test_a_missing_key_is_exit_1_on_every_path(tuna, state_dir):
    from tuna.models import DeployRequest, Record, Status
    from tuna.state import StateStore

    StateStore(state_dir).create(Record("svc", "baseten", Status.ACTIVE, DeployRequest(
        "Qwen/Qwen3-0.6B", "L4", service_name="svc"), provider_ids={"model_id": "m1"}))
    none = {"BASETEN_API_KEY": "", "RUNPOD_API_KEY": "", "MODAL_TOKEN_ID": "",
            "GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/key.json"}
    deploy = ("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--skip-model-check")
    for args in (deploy, (*deploy, "--serverless-provider", "baseten"), ("status", "svc"),
                 ("logs", "svc"), ("cost", "svc"), ("destroy", "svc", "--yes"),
                 ("check", "--provider", "baseten"), ("list", "--remote")):
        done = tuna(*args, env=none)
        assert done.code == 1, (args, done.code, done.stderr)


def test_wording_a_new_user_meets(tuna):
    for typed, hint in (("help", "(did you mean `tuna --help`?)"),
                        ("version", "(did you mean `tuna -V`?)"),
                        ("rm", "(did you mean `tuna destroy`?)")):
        done = tuna(typed)
        assert done.code == 2 and hint in done.stderr
        assert "tuna: error: tuna:" not in done.stderr  # no doubled prefix
    assert "(did you mean L4?)" in tuna("show-gpus", "--gpu", "L5").stderr
    # The provider ids show-gpus prints name the GPU too.
    assert tuna("show-gpus", "--gpu", "NVIDIA L4").code == 0
    from tests.conftest import ROOT

    from tuna import registry

    patterns = (ROOT / ".gitignore").read_text().split()  # every provider's render is ignored
    renders = {f"*-{name}/" for name in registry.names()} | {"*-hybrid/"}
    assert {"*-baseten/", "*-cloudrun/"} <= renders <= set(patterns)


def test_cost_and_status_speak_in_whole_words(tuna, fake):
    assert tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider",
                "baseten", "--min-replicas", "1").code == 0
    status = tuna("status", NAME).stdout
    assert "(1 active replica x 1 x L4)" in status
    cost = tuna("cost", NAME).stdout
    assert "replica counts tuna observed" in cost and "(deploy, status" not in cost
    assert "(1 replica the whole time)" in cost


def test_help_says_what_a_new_user_needs(tuna):
    deploy = " ".join(tuna("deploy", "--help").stdout.split())  # argparse wraps lines
    assert "one of baseten, cloudrun, modal, runpod" in deploy
    from tests.conftest import ROOT

    table = (ROOT / "README.md").read_text().split("### `tuna deploy`")[1].split("### ")[0]
    assert "| `--yes` |" in table
    # Poll-interval variables only where tuna polls.
    assert "TUNA_POLL_INTERVAL" in tuna("wait", "--help").stdout
    assert "TUNA_POLL_INTERVAL" in tuna("destroy", "--help").stdout
    for quiet in ("status", "cost", "list"):
        assert "TUNA_POLL_INTERVAL" not in tuna(quiet, "--help").stdout, quiet


def test_a_hub_outage_for_config_json_is_said_as_such_and_soon(tuna, fake, hub):
    import time

    hub.files_unavailable = True
    started = time.monotonic()
    done = tuna("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider",
                "baseten", "--no-wait")
    assert done.code == 1
    assert "the Hugging Face Hub is unavailable (HTTP 503 for config.json)" in done.stderr
    assert "has no config.json" not in done.stderr and fake.models == {}
    assert time.monotonic() - started < 15  # not the ~23 s of hf_hub_download's retries


def test_a_name_that_does_not_resolve_fails_at_once(tuna, state_dir):
    import time

    from tuna.models import DeployRequest, Record, Status
    from tuna.state import StateStore

    StateStore(state_dir).create(Record("svc", "baseten", Status.ACTIVE, DeployRequest(
        "Qwen/Qwen3-0.6B", "L4", service_name="svc"), provider_ids={"model_id": "m1"}))
    started = time.monotonic()
    done = tuna("status", "svc", env={"BASETEN_API_URL": "http://no-such-host.invalid"})
    assert done.code == 1 and "ConnectionError" in done.stderr
    assert "retrying" not in done.stderr
    assert time.monotonic() - started < 5  # was ~9 s of silent retries


def test_a_long_retry_pause_is_said(monkeypatch, capsys):
    from urllib3.response import HTTPResponse
    from urllib3.util import retry as urllib3_retry

    from tuna.http_client import _retry

    slept = []
    monkeypatch.setattr(urllib3_retry.time, "sleep", slept.append)
    busy = HTTPResponse(status=429, headers={"Retry-After": "3"})
    _retry().increment("GET", "/v1/models", response=busy).sleep(busy)
    assert slept == [3] and "tuna: HTTP 429; retrying in 3 s" in capsys.readouterr().err
    _retry().sleep(None)  # the first backoff is short: said nothing
    assert capsys.readouterr().err == ""


def test_every_refusal_at_once_the_missing_key_first(tuna, fake, hub):
    # A gated 70B model on one L4 without a key: the key, the token and the size together.
    done = tuna("deploy", "--model", "meta-llama/Llama-3.3-70B-Instruct", "--gpu", "L4",
                "--serverless-provider", "baseten", "--max-model-len", "999999",
                env={"BASETEN_API_KEY": "", "HF_TOKEN": hub.token})
    assert done.code == 1
    first = done.stderr.splitlines()[0]
    assert first.startswith("tuna: error: baseten preflight failed: API key; and the model:")
    for reason in ("is gated and no Hugging Face token will reach baseten",
                   "--max-model-len 999999 exceeds", "it does not fit"):
        assert reason in first, reason
    assert "BASETEN_API_KEY is not set" in done.stderr
    assert fake.models == {}


def test_a_misspelled_model_gets_a_suggestion_from_the_hubs_search(tuna, hub):
    done = tuna("deploy", "--model", "Qwen/Qwen3-06B", "--gpu", "L4", "--serverless-provider",
                "baseten", "--dry-run", "out")
    assert done.code == 2
    assert "--model: Qwen/Qwen3-06B does not exist on the Hugging Face Hub" in done.stderr
    assert "(did you mean Qwen/Qwen3-0.6B" in done.stderr  # the closest first
    assert any(path.startswith("/api/models?") for _, path in hub.requests)


def test_uv_run_prints_nothing_of_its_own_once_installed():
    """uv's compile-bytecode setting recompiles the whole venv on every `uv run`
    (astral-sh/uv#12202), printing "Bytecode compiled N files" before tuna's output: the README
    compiles once, at sync."""
    import os
    import shutil
    import subprocess

    from tests.conftest import ROOT

    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "the tests run under `uv run`, which names itself in UV"
    done = subprocess.run([uv, "run", "--locked", "--offline", "--all-extras", "python", "-c",
                           "pass"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    readme = (ROOT / "README.md").read_text()
    assert "uv sync --locked --extra baseten --compile-bytecode" in readme

"""The CLI as a new user meets it: help, mistakes, prompts, pipes and narrow terminals."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import time

import pytest

from tests.test_baseten_e2e import DEPLOY
from tuna import cli
from tuna.cli_parser import HelpFormatter
from tuna.models import DeployRequest, Scaling

DRY = (*DEPLOY, "--dry-run")


def test_bare_tuna_lists_each_command_on_one_line_and_exits_2(tuna):
    done = tuna()
    assert done.code == 2 and done.stdout == ""
    for name, command in cli.COMMANDS.items():
        assert re.search(rf"^  {re.escape(name)}\s+{re.escape(command.help)}$", done.stderr, re.M)


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_command_help_has_an_example_and_documents_every_option(tuna, name):
    done = tuna(name, "--help")
    assert done.code == 0, done.stderr
    assert f"example:\n  tuna {name}" in done.stdout
    parser = cli.COMMANDS[name].parser(with_epilog=False)
    for action in parser._actions:
        assert action.help, f"tuna {name} {action.option_strings} has no help"
    if cli.COMMANDS[name].environment.names:
        assert "environment:" in done.stdout and "TUNA_DEBUG" in done.stdout


def test_help_defaults_come_from_the_request_dataclasses(tuna):
    text = " ".join(tuna("deploy", "--help").stdout.split())
    request, scaling = DeployRequest("Qwen/Qwen3-0.6B", "L4"), Scaling()
    for flag, value in [("--max-model-len", request.max_model_len), ("--tp-size", request.tp_size),
                        ("--concurrency", scaling.concurrency),
                        ("--scale-down-delay", scaling.scale_down_delay),
                        ("--revision", request.revision)]:
        assert re.search(rf"{flag} \S+ .*?\(default: {value}\)", text), flag
    # Provider plugins' environment is documented where the commands read it.
    assert "BASETEN_API_KEY" in text and "TUNA_STATE_DIR" in text


def test_help_formatter_leaves_out_empty_defaults():
    parser = cli.COMMANDS["deploy"].parser(with_epilog=False)
    assert parser.formatter_class is HelpFormatter
    text = parser.format_help()
    assert "(default: None)" not in text and "(default: False)" not in text


@pytest.mark.parametrize("target, message", [
    ("a-file", "is a file, not a directory"),
    ("a-file/below", "cannot write to a-file/below"),
    ("/proc/tuna-cannot-be-here", "cannot write to /proc/tuna-cannot-be-here"),
])
def test_dry_run_into_an_unusable_place_is_a_usage_error(tuna, tmp_path, target, message):
    (tmp_path / "a-file").write_text("mine")
    done = tuna(*DRY, target)
    assert done.code == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "internal error" not in done.stderr
    assert (tmp_path / "a-file").read_text() == "mine"


def test_dry_run_never_overwrites_a_config_it_did_not_render(tuna, tmp_path):
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "config.yaml").write_text("model_name: handmade\n")
    refused = tuna(*DRY, "theirs")
    assert refused.code == 2
    assert "theirs already holds other files" in refused.stderr
    assert (tmp_path / "theirs" / "config.yaml").read_text() == "model_name: handmade\n"
    assert tuna(*DRY, "mine").code == 0
    assert tuna(*DRY, "mine").code == 0  # its own files: rendered again
    other = tuna(*DRY, "mine", "--service-name", "other")
    assert other.code == 2 and "holds tuna's render of qwen3-0-6b on baseten" in other.stderr
    forced = tuna(*DRY, "theirs", "--force")
    assert forced.code == 0, forced.stderr
    assert "model_name: \"qwen3-0-6b\"" in (tmp_path / "theirs" / "config.yaml").read_text()


def test_dry_run_default_directory_names_service_and_provider(tuna, tmp_path):
    done = tuna(*DRY, "--json")
    assert done.code == 0, done.stderr
    result = done.json()
    assert result["directory"] == "qwen3-0-6b-baseten"
    assert result["validated_by"].startswith("truss 0.18.")
    assert (tmp_path / "qwen3-0-6b-baseten" / "config.yaml").is_file()


def run_in_terminal(tuna_env, tmp_path, args, typed: bytes, columns: int = 80):
    """Run tuna with a pseudo-terminal as stdin and stdout, type `typed`, return (code, screen)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "tuna", *args], stdin=terminal,
                               stdout=terminal, stderr=terminal, cwd=tmp_path,
                               env={**tuna_env, "COLUMNS": str(columns), "TERM": "xterm"})
    os.close(terminal)
    screen, deadline = b"", time.monotonic() + 60
    if typed:
        while b"[y/N]" not in screen and time.monotonic() < deadline:
            screen += os.read(controller, 4096)
        os.write(controller, typed)
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        screen += chunk
    os.close(controller)
    return process.wait(timeout=60), screen.decode(errors="replace")


@pytest.mark.parametrize("typed, code, said", [
    (b"n\n", 0, "Nothing destroyed."),
    (b"\x04", 2, "no answer (end of input); nothing was destroyed"),
])
def test_destroy_all_prompt_no_and_ctrl_d(tuna_env, tuna, fake, tmp_path, typed, code, said):
    assert tuna(*DEPLOY, "--no-wait").code == 0
    exit_code, screen = run_in_terminal(tuna_env, tmp_path, ["destroy", "--all"], typed)
    assert exit_code == code, screen
    assert said in screen and "internal error" not in screen
    assert fake.model_named("qwen3-0-6b") is not None
    assert tuna("destroy", "--all", "--yes").code == 0


def test_list_at_80_columns_shows_whole_service_names(tuna_env, tuna, fake, tmp_path):
    name = "a-rather-long-service-name-for-qwen3-0-6b-on-l4"
    assert tuna(*DEPLOY, "--service-name", name, "--no-wait").code == 0
    code, screen = run_in_terminal(tuna_env, tmp_path, ["list"], b"", columns=80)
    assert code == 0 and name in screen
    visible = re.sub(r"\x1b\[[0-9;]*m", "", screen)
    assert max(len(line.rstrip("\r")) for line in visible.splitlines()) <= 80
    assert "…" not in visible


def test_closed_pipe_ends_quietly(tuna_env, tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head -1` that has already gone
    done = subprocess.run([sys.executable, "-m", "tuna", "show-gpus", "--json"], stdout=write_end,
                          stderr=subprocess.PIPE, text=True, env=tuna_env, cwd=tmp_path)
    os.close(write_end)
    assert done.returncode == 141 and done.stderr == ""


def test_json_on_check_logs_and_destroy_with_iso_timestamps(tuna, fake):
    check = tuna("check", "--provider", "baseten", "--json")
    assert check.code == 0, check.stderr
    assert check.json()["ok"] is True
    assert [c["name"] for c in check.json()["checks"]] == ["API key", "truss"]
    assert tuna(*DEPLOY, "--no-wait").code == 0
    fake.logs = ["boot"]
    logs = tuna("logs", "--service-name", "qwen3-0-6b", "--json")
    assert logs.code == 0, logs.stderr
    import json

    (line,) = [json.loads(text) for text in logs.stdout.splitlines()]
    assert line["message"] == "boot" and re.fullmatch(r"\d{4}-.*T.*\+00:00", line["timestamp"])
    (record,) = tuna("list", "--json").json()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", record["created_at"])
    destroyed = tuna("destroy", "--service-name", "qwen3-0-6b", "--json")
    assert destroyed.code == 0 and destroyed.json() == {"destroyed": ["qwen3-0-6b"], "failed": {}}


def test_install_hints_say_what_works_for_the_way_tuna_was_installed(tmp_path):
    """From a checkout (PEP 610's direct_url.json says so) the hint names that checkout, not
    a distribution no index has; from an index, the distribution."""
    import json

    from tests.conftest import ROOT
    from tuna import registry
    from tuna.providers.baseten.checks import truss_fix

    hint = registry.plugin("baseten").install_hint()
    assert hint == truss_fix() == (f"uv sync --extra baseten in {ROOT} "
                                   f"(or pip install '{ROOT}[baseten]')")
    indexed = tmp_path / "tuna_llm-0.2.0.dist-info"
    indexed.mkdir()
    (indexed / "METADATA").write_text("Metadata-Version: 2.1\nName: tuna-llm\n")
    plugin = registry.Plugin("baseten", "m", "C", ("baseten",), str(indexed))
    assert plugin.install_hint() == "pip install 'tuna-llm[baseten]'"
    (indexed / "direct_url.json").write_text(json.dumps({"url": "file:///src/tuna"}))
    assert plugin.install_hint().startswith("uv sync --extra baseten in /src/tuna")


def test_every_providers_curl_example_is_one_valid_shell_command():
    import shlex

    from tuna.providers.baseten.endpoint import curl_example
    from tuna.providers.cloudrun.provider import _example as cloudrun_example
    from tuna.providers.modal.provider import _example as modal_example
    from tuna.providers.runpod.provider import _example as runpod_example

    examples = [curl_example("https://b/v1", "Q/m"), runpod_example("https://r/v1", "Q/m"),
                *(example("https://x.run.app", "Q/m", public) for example in
                  (modal_example, cloudrun_example) for public in (True, False))]
    for example in examples:
        command = example.split("\n(")[0]  # a note may follow on its own line
        words = shlex.split(command.replace("\\\n", " "))  # as the shell joins lines
        # curl URL, then only -H HEADER pairs, then -d BODY: no stray words.
        assert words[:2] == ["curl", words[1]] and words[1].endswith("/chat/completions")
        assert words[2:-2:2] == ["-H"] * len(words[2:-2:2]) and words[-2] == "-d", words

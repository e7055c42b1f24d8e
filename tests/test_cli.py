from __future__ import annotations

import re
import sys

import pytest

from tuna.models import DeployRequest, Record, Status
from tuna.state import StateStore

HEAVY = ("truss", "boto3", "pydantic", "modal", "grpclib", "google")
# What the light commands leave out to start fast (benchmarks/README.md): rich's import is most
# of their budget, and importlib.metadata's a large part of the rest.
LIGHT_SKIPS = (*HEAVY, "rich", "importlib.metadata", "requests")


def seed(state_dir, name="svc", status=Status.ACTIVE, ids=None):
    store = StateStore(state_dir)
    store.create(Record(name, "baseten", status, DeployRequest("Qwen/Qwen3-0.6B", "L4",
                                                               service_name=name)))
    return store.update(name, status=status, provider_ids=ids or {})


def imported(tuna, *args, env=None) -> set[str]:
    """Packages and modules a tuna command imports (from python -X importtime), each with its
    top-level package."""
    done = tuna(*args, env={"PYTHONPROFILEIMPORTTIME": "1", **(env or {})})
    names = {m.group(1) for m in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)",
                                             done.stderr, re.M)}
    return names | {name.split(".")[0] for name in names}


@pytest.mark.parametrize("args", [("--help",), ("show-gpus",), ("show-gpus", "--gpu", "L4"),
                                  ("list",), ("list", "--all", "--json"), ("deploy", "--help")])
def test_light_commands_import_nothing_heavy(tuna, args):
    modules = imported(tuna, *args)
    assert "tuna" in modules  # the probe works
    assert not modules & set(LIGHT_SKIPS), modules & set(LIGHT_SKIPS)


def test_deploy_keeps_truss_out_of_the_tuna_process(tuna, fake):
    """truss runs as its own processes (validation, push): tuna's memory stays small while it
    waits on a deployment for up to half an hour."""
    dry = imported(tuna, "deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--dry-run")
    assert "tuna" in dry and not dry & set(HEAVY)
    real = imported(tuna, "deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4",
                    "--serverless-provider", "baseten", "--no-wait")
    assert fake.model_named("qwen3-0-6b") is not None  # the deploy really happened
    assert "requests" in real and not real & set(HEAVY)


def test_status_and_destroy_import_nothing_heavy(tuna, fake, state_dir):
    model = fake.add_model("svc")
    seed(state_dir, ids={"model_id": model.id, "deployment_id": model.production_id})
    assert not imported(tuna, "status", "--service-name", "svc") & {*HEAVY, "rich"}
    modules = imported(tuna, "destroy", "--service-name", "svc")
    assert "requests" in modules and not modules & {*HEAVY, "rich"}
    assert fake.model_named("svc") is None


def test_show_gpus_json_shape(tuna):
    done = tuna("show-gpus", "--gpu", "l4", "--json")
    assert done.code == 0
    offers = done.json()
    assert [(o["provider"], o["provider_gpu_id"], o["price_per_gpu_hour"], o["deployable"])
            for o in offers] == [("runpod", "NVIDIA L4", 0.684, True), ("modal", "L4", 0.7992, True),
                                 ("baseten", "L4", 0.85, True),
                                 ("cloudrun", "nvidia-l4", 1.42, True)]  # the instance's price
    baseten = offers[2]
    assert (baseten["billing_unit"], baseten["vram_gb"], baseten["unavailable"]) == ("minute", 24, None)
    assert baseten["source"] and baseten["date"]
    assert "8 vCPU, 32 GiB" in offers[3]["note"]
    every = tuna("show-gpus", "--provider", "baseten", "--json").json()
    assert len(every) == 9 and {o["provider"] for o in every} == {"baseten"}


def test_show_gpus_names_baseten_beside_others_and_the_cheapest(tuna):
    done = tuna("show-gpus", "--gpu", "L4")
    assert done.code == 0
    rows = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert "$0.85" in rows["baseten"] and "$0.80" in rows["modal"] and "$1.42" in rows["cloudrun"]
    assert "(not installed)" not in done.stdout  # every catalog provider has its plugin now
    assert "Cheapest deployable: runpod at $0.68/GPU-hour" in done.stdout


def test_show_gpus_matrix_marks_cheapest(tuna):
    done = tuna("show-gpus")
    row = next(line for line in done.stdout.splitlines() if line.startswith("H100 "))
    assert "$3.95*" in row and row.rstrip().endswith("$4.18")  # modal, installed, is cheapest


@pytest.mark.parametrize("args, message", [
    (("show-gpus", "--gpu", "Z9"), "--gpu: unknown GPU 'Z9'"),
    (("show-gpus", "--provider", "aws"), "unknown provider 'aws'"),
    (("deploy", "--gpu", "L4"), "the following arguments are required: --model"),
    (("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--tp-size", "two"),
     "argument --tp-size: expected a whole number, got 'two'"),
    (("deploy", "--model", "Qwen/Qwen3-0.6B", "--gpu", "L4", "--timeout", "soon"),
     "argument --timeout: expected a duration"),
    (("status",), "which service? `tuna status NAME`"),
    (("destroy",), "name one service (`tuna destroy NAME`) or pass --all"),
    (("status", "--service-name", "ghost"), "no service named 'ghost'"),
    (("frobnicate",), "unknown command 'frobnicate'"),
    (("deplyo",), "unknown command 'deplyo' (did you mean deploy?)"),
    (("list", "--frobnicate"), "unrecognized arguments: --frobnicate (see `tuna list --help`)"),
    (("--json",), "unknown option '--json'"),
])
def test_usage_errors_are_one_line_and_exit_2(tuna, args, message):
    done = tuna(*args)
    assert done.code == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tuna")
    assert message in lines[0]


def test_list_json_shape(tuna, state_dir):
    seed(state_dir, "a", ids={"model_id": "m1", "deployment_id": "d1"})
    seed(state_dir, "b", status=Status.DESTROYED)
    listed = tuna("list", "--json").json()
    assert [r["service_name"] for r in listed] == ["a"]
    assert {"service_name", "provider", "status", "model_id", "deployment_id", "endpoint_url",
            "model", "gpu", "gpu_count"} <= set(listed[0])
    assert [r["service_name"] for r in tuna("list", "--all", "--json").json()] == ["a", "b"]


def test_list_human(tuna, state_dir):
    assert "No services" in tuna("list").stdout
    seed(state_dir, "a")
    assert re.search(r"a\s+baseten\s+active\s+Qwen/Qwen3-0.6B\s+1 x L4", tuna("list").stdout)


def test_status_json_reconciles_state_with_remote(tuna, fake, state_dir):
    model = fake.add_model("svc", script=("SCALED_TO_ZERO",))
    seed(state_dir, status=Status.DEPLOYING,
         ids={"model_id": model.id, "deployment_id": model.production_id})
    done = tuna("status", "--service-name", "svc", "--json")
    assert done.code == 0, done.stderr
    status = done.json()
    assert status["status"] == "active" and status["provider_status"] == "SCALED_TO_ZERO"
    assert status["active_replicas"] == 0
    assert status["endpoint_url"].startswith(f"https://model-{model.id}.")
    assert StateStore(state_dir).get("svc").status is Status.ACTIVE


def test_status_of_model_deleted_elsewhere_says_so(tuna, fake, state_dir):
    seed(state_dir, ids={"model_id": "gone", "deployment_id": "d0"})
    done = tuna("status", "--service-name", "svc")
    assert done.code == 0
    assert "destroyed" in done.stdout and "no longer exists" in done.stdout


def test_destroy_all_asks_and_refuses_without_a_terminal(tuna, fake, state_dir):
    seed(state_dir, "a", ids={"model_id": fake.add_model("a").id})
    done = tuna("destroy", "--all")
    assert done.code == 2 and "stdin is not a terminal" in done.stderr
    assert fake.model_named("a") is not None
    assert tuna("destroy", "--all", "--yes").code == 0
    assert fake.model_named("a") is None and tuna("list", "--json").json() == []


def test_failed_delete_keeps_record_and_exits_1(tuna, fake, state_dir):
    model = fake.add_model("svc")
    seed(state_dir, ids={"model_id": model.id})
    fake.delete_keeps_model = True
    done = tuna("destroy", "--service-name", "svc")
    assert done.code == 1
    assert "still lists model" in done.stderr and "tuna destroy --service-name svc" in done.stderr
    assert StateStore(state_dir).get("svc").status is Status.ACTIVE


def test_module_and_script_entry_points(tuna):
    import tomllib

    from tests.conftest import ROOT

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "tuna-llm"  # `tuna` on the package index is a profile viewer
    assert tuna("--version").stdout.strip() == f"tuna {project['version']}"
    assert tuna("-V").stdout.strip() == f"tuna {project['version']}"
    scripts = __import__("pathlib").Path(sys.executable).parent
    assert (scripts / "tuna").is_file()

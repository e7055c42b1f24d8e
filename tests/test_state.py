from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from tuna.errors import StateError, UsageError
from tuna.models import DeployRequest, Record, Status
from tuna.state import SCHEMA_VERSION, StateStore


def record(name: str = "svc", status: Status = Status.PENDING) -> Record:
    return Record(name, "baseten", status, DeployRequest("Qwen/Qwen3-0.6B", "L4", service_name=name))


def test_lifecycle(tmp_path):
    store = StateStore(tmp_path)
    store.create(record())
    store.update("svc", status=Status.DEPLOYING, provider_ids={"model_id": "m1"})
    store.update("svc", provider_ids={"deployment_id": "d1"}, endpoint_url="https://e")
    got = StateStore(tmp_path).get("svc")  # a fresh connection sees it
    assert got.status is Status.DEPLOYING
    assert got.provider_ids == {"model_id": "m1", "deployment_id": "d1"}
    assert got.endpoint_url == "https://e"
    assert got.request == record().request
    store.update("svc", status=Status.DESTROYED)
    assert store.list() == [] and [r.service_name for r in store.list(include_destroyed=True)] == ["svc"]


def test_live_name_cannot_be_reused_but_destroyed_can(tmp_path):
    store = StateStore(tmp_path)
    store.create(record())
    with pytest.raises(UsageError, match="already exists"):
        store.create(record())
    store.update("svc", status=Status.DESTROYED)
    store.create(record())
    assert store.get("svc").status is Status.PENDING


def test_unknown_service(tmp_path):
    with pytest.raises(UsageError, match="no service named 'nope'"):
        StateStore(tmp_path).require("nope")


def _create_many(directory: str, prefix: str, count: int) -> None:
    store = StateStore(__import__("pathlib").Path(directory))
    for i in range(count):
        store.create(record(f"{prefix}-{i}"))
        store.update(f"{prefix}-{i}", status=Status.DEPLOYING, provider_ids={"model_id": f"{prefix}{i}"})


def test_concurrent_writers_in_several_processes(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_create_many, args=(str(tmp_path), f"w{n}", 25)) for n in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    records = StateStore(tmp_path).list()
    assert len(records) == 100
    assert all(r.status is Status.DEPLOYING and r.provider_ids for r in records)


def _claim(directory: str, results) -> None:
    try:
        StateStore(__import__("pathlib").Path(directory)).create(record("contested"))
        results.put("won")
    except UsageError:
        results.put("refused")


def test_one_name_claimed_by_exactly_one_process(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    workers = [ctx.Process(target=_claim, args=(str(tmp_path), results)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    outcomes = sorted(results.get(timeout=5) for _ in workers)
    assert outcomes == ["refused", "refused", "refused", "won"]


def test_damaged_database_is_a_clear_error(tmp_path):
    (tmp_path / "state.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError, match="cannot be used .*keep the file"):
        StateStore(tmp_path).list()


def test_newer_schema_is_a_clear_error(tmp_path):
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StateError, match="newer than this tuna understands"):
        StateStore(tmp_path).list()


def test_state_file_is_private(tmp_path):
    StateStore(tmp_path).create(record())
    assert (tmp_path / "state.db").stat().st_mode & 0o077 == 0


def _merge_ids(directory: str, prefix: str) -> None:
    store = StateStore(directory)
    for i in range(300):
        store.update("svc", provider_ids={f"{prefix}{i}": "x"})


def test_concurrent_updates_of_one_record_lose_no_ids(tmp_path):
    StateStore(tmp_path).create(record())
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_merge_ids, args=(str(tmp_path), p)) for p in ("a", "b")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    assert len(StateStore(tmp_path).get("svc").provider_ids) == 600

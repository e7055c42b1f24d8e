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


V1_SCHEMA = """
CREATE TABLE services (service_name TEXT PRIMARY KEY, provider TEXT NOT NULL,
    status TEXT NOT NULL, request TEXT NOT NULL, provider_ids TEXT NOT NULL DEFAULT '{}',
    endpoint_url TEXT, error TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE observations (service_name TEXT NOT NULL, at REAL NOT NULL,
    active_replicas INTEGER NOT NULL);
CREATE INDEX observations_by_service ON observations (service_name, at);
"""


def test_a_version_1_database_is_migrated_with_its_records_and_observations(tmp_path):
    import json

    with sqlite3.connect(tmp_path / "state.db") as db:
        db.executescript(V1_SCHEMA)
        db.execute("INSERT INTO services VALUES ('svc', 'baseten', 'active', ?, ?, NULL, NULL, "
                   "1000, 2000)", (json.dumps(record().request.to_json()),
                                   json.dumps({"model_id": "m1"})))
        db.execute("INSERT INTO observations VALUES ('svc', 1500, 1)")
        db.execute("PRAGMA user_version = 1")
    store = StateStore(tmp_path)
    (migrated,) = store.list()
    assert (migrated.service_name, migrated.status, migrated.provider_ids) == (
        "svc", Status.ACTIVE, {"model_id": "m1"})
    assert store.observations(migrated) == [(1500.0, 1, None)]  # priced at its GPU, as before
    store.update("svc", status=Status.DESTROYED)
    store.create(record())  # the name is free again, and the old record stays as history
    assert [r.status for r in store.list(include_destroyed=True)] == [Status.DESTROYED,
                                                                       Status.PENDING]


V2_SCHEMA = """
CREATE TABLE services (id INTEGER PRIMARY KEY AUTOINCREMENT, service_name TEXT NOT NULL,
    provider TEXT NOT NULL, status TEXT NOT NULL, request TEXT NOT NULL,
    provider_ids TEXT NOT NULL DEFAULT '{}', location TEXT NOT NULL DEFAULT '{}',
    candidate_request TEXT, endpoint_url TEXT, error TEXT, created_at REAL NOT NULL,
    updated_at REAL NOT NULL);
CREATE UNIQUE INDEX one_live_service_per_name ON services (service_name)
    WHERE status != 'destroyed';
CREATE TABLE observations (service_id INTEGER NOT NULL REFERENCES services (id),
    at REAL NOT NULL, active_replicas INTEGER NOT NULL, replica_price_per_hour REAL);
CREATE INDEX observations_by_service ON observations (service_id, at);
"""


def test_a_version_2_database_gains_hybrid_legs_keeping_its_records(tmp_path):
    from dataclasses import replace

    with sqlite3.connect(tmp_path / "state.db") as db:
        v2 = V2_SCHEMA
        assert "parent_id" not in v2
        db.executescript(v2)
        db.execute("INSERT INTO services (service_name, provider, status, request, created_at, "
                   "updated_at) VALUES ('svc', 'baseten', 'active', ?, 1000, 2000)",
                   (__import__("json").dumps(record().request.to_json()),))
        db.execute("INSERT INTO observations VALUES (1, 1500, 1, 0.85)")
        db.execute("PRAGMA user_version = 2")
    store = StateStore(tmp_path)
    (old,) = store.list()
    assert store.observations(old) == [(1500.0, 1, 0.85)]
    assert store.on_demand_observations(old) == [(1500.0, 0)]
    assert (old.service_name, old.parent_id, old.hybrid) == ("svc", None, None)
    parent = store.create(replace(record(), service_name="hy", provider="hybrid",
                                  hybrid={"router": "local"}))
    leg = store.create(replace(record(), service_name="hy-spot", provider="skyserve",
                               parent_id=parent.id))
    assert [r.service_name for r in store.legs(parent)] == ["hy-spot"]
    assert store.get("hy").hybrid == {"router": "local"} and store.get("hy-spot").parent_id == \
        parent.id == leg.parent_id

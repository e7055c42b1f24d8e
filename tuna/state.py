"""Local state: one SQLite record per service, safe for several tuna processes at once."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from dataclasses import replace

from tuna.errors import NameTaken, StateError, UsageError
from tuna.models import DeployRequest, Record, Status
from tuna.state_schema import MIGRATIONS, SCHEMA_VERSION

KEEP = object()  # update(): leave this field as it is
# How long a writer waits for another tuna process to finish its write.
BUSY_TIMEOUT_S = 15.0


@contextlib.contextmanager
def _immediate(conn: sqlite3.Connection):
    """A write transaction that takes the lock up front, so concurrent writers queue cleanly."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def default_dir() -> str:
    # os.path, not pathlib: `tuna list` should not pay for importing it.
    return os.path.expanduser(os.environ.get("TUNA_STATE_DIR") or "~/.tuna")


def _from_row(row: sqlite3.Row) -> Record:
    return Record(
        service_name=row["service_name"],
        provider=row["provider"],
        status=Status(row["status"]),
        request=DeployRequest.from_json(json.loads(row["request"])),
        provider_ids=json.loads(row["provider_ids"]),
        location=json.loads(row["location"]),
        id=row["id"],
        candidate=row["candidate_request"] and DeployRequest.from_json(
            json.loads(row["candidate_request"])),
        endpoint_url=row["endpoint_url"],
        error=row["error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        parent_id=row["parent_id"],
        hybrid=json.loads(row["hybrid"]) if row["hybrid"] else None,
    )


class StateStore:
    """Records by name: the live one, or else the newest destroyed one (history is kept)."""

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = os.fspath(directory or default_dir())
        self.path = os.path.join(self.directory, "state.db")
        self.read_only = False
        self._conn: sqlite3.Connection | None = None

    def _fail(self, exc: sqlite3.Error) -> StateError:
        # Never advise discarding the database: it may be the only map of live, billed models.
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return StateError(f"state database {self.path} is locked by another process; try again")
        if self.read_only or (isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc)):
            return StateError(f"state database {self.path} is read-only, so tuna can show it but "
                              "not change it; make it and its directory writable")
        return StateError(f"state database {self.path} cannot be used ({exc}); keep the file: it "
                          "is tuna's map of what it created (`tuna list --remote` finds them too)")

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self._conn = self._open_writable()
            except (sqlite3.OperationalError, PermissionError) as exc:
                if not os.path.isfile(self.path):
                    raise self._fail(exc) if isinstance(exc, sqlite3.Error) else StateError(
                        f"cannot open state directory {self.directory}: {exc.strerror}") from None
                self._conn = self._open_read_only()
            except sqlite3.Error as exc:
                raise self._fail(exc) from None
            except OSError as exc:
                raise StateError(f"cannot open state directory {self.directory}: "
                                 f"{exc.strerror}") from None
        return self._conn

    def _open_writable(self) -> sqlite3.Connection:
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_read_only(self) -> sqlite3.Connection:
        """A healthy database in a place tuna cannot write: readable all the same. `immutable`
        because a WAL database needs its -shm file, which a read-only directory cannot hold."""
        self.read_only = True
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True,
                                   isolation_level=None)
            conn.row_factory = sqlite3.Row
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise self._fail(exc) from None
        if version != SCHEMA_VERSION:
            raise StateError(f"state database {self.path} is read-only and has schema v{version}; "
                             f"this tuna needs v{SCHEMA_VERSION}: make it writable once to upgrade")
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StateError(
                f"state database {self.path} has schema v{version}, newer than this tuna "
                f"understands (v{SCHEMA_VERSION}); upgrade tuna"
            )
        if version == SCHEMA_VERSION:
            return
        with _immediate(conn):
            # Another process may have migrated while we waited for the lock.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version < SCHEMA_VERSION:
                for statement in filter(str.strip, MIGRATIONS[version].split(";")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("PRAGMA journal_mode = WAL")
        os.chmod(self.path, 0o600)

    def _run(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        try:
            return self._connect().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    def _write(self):
        """A write transaction; a store opened read-only says so instead."""
        conn = self._connect()
        if self.read_only:
            raise self._fail(sqlite3.OperationalError("readonly"))
        return _immediate(conn)

    def get(self, service_name: str) -> Record | None:
        """The live record of that name, or else its newest one."""
        rows = self._run("SELECT * FROM services WHERE service_name = ? "
                         "ORDER BY status != 'destroyed' DESC, id DESC LIMIT 1", (service_name,))
        return _from_row(rows[0]) if rows else None

    def require(self, service_name: str) -> Record:
        record = self.get(service_name)
        if record is None:
            raise self._unknown(service_name)
        return record

    def _unknown(self, service_name: str) -> UsageError:
        return UsageError(f"no service named {service_name!r} in {self.path} (see `tuna list`)")

    def list(self, include_destroyed: bool = False) -> list[Record]:
        rows = self._run("SELECT * FROM services ORDER BY created_at, id")
        records = [_from_row(row) for row in rows]
        return [r for r in records if include_destroyed or r.is_live]

    def create(self, record: Record) -> Record:
        """Store a new record; refuse if a live one has the same name. Atomic across processes."""
        now = time.time()
        record = replace(record, created_at=now, updated_at=now)
        try:
            with self._write() as conn:
                row = conn.execute(
                    "SELECT status, request FROM services WHERE service_name = ? AND "
                    "status != 'destroyed'", (record.service_name,)).fetchone()
                if row:
                    raise NameTaken(record.service_name, row["status"],
                                    json.loads(row["request"])["model"], record.request.model)
                cursor = conn.execute(
                    "INSERT INTO services (service_name, provider, status, request, provider_ids, "
                    "location, endpoint_url, error, created_at, updated_at, parent_id, hybrid) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.service_name, record.provider, record.status.value,
                     json.dumps(record.request.to_json()), json.dumps(record.provider_ids),
                     json.dumps(record.location), record.endpoint_url, record.error,
                     record.created_at, record.updated_at, record.parent_id,
                     record.hybrid and json.dumps(record.hybrid)))
        except sqlite3.Error as exc:
            raise self._fail(exc) from None
        return replace(record, id=cursor.lastrowid)

    def update(self, key: int | str, *, status: Status | None = None,
               provider_ids: dict[str, str | None] | None = None, endpoint_url: str | None = None,
               error: str | None = None, request: DeployRequest | None = None,
               candidate: DeployRequest | None | object = KEEP,
               hybrid: dict | None = None) -> Record:
        """Change some fields of a record (by id, or by name: the current one). Provider ids are
        merged into the stored ones (None removes one). The read and the write are one
        transaction, so concurrent updates do not lose each other's ids. A destroyed record is
        final: another process that still holds it changes nothing."""
        try:
            with self._write() as conn:
                current = self._current(conn, key)
                if current.status is Status.DESTROYED and status is not Status.DESTROYED:
                    return current
                ids = {**current.provider_ids, **(provider_ids or {})}
                changed = replace(
                    current,
                    status=status or current.status,
                    request=request or current.request,
                    provider_ids={k: v for k, v in ids.items() if v is not None},
                    endpoint_url=endpoint_url or current.endpoint_url,
                    error=error,
                    candidate=current.candidate if candidate is KEEP else candidate,
                    hybrid=hybrid or current.hybrid,
                    updated_at=time.time(),
                )
                conn.execute(
                    "UPDATE services SET status = ?, request = ?, provider_ids = ?, "
                    "endpoint_url = ?, error = ?, candidate_request = ?, hybrid = ?, "
                    "updated_at = ? WHERE id = ?",
                    (changed.status.value, json.dumps(changed.request.to_json()),
                     json.dumps(changed.provider_ids), changed.endpoint_url, changed.error,
                     changed.candidate and json.dumps(changed.candidate.to_json()),
                     changed.hybrid and json.dumps(changed.hybrid), changed.updated_at,
                     current.id),
                )
        except sqlite3.Error as exc:
            raise self._fail(exc) from None
        return changed

    def _current(self, conn: sqlite3.Connection, key: int | str) -> Record:
        if isinstance(key, int):
            row = conn.execute("SELECT * FROM services WHERE id = ?", (key,)).fetchone()
        else:
            row = conn.execute("SELECT * FROM services WHERE service_name = ? ORDER BY "
                               "status != 'destroyed' DESC, id DESC LIMIT 1", (key,)).fetchone()
        if row is None:
            raise self._unknown(str(key))
        return _from_row(row)

    def legs(self, parent: Record) -> list[Record]:
        """The records of a hybrid service's legs, oldest first."""
        rows = self._run("SELECT * FROM services WHERE parent_id = ? ORDER BY id", (parent.id,))
        return [_from_row(row) for row in rows]

    def observe(self, record: Record, active_replicas: int,
                replica_price_per_hour: float | None, at: float | None = None,
                on_demand_replicas: int | None = None) -> None:
        """Remember how many replicas were running (of them, how many a spot fleet ran on
        demand) and what one cost then, for cost estimates."""
        if self.read_only:
            return  # an observation is a nicety; a read-only store still answers status
        self._run("INSERT INTO observations VALUES (?, ?, ?, ?, ?)",
                  (record.id, time.time() if at is None else at, active_replicas,
                   replica_price_per_hour, on_demand_replicas))

    def observations(self, record: Record) -> list[tuple[float, int, float | None]]:
        rows = self._run("SELECT at, active_replicas, replica_price_per_hour FROM observations "
                         "WHERE service_id = ? ORDER BY at", (record.id,))
        return [(row["at"], row["active_replicas"], row["replica_price_per_hour"]) for row in rows]

    def save_benchmark(self, record: Record, kind: str, result: dict) -> None:
        self._run("INSERT INTO benchmarks VALUES (?, ?, ?, ?)",
                  (record.id, kind, time.time(), json.dumps(result)))

    def benchmarks(self, record: Record) -> list[tuple[str, float, dict]]:
        """(kind, at, result) of every benchmark of the record's service, oldest first."""
        rows = self._run("SELECT kind, at, result FROM benchmarks WHERE service_id = ? "
                         "ORDER BY at", (record.id,))
        return [(row["kind"], row["at"], json.loads(row["result"])) for row in rows]

    def on_demand_observations(self, record: Record) -> list[tuple[float, int]]:
        """(at, on-demand replicas) as a spot fleet reported them; unknown counts as 0."""
        rows = self._run("SELECT at, on_demand_replicas FROM observations WHERE service_id = ? "
                         "ORDER BY at", (record.id,))
        return [(row["at"], row["on_demand_replicas"] or 0) for row in rows]

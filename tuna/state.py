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

SCHEMA_VERSION = 1
# How long a writer waits for another tuna process to finish its write.
BUSY_TIMEOUT_S = 15.0

_SCHEMA = """
CREATE TABLE services (
    service_name TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    status TEXT NOT NULL,
    request TEXT NOT NULL,
    provider_ids TEXT NOT NULL DEFAULT '{}',
    endpoint_url TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE observations (
    service_name TEXT NOT NULL,
    at REAL NOT NULL,
    active_replicas INTEGER NOT NULL
);
CREATE INDEX observations_by_service ON observations (service_name, at);
"""


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
        endpoint_url=row["endpoint_url"],
        error=row["error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class StateStore:
    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = os.fspath(directory or default_dir())
        self.path = os.path.join(self.directory, "state.db")
        self._conn: sqlite3.Connection | None = None

    def _fail(self, exc: sqlite3.Error) -> StateError:
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return StateError(f"state database {self.path} is locked by another process; try again")
        if isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc):
            return StateError(f"state database {self.path} is read-only; fix its permissions")
        return StateError(
            f"state database {self.path} cannot be used ({exc}); move it aside to start afresh"
        )

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                os.makedirs(self.directory, mode=0o700, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
                conn.row_factory = sqlite3.Row
                self._migrate(conn)
            except sqlite3.Error as exc:
                raise self._fail(exc) from None
            except OSError as exc:
                raise StateError(f"cannot open state directory {self.directory}: {exc.strerror}") from None
            self._conn = conn
        return self._conn

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
            # Another process may have created the schema while we waited for the lock.
            if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("PRAGMA journal_mode = WAL")
        os.chmod(self.path, 0o600)

    def _run(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        try:
            return self._connect().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    def get(self, service_name: str) -> Record | None:
        rows = self._run("SELECT * FROM services WHERE service_name = ?", (service_name,))
        return _from_row(rows[0]) if rows else None

    def require(self, service_name: str) -> Record:
        record = self.get(service_name)
        if record is None:
            raise self._unknown(service_name)
        return record

    def _unknown(self, service_name: str) -> UsageError:
        return UsageError(f"no service named {service_name!r} in {self.path} (see `tuna list`)")

    def list(self, include_destroyed: bool = False) -> list[Record]:
        rows = self._run("SELECT * FROM services ORDER BY created_at, service_name")
        records = [_from_row(row) for row in rows]
        return [r for r in records if include_destroyed or r.is_live]

    def create(self, record: Record) -> Record:
        """Store a new record; refuse if a live one has the same name. Atomic across processes."""
        now = time.time()
        record = replace(record, created_at=now, updated_at=now)
        try:
            with _immediate(self._connect()) as conn:
                row = conn.execute(
                    "SELECT status FROM services WHERE service_name = ?", (record.service_name,)
                ).fetchone()
                if row and row["status"] != Status.DESTROYED.value:
                    raise NameTaken(record.service_name, row["status"])
                # A destroyed service's name is reused: its old observations are not the new one's.
                conn.execute("DELETE FROM observations WHERE service_name = ?",
                             (record.service_name,))
                conn.execute(
                    "INSERT OR REPLACE INTO services VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.service_name, record.provider, record.status.value,
                     json.dumps(record.request.to_json()), json.dumps(record.provider_ids),
                     record.endpoint_url, record.error, record.created_at, record.updated_at),
                )
        except sqlite3.Error as exc:
            raise self._fail(exc) from None
        return record

    def update(self, service_name: str, *, status: Status | None = None,
               provider_ids: dict[str, str] | None = None, endpoint_url: str | None = None,
               error: str | None = None, request: DeployRequest | None = None) -> Record:
        """Change some fields of a record; provider ids are merged into the stored ones. The read
        and the write are one transaction, so concurrent updates do not lose each other's ids."""
        try:
            with _immediate(self._connect()) as conn:
                row = conn.execute("SELECT * FROM services WHERE service_name = ?",
                                   (service_name,)).fetchone()
                if row is None:
                    raise self._unknown(service_name)
                current = _from_row(row)
                changed = replace(
                    current,
                    status=status or current.status,
                    request=request or current.request,
                    provider_ids={**current.provider_ids, **(provider_ids or {})},
                    endpoint_url=endpoint_url or current.endpoint_url,
                    error=error,
                    updated_at=time.time(),
                )
                conn.execute(
                    "UPDATE services SET status = ?, request = ?, provider_ids = ?, "
                    "endpoint_url = ?, error = ?, updated_at = ? WHERE service_name = ?",
                    (changed.status.value, json.dumps(changed.request.to_json()),
                     json.dumps(changed.provider_ids), changed.endpoint_url, changed.error,
                     changed.updated_at, service_name),
                )
        except sqlite3.Error as exc:
            raise self._fail(exc) from None
        return changed

    def observe(self, service_name: str, active_replicas: int, at: float | None = None) -> None:
        """Remember how many replicas were running, for cost estimates."""
        self._run("INSERT INTO observations VALUES (?, ?, ?)",
                  (service_name, time.time() if at is None else at, active_replicas))

    def observations(self, service_name: str) -> list[tuple[float, int]]:
        rows = self._run("SELECT at, active_replicas FROM observations WHERE service_name = ? "
                         "ORDER BY at", (service_name,))
        return [(row["at"], row["active_replicas"]) for row in rows]

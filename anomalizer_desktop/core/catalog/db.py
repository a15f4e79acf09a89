"""SQLite connections, transactions and migrations for the catalog (no queries live here).

Threading model:

* **File catalogs** get one connection per thread (``threading.local``), opened on first use.
  The database is in WAL mode, so readers (the GUI) keep reading the last committed state
  while a scan writes; writers take the write lock up front (``BEGIN IMMEDIATE``) and wait
  up to ``busy_timeout_s`` for each other. Connections of threads that have ended are closed
  the next time a thread opens one; :meth:`Database.close` closes them all (call it after the
  worker threads have stopped).
* **In-memory catalogs** (``None`` or ``":memory:"``) have one connection shared by all
  threads of this object, guarded by an ``RLock`` that a transaction holds until it ends, so
  threads take turns instead of seeing each other's half-finished work.

Opening a file runs the pending migrations from :mod:`.schema` in one transaction, after
copying the database to ``<name>.bak-v<old version>`` with SQLite's online backup API.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ..errors import CatalogError
from . import schema

log = logging.getLogger(__name__)

T = TypeVar("T")
D = TypeVar("D", bound="Database")

#: Items per ``IN (...)`` query; well under SQLite's host-parameter limit on every build.
CHUNK = 500


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _ConnState:
    """A connection plus the bookkeeping of the transaction running on it."""

    __slots__ = ("conn", "lock", "depth", "thread")

    def __init__(self, conn: sqlite3.Connection, thread: threading.Thread | None) -> None:
        self.conn = conn
        self.lock = threading.RLock()
        self.depth = 0  # 0 = no transaction; 1 = BEGIN; >1 = savepoints inside it
        self.thread = thread


class Database:
    """Owns the connections; :class:`~.repository.Catalog` adds the queries."""

    def __init__(self, path: Path | str | None, *, busy_timeout_s: float = 10.0) -> None:
        self._memory = path is None or os.fspath(path) == ":memory:"
        self.path: Path | None = None if self._memory else Path(os.path.abspath(os.fspath(path)))
        self._busy_ms = int(busy_timeout_s * 1000)
        self._closed = False
        self._local = threading.local()
        self._states: list[_ConnState] = []
        self._states_lock = threading.Lock()
        self._shared: _ConnState | None = None
        if self._memory:
            self._shared = self._new_state(thread=None)
        else:
            self._prepare_location()
        conn = self._state().conn
        try:
            self._open_retrying(conn)
        except BaseException:
            self.close()
            raise

    # --- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        """Close every connection this object opened. Further use raises :class:`CatalogError`."""
        with self._states_lock:
            self._closed = True
            states, self._states = self._states, []
        for state in states:
            try:
                state.conn.close()
            except sqlite3.Error as exc:  # pragma: no cover - close of a busy connection
                log.warning("closing catalog connection failed: %s", exc)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self: D) -> D:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path) if self.path else ':memory:'!r})"

    # --- connections ---------------------------------------------------------------------------
    def _describe(self) -> str:
        return str(self.path) if self.path else "the in-memory catalog"

    def _prepare_location(self) -> None:
        assert self.path is not None
        if self.path.is_dir():
            raise CatalogError(
                f"cannot open the catalog {self.path}: it is a folder, not a file "
                f"(try {self.path / 'catalog.sqlite3'})"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CatalogError(
                f"cannot create the folder {self.path.parent} for the catalog: "
                f"{exc.strerror or exc}; choose another location"
            ) from exc

    def _connect(self) -> sqlite3.Connection:
        target = ":memory:" if self._memory else str(self.path)
        try:
            conn = sqlite3.connect(
                target,
                timeout=self._busy_ms / 1000,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,  # used by one thread; closed by close() from any
            )
            conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; fewer fsyncs
        except sqlite3.Error as exc:
            raise self._open_error(exc) from exc
        return conn

    def _open_error(self, exc: sqlite3.Error) -> CatalogError:
        text = str(exc)
        if "not a database" in text or "malformed" in text:
            return CatalogError(
                f"{self._describe()} is not a usable catalog (SQLite: {text}); "
                "move the file away or choose another catalog path"
            )
        if "readonly" in text or "unable to open" in text:
            return CatalogError(
                f"cannot open the catalog {self._describe()} for writing (SQLite: {text}); "
                "check the file and folder permissions or choose another location"
            )
        return CatalogError(f"cannot use the catalog {self._describe()}: {text}")

    def _new_state(self, thread: threading.Thread | None) -> _ConnState:
        with self._states_lock:
            if self._closed:
                raise CatalogError(f"{self._describe()} is closed")
            for old in [s for s in self._states if s.thread is not None and not s.thread.is_alive()]:
                self._states.remove(old)
                old.conn.close()
            state = _ConnState(self._connect(), thread)
            self._states.append(state)
            return state

    def _state(self) -> _ConnState:
        if self._closed:
            raise CatalogError(f"{self._describe()} is closed")
        if self._shared is not None:
            return self._shared
        state = getattr(self._local, "state", None)
        if state is None:
            state = self._new_state(threading.current_thread())
            self._local.state = state
        return state

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, for reads (each statement sees one committed snapshot)."""
        state = self._state()
        with state.lock:
            yield state.conn

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self.connection() as conn:
            return conn.execute(sql, params).fetchall()

    # --- transactions --------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Commit on success, roll back on error. Re-entrant: a nested block is a savepoint, so
        an error caught inside the outer block undoes only the nested block's writes."""
        state = self._state()
        with state.lock:
            conn = state.conn
            if state.depth == 0:
                yield from self._outer(state, conn)
            else:
                yield from self._nested(state, conn)

    def _outer(self, state: _ConnState, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise CatalogError(
                    f"the catalog {self._describe()} is busy (another program or job is "
                    "writing to it); try again when it has finished"
                ) from exc
            raise
        state.depth = 1
        try:
            yield conn
        except BaseException:
            state.depth = 0
            conn.execute("ROLLBACK")
            raise
        state.depth = 0
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _nested(self, state: _ConnState, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        name = f"nested_{state.depth}"
        conn.execute(f"SAVEPOINT {name}")
        state.depth += 1
        try:
            yield conn
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        else:
            conn.execute(f"RELEASE {name}")
        finally:
            state.depth -= 1

    # --- schema --------------------------------------------------------------------------------
    def schema_version(self) -> int:
        return int(self.query("PRAGMA user_version")[0][0])

    def _open_retrying(self, conn: sqlite3.Connection) -> None:
        """Switch to WAL and migrate, again while another process does the same to a new file:
        SQLite answers "locked" at once (no busy wait) where two lock upgrades would deadlock,
        e.g. two scans creating one catalog at the same moment."""
        deadline = time.monotonic() + self._busy_ms / 1000
        while True:
            try:
                self._enable_wal(conn)
                self._migrate(conn)
                return
            except CatalogError as exc:
                cause = exc.__cause__
                busy = isinstance(cause, sqlite3.OperationalError) and (
                    "locked" in str(cause) or "busy" in str(cause))
                if not busy or time.monotonic() > deadline:
                    raise
                log.debug("catalog %s busy while opening; trying again", self.path)
                time.sleep(0.05)

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        if self._memory:
            return
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.Error as exc:
            raise self._open_error(exc) from exc
        if str(mode).lower() != "wal":
            log.warning("catalog %s runs in %s mode (WAL unavailable here)", self.path, mode)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.Error as exc:
            raise self._open_error(exc) from exc
        target = schema.SCHEMA_VERSION
        if version > target:
            raise CatalogError(
                f"the catalog {self._describe()} was written by a newer Anomalizer (schema "
                f"v{version}; this version knows up to v{target}); update the app or use "
                "another catalog path"
            )
        if version == target:
            return
        if version > 0:
            self._backup(conn, version)
        try:
            with self.transaction():
                # Re-read inside the write lock: another process may have migrated meanwhile.
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                for migration in schema.MIGRATIONS[version:target]:
                    log.info("catalog: migrating to v%d (%s)", migration.version, migration.description)
                    for statement in migration.statements:
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {int(target)}")
        except sqlite3.Error as exc:
            raise CatalogError(
                f"could not upgrade the catalog {self._describe()} from schema v{version} to "
                f"v{target} ({exc}); it was left unchanged"
                + (f", and a backup is at {self._backup_path(version)}" if version > 0 and self.path else "")
            ) from exc

    def _backup_path(self, version: int) -> Path:
        assert self.path is not None
        return self.path.with_name(f"{self.path.name}.bak-v{version}")

    def _backup(self, conn: sqlite3.Connection, version: int) -> None:
        if self.path is None:
            return
        dest = self._backup_path(version)
        tmp = dest.with_name(dest.name + ".tmp")
        try:
            tmp.unlink(missing_ok=True)
            with closing(sqlite3.connect(str(tmp))) as out:
                conn.backup(out)
            os.replace(tmp, dest)
        except (OSError, sqlite3.Error) as exc:
            raise CatalogError(
                f"could not write the backup {dest} before upgrading the catalog ({exc}); "
                "the catalog was left unchanged — free some disk space or check permissions"
            ) from exc
        log.info("catalog: backed up schema v%d to %s", version, dest)

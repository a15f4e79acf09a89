"""Catalog: schema + migrations, transactions, file bookkeeping, embeddings, threads, errors."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from anomalizer_desktop.core.catalog import SCHEMA_VERSION, Catalog, path_key
from anomalizer_desktop.core.catalog import schema
from anomalizer_desktop.core.errors import CatalogError


@pytest.fixture
def cat() -> Catalog:
    with Catalog(None) as catalog:
        yield catalog


def _add(cat: Catalog, path: str | Path, h: str | None = None, **kw) -> int:
    return cat.upsert_file(path, library_id=kw.pop("library_id", None), size=kw.pop("size", 10),
                           mtime=kw.pop("mtime", 1.0), hash=h, **kw).id


def _tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


# --- schema and migrations ---------------------------------------------------------------------
def test_fresh_file_catalog_has_current_schema_and_wal(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "catalog.sqlite3"
    with Catalog(db) as cat:
        assert cat.path == db
        assert cat.schema_version() == SCHEMA_VERSION == 5
        assert cat.query("PRAGMA journal_mode")[0][0] == "wal"
        assert cat.query("PRAGMA foreign_keys")[0][0] == 1
        assert cat.query("PRAGMA busy_timeout")[0][0] >= 1000
    assert {"libraries", "files", "embeddings", "models", "scores", "marks", "qc_runs",
            "findings"} <= _tables(db)
    assert not list(tmp_path.glob("sub/*.bak-v*"))  # nothing to back up on a new file
    with Catalog(db) as again:  # reopening is a no-op
        assert again.schema_version() == SCHEMA_VERSION


def _build_v1(db: Path) -> None:
    """A catalog exactly as the v1 app wrote it, with some data in it."""
    conn = sqlite3.connect(db)
    for statement in schema.MIGRATIONS[0].statements:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO libraries (id, path, added_at) VALUES (1, '/lib', 1.0)")
    conn.execute("INSERT INTO files (id, path, library_id, size, mtime, hash, scanned_at) "
                 "VALUES (7, '/lib/a.wav', 1, 100, 5.0, 'h1', 6.0)")
    vec = np.arange(4, dtype="<f4")
    conn.execute("INSERT INTO embeddings VALUES ('h1', 'enc', 4, ?, 1.0)", (vec.tobytes(),))
    conn.execute("INSERT INTO models (id, path, name, encoder_id, detector, threshold, n_train, "
                 "created_at, params) VALUES (3, '/m.anomalizer', 'm', 'enc', 'svdd', 0.5, 10, 1.0, "
                 "'{\"k\": 1}')")
    conn.execute("INSERT INTO scores VALUES (7, 3, 0.9, 0.5, 1, 2.0)")
    conn.commit()
    conn.close()


def test_migrates_a_v1_file_after_writing_a_backup(tmp_path: Path) -> None:
    db = tmp_path / "catalog.sqlite3"
    _build_v1(db)
    assert "findings" not in _tables(db)
    with Catalog(db) as cat:
        assert cat.schema_version() == SCHEMA_VERSION == 5
        assert cat.query("SELECT name FROM sqlite_master WHERE name = 'embeddings_encoder_dim'")
        assert [(lib.path, lib.reference) for lib in cat.libraries()] == [(Path("/lib"), False)]
        f = cat.get_file("/lib/a.wav")
        assert f is not None and f.id == 7 and f.hash == "h1" and f.library_id == 1
        assert cat.get_embeddings(["h1"], "enc")["h1"].tolist() == [0, 1, 2, 3]
        assert cat.scores(3) == {}  # learned-scale scores from before v3 are dropped
        assert cat.get_model("/m.anomalizer").params == {"k": 1}
        assert cat.findings("h1", 1) is None
        cat.put_findings("h1", 1, [("clipping", "warning", 0.5, 0.6, "12 samples at full scale")])
        assert [x.check_id for x in cat.findings("h1", 1)] == ["clipping"]
    backup = tmp_path / "catalog.sqlite3.bak-v1"
    assert backup.is_file()
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert conn.execute("SELECT path, hash FROM files").fetchall() == [("/lib/a.wav", "h1")]
    assert "findings" not in _tables(backup)
    backup.unlink()
    Catalog(db).close()  # already current: no new backup
    assert not backup.exists()


def test_failed_migration_leaves_the_catalog_unchanged(tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "catalog.sqlite3"
    _build_v1(db)
    broken = schema.Migration(SCHEMA_VERSION + 1, "broken",
                              ("CREATE TABLE extra (x INTEGER)", "THIS IS NOT SQL"))
    monkeypatch.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS, broken))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(CatalogError, match="left unchanged.*bak-v1"):
        Catalog(db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM files").fetchone()[0] == 1
    assert not {"findings", "extra"} & _tables(db)  # v2 was rolled back with v3
    assert (tmp_path / "catalog.sqlite3.bak-v1").is_file()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "catalog.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(CatalogError, match="newer Anomalizer"):
        Catalog(db)


# --- transactions ------------------------------------------------------------------------------
def test_nested_transaction_rolls_back_only_itself(cat: Catalog) -> None:
    with cat.transaction():
        _add(cat, "/l/outer.wav")
        with pytest.raises(RuntimeError):
            with cat.transaction():
                _add(cat, "/l/inner.wav")
                with cat.transaction():
                    _add(cat, "/l/innermost.wav")
                raise RuntimeError("boom")
        with cat.transaction():
            _add(cat, "/l/kept.wav")
    assert [f.path.name for f in cat.files()] == ["kept.wav", "outer.wav"]

    with pytest.raises(ValueError):
        with cat.transaction():
            _add(cat, "/l/gone.wav")
            with cat.transaction():
                _add(cat, "/l/gone2.wav")
            raise ValueError("outer fails")
    assert cat.get_file("/l/gone.wav") is None and cat.get_file("/l/gone2.wav") is None
    with cat.transaction():  # the connection is usable again
        _add(cat, "/l/after.wav")
    assert cat.get_file("/l/after.wav") is not None


# --- files ---------------------------------------------------------------------------------------
def test_upsert_move_missing_delete(cat: Catalog) -> None:
    lib = cat.add_library("/lib")
    assert cat.add_library("/lib/") == lib  # idempotent, same key
    fid = _add(cat, "/lib/x/a.wav", "h1", library_id=lib.id, duration_s=2.0, sample_rate=44100,
               channels=2, format="WAV")
    again = cat.upsert_file("/lib/x/../x/a.wav", library_id=lib.id, size=11, mtime=2.0, hash="h1")
    assert again.id == fid and again.size == 11 and again.path == Path("/lib/x/a.wav")
    model = cat.add_model("/m", "m", "enc", "svdd", 0.5, 10, {})
    cat.put_scores(model.id, [(fid, 1.0, 0.5, True)])

    moved = cat.move_file("/lib/x/a.wav", "/lib/y/b.wav", size=11, mtime=3.0)
    assert (moved.id, moved.hash, moved.mtime) == (fid, "h1", 3.0)
    assert cat.get_file("/lib/x/a.wav") is None and fid in cat.scores(model.id)
    stale = _add(cat, "/lib/z.wav", "h9")
    assert cat.move_file("/lib/y/b.wav", "/lib/z.wav", 11, 4.0).id == fid  # replaces stale row
    assert cat.get_file_by_id(stale) is None
    with pytest.raises(KeyError):
        cat.move_file("/lib/nope.wav", "/lib/other.wav", 1, 1.0)

    other = _add(cat, "/lib/bad.wav", None, error="not an audio file (unknown format)")
    assert cat.get_file_by_id(other).error.startswith("not an audio file")
    assert cat.mark_missing(["/lib/z.wav", "/lib/unknown.wav"]) == 1
    assert cat.mark_missing(["/lib/z.wav"]) == 0  # already missing
    assert [f.id for f in cat.files()] == [other]
    assert {f.id for f in cat.files(include_missing=True)} == {fid, other}
    assert set(cat.stat_index()) == {"/lib/bad.wav"}
    back = cat.upsert_file("/lib/z.wav", library_id=lib.id, size=11, mtime=4.0, hash="h1")
    assert back.id == fid and not back.missing and fid in cat.scores(model.id)

    cat.upsert_file("/lib/z.wav", library_id=lib.id, size=12, mtime=5.0, hash="h2")
    assert cat.scores(model.id) == {}  # new content -> stale score dropped
    assert [f.id for f in cat.files_with_hash("h2")] == [fid]
    assert cat.delete_files([fid, 12345]) == 1 and cat.get_file_by_id(fid) is None


def test_stat_index_and_bulk_upsert(cat: Catalog) -> None:
    cat.upsert_files([{"path": f"/l/{i}.wav", "size": i, "mtime": float(i)} for i in range(5)])
    index = cat.stat_index(Path("/l"))
    assert index["/l/3.wav"][:2] == (3, 3.0)
    assert {v[2] for v in index.values()} == {f.id for f in cat.files()}
    assert cat.get_file("/l/3.wav").hash is None


def test_files_under_is_an_exact_folder_prefix(cat: Catalog) -> None:
    names = ["/a/b", "/a/b/1.wav", "/a/b/deep/2.wav", "/a/bc/3.wav", "/a/b%/4.wav",
             "/a/b_/5.wav", "/a/b.wav", "/a/x%y/6.wav", "/a/xzy/7.wav", "/a/x_y/8.wav",
             "/a/b0/9.wav", "/a/b-/10.wav"]
    for n in names:
        _add(cat, n, n)
    got = lambda under: sorted(str(f.path) for f in cat.files(under=under))  # noqa: E731
    assert got("/a/b") == ["/a/b", "/a/b/1.wav", "/a/b/deep/2.wav"]
    assert got("/a/b/") == got("/a/b") == got(Path("/a/b"))
    assert got("/a/b%") == ["/a/b%/4.wav"]
    assert got("/a/b_") == ["/a/b_/5.wav"]
    assert got("/a/x%y") == ["/a/x%y/6.wav"]
    assert got("/a/x_y") == ["/a/x_y/8.wav"]
    assert got("/") == got(None) == sorted(names)
    assert sorted(cat.stat_index("/a/b%")) == ["/a/b%/4.wav"]
    assert cat.library_for("/a/bc/3.wav") is None
    cat.add_library("/a/b")
    inner = cat.add_library("/a/b/deep")
    assert cat.library_for("/a/b/deep/2.wav") == inner
    assert cat.library_for("/a/bc/3.wav") is None


def test_unicode_paths(cat: Catalog, tmp_path: Path) -> None:
    folder = tmp_path / "Sämples 🥁" / "鼓 loops"
    path = folder / "Künstler — naïve ‘take’ 1.wav"
    fid = _add(cat, path, "hu")
    assert cat.get_file(path).id == fid and cat.get_file(path).path == path
    assert [f.id for f in cat.files(under=tmp_path / "Sämples 🥁")] == [fid]
    assert path_key(path) in cat.stat_index(folder)
    with pytest.raises(ValueError, match="not valid UTF-8"):
        _add(cat, tmp_path / "bad\udcff.wav")


def test_remove_library_keeps_embeddings_and_marks(cat: Catalog) -> None:
    lib = cat.add_library("/lib")
    fid = _add(cat, "/lib/a.wav", "h1", library_id=lib.id)
    loose = _add(cat, "/watch/b.wav", "h2")
    cat.put_embeddings("enc", [("h1", np.ones(3))])
    cat.set_fine("h1", True, "it's a riser")
    model = cat.add_model("/m", "m", "enc", "svdd", 0.5, 10)
    cat.put_scores(model.id, [(fid, 2.0, 0.5, True), (loose, 0.1, 0.5, False)])
    cat.remove_library("/lib")
    assert cat.libraries() == [] and cat.get_file_by_id(fid) is None
    assert set(cat.scores(model.id)) == {loose}
    assert "h1" in cat.get_embeddings(["h1"], "enc") and cat.fine_hashes() == {"h1"}


# --- embeddings ----------------------------------------------------------------------------------
def test_embeddings_round_trip_exactly(cat: Catalog) -> None:
    rng = np.random.default_rng(0)
    vecs = {f"h{i}": rng.standard_normal(512).astype(np.float32) for i in range(3)}
    vecs["h0"][:4] = [np.float32(1e-45), np.finfo(np.float32).max, -0.0, np.float32(1 / 3)]
    cat.put_embeddings("clap-fused", vecs.items())
    got = cat.get_embeddings(["h0", "h1", "h2", "nope"], "clap-fused")
    assert set(got) == {"h0", "h1", "h2"}
    for h, v in vecs.items():
        assert got[h].dtype == np.float32 and got[h].tobytes() == v.tobytes()
        got[h][0] = 5.0  # returned arrays are writable copies
    assert cat.get_embeddings(["h1"], "spectral") == {}
    assert cat.hashes_missing_embeddings(["h9", "h1", "h9", "h8"], "clap-fused") == ["h9", "h8"]
    with pytest.raises(ValueError, match="mixed dimensions"):
        cat.put_embeddings("clap-fused", [("h5", np.zeros(128))])
    with pytest.raises(ValueError, match="1-D"):
        cat.put_embeddings("clap-fused", [("h5", np.zeros((2, 256)))])
    with cat.transaction() as conn:  # a damaged row is ignored and reported as missing
        conn.execute("UPDATE embeddings SET vector = x'0000' WHERE hash = 'h2'")
    assert "h2" not in cat.get_embeddings(["h2"], "clap-fused")
    assert cat.hashes_missing_embeddings(["h2"], "clap-fused") == ["h2"]


def test_embedding_matrix_aligns_rows_with_files(cat: Catalog) -> None:
    a = _add(cat, "/l/a.wav", "ha")
    dup = _add(cat, "/l/sub/a copy.wav", "ha")
    b = _add(cat, "/l/b.wav", "hb")
    _add(cat, "/l/no_embedding.wav", "hx")
    gone = _add(cat, "/l/gone.wav", "hb")
    cat.mark_missing(["/l/gone.wav"])
    cat.put_embeddings("enc", [("ha", np.full(4, 1.0)), ("hb", np.full(4, 2.0))])
    files, X = cat.embedding_matrix([b, gone, a, 999, dup], "enc")
    assert [f.id for f in files] == [b, a, dup] and X.shape == (3, 4)
    assert X[:, 0].tolist() == [2.0, 1.0, 1.0]
    files, X = cat.embedding_matrix(None, "enc")
    assert [f.id for f in files] == [a, b, dup]  # by path
    files, X = cat.embedding_matrix("/l/sub", "enc")
    assert [f.id for f in files] == [dup] and X.dtype == np.float32
    files, X = cat.embedding_matrix(None, "other")
    assert files == [] and X.shape == (0, 0)


def test_bulk_10000_files_and_embeddings(tmp_path: Path) -> None:
    n, dim = 10_000, 512
    rng = np.random.default_rng(1)
    rows = [{"path": tmp_path / "lib" / f"d{i % 50}" / f"loop {i}.wav", "size": i, "mtime": 1.5,
             "hash": f"{i:064x}", "duration_s": 4.0, "sample_rate": 48000, "channels": 2,
             "format": "WAV"} for i in range(n)]
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    hashes = [r["hash"] for r in rows]
    with Catalog(tmp_path / "catalog.sqlite3") as cat:
        t0 = time.perf_counter()
        cat.upsert_files(rows)
        t1 = time.perf_counter()
        cat.put_embeddings("enc", zip(hashes, vectors))
        t2 = time.perf_counter()
        got = cat.get_embeddings(hashes, "enc")
        t3 = time.perf_counter()
        index = cat.stat_index(tmp_path / "lib")
        t4 = time.perf_counter()
        files = cat.files()
        t5 = time.perf_counter()
        ids = [f.id for f in files]
        recs, X = cat.embedding_matrix(ids, "enc")
        t6 = time.perf_counter()
        missing = cat.hashes_missing_embeddings(hashes + ["new"], "enc")
        t7 = time.perf_counter()
    print(f"\n[catalog] {n} rows: upsert_files {t1 - t0:.3f}s, put_embeddings(dim {dim}) "
          f"{t2 - t1:.3f}s, get_embeddings {t3 - t2:.3f}s, stat_index {t4 - t3:.3f}s, "
          f"files() {t5 - t4:.3f}s, embedding_matrix {t6 - t5:.3f}s, "
          f"hashes_missing_embeddings {t7 - t6:.3f}s")
    assert len(got) == n and np.array_equal(got[hashes[1234]], vectors[1234])
    assert len(index) == n and len(files) == n and missing == ["new"]
    assert X.shape == (n, dim)
    assert np.array_equal(X[5], vectors[int(recs[5].hash, 16)])


# --- threads -------------------------------------------------------------------------------------
def test_reader_thread_never_locked_out_by_batched_writer(tmp_path: Path) -> None:
    db = tmp_path / "catalog.sqlite3"
    errors: list[BaseException] = []
    counts: list[int] = []
    done = threading.Event()
    with Catalog(db, busy_timeout_s=2.0) as cat:
        def writer() -> None:
            try:
                for batch in range(30):
                    rows = [{"path": f"/l/{batch}/{i}.wav", "size": i, "mtime": 1.0,
                             "hash": f"{batch}-{i}"} for i in range(200)]
                    with cat.transaction():
                        cat.upsert_files(rows)
                        cat.put_embeddings("enc", [(r["hash"], np.ones(64)) for r in rows])
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
            finally:
                done.set()

        def reader() -> None:
            try:
                while True:
                    finished = done.is_set()  # read once more after the last commit
                    files = cat.files(under="/l")
                    cat.get_embeddings([f.hash for f in files[:600]], "enc")
                    counts.append(len(files))
                    if finished and len(counts) >= 5:
                        break
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        assert counts == sorted(counts) and counts[-1] == 6000 and len(counts) >= 5
        assert len(cat.files()) == 6000


def test_reader_sees_last_commit_while_a_write_is_open(tmp_path: Path) -> None:
    with Catalog(tmp_path / "catalog.sqlite3") as cat:
        _add(cat, "/l/old.wav")
        writing, release = threading.Event(), threading.Event()

        def long_writer() -> None:
            with cat.transaction():
                _add(cat, "/l/new.wav")
                writing.set()
                release.wait(10)

        t = threading.Thread(target=long_writer)
        t.start()
        assert writing.wait(10)
        t0 = time.perf_counter()
        seen = [f.path.name for f in cat.files()]
        elapsed = time.perf_counter() - t0
        release.set()
        t.join(10)
        assert seen == ["old.wav"] and elapsed < 2.0  # blocked would mean >= 10 s or an error
        assert [f.path.name for f in cat.files()] == ["new.wav", "old.wav"]


def test_memory_catalog_is_shared_and_serialised_across_threads(cat: Catalog) -> None:
    _add(cat, "/l/counter.wav", size=0)

    def bump() -> None:
        for _ in range(100):
            with cat.transaction():
                size = cat.get_file("/l/counter.wav").size
                cat.upsert_file("/l/counter.wav", library_id=None, size=size + 1, mtime=1.0, hash=None)

    threads = [threading.Thread(target=bump) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert cat.get_file("/l/counter.wav").size == 300  # no lost updates


def test_connections_of_finished_threads_are_closed(tmp_path: Path) -> None:
    with Catalog(tmp_path / "c.sqlite3") as cat:
        for _ in range(6):
            t = threading.Thread(target=cat.files)
            t.start()
            t.join()
        assert len(cat._states) <= 3  # main + at most the last finished worker or two


# --- models, marks, findings ---------------------------------------------------------------------
def test_models_scores_marks_and_findings(cat: Catalog) -> None:
    fid = _add(cat, "/l/a.wav", "h1")
    m = cat.add_model("/models/a.anomalizer", "kick loops", "clap-fused", "deep_svdd", 0.25, 120,
                      {"network": "AEwRES", "seed": 0})
    assert cat.get_model("/models/a.anomalizer") == m and m.params["network"] == "AEwRES"
    cat.put_scores(m.id, [(fid, 0.5, 0.25, True)])
    assert cat.add_model("/models/a.anomalizer", "kick loops", "clap-fused", "deep_svdd", 0.25, 120,
                         {"seed": 0, "network": "AEwRES"}).id == m.id
    assert cat.scores(m.id)[fid].score == 0.5  # same model re-registered: scores kept
    retrained = cat.add_model("/models/a.anomalizer", "kick loops", "clap-fused", "deep_svdd", 0.3,
                              130, {"network": "AEwRES", "seed": 0})
    assert retrained.id == m.id and retrained.threshold == 0.3 and cat.scores(m.id) == {}
    assert [x.path for x in cat.models()] == [Path("/models/a.anomalizer")]

    cat.set_fine("h1", True, "intended glitch")
    cat.set_fine("h2", True)
    cat.set_fine("h2", False)
    assert cat.fine_hashes() == {"h1"}

    assert cat.findings("h1", 1) is None
    assert cat.hashes_missing_findings(["h1", "h2"], 1) == ["h1", "h2"]
    cat.put_findings("h1", 1, [("dropout", "error", 2.0, 2.02, "20 ms of digital silence"),
                               ("clipping", "warning", 0.5, 0.6, "")])
    assert [(x.check_id, x.start_s) for x in cat.findings("h1", 1)] == [("clipping", 0.5), ("dropout", 2.0)]
    cat.put_findings("h1", 1, [])
    cat.put_findings("h2", 1, [("hum", "info", 0.0, 4.0, "50 Hz")])
    assert cat.findings("h1", 1) == [] and cat.findings("h1", 2) is None
    assert cat.hashes_missing_findings(["h1", "h2", "h3"], 1) == ["h3"]


# --- errors --------------------------------------------------------------------------------------
def test_unusable_locations_raise_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="it is a folder"):
        Catalog(tmp_path)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(CatalogError, match="cannot create the folder"):
        Catalog(blocker / "sub" / "catalog.sqlite3")
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"definitely not a database" * 100)
    with pytest.raises(CatalogError, match="not a usable catalog"):
        Catalog(junk)
    assert junk.read_bytes().startswith(b"definitely")  # left alone

    cat = Catalog(tmp_path / "ok.sqlite3")
    cat.close()
    with pytest.raises(CatalogError, match="closed"):
        cat.files()
    mem = Catalog(":memory:")
    mem.close()
    with pytest.raises(CatalogError, match="closed"):
        mem.add_library("/x")


def test_opening_while_another_process_creates_it_waits_instead_of_failing(tmp_path, monkeypatch):
    # Two scans creating one catalog at once: SQLite answers "locked" at once where two lock
    # upgrades would deadlock (no busy wait); opening tries again within the busy timeout.
    from anomalizer_desktop.core.catalog.db import Database

    real = Database._enable_wal
    calls = []

    def locked_twice(self, conn):
        calls.append(1)
        if len(calls) <= 2:
            raise self._open_error(sqlite3.OperationalError("database is locked")) \
                from sqlite3.OperationalError("database is locked")
        return real(self, conn)

    monkeypatch.setattr(Database, "_enable_wal", locked_twice)
    with Catalog(tmp_path / "c.sqlite3") as cat:
        assert cat.schema_version() == SCHEMA_VERSION and len(calls) == 3
    monkeypatch.setattr(Database, "_enable_wal", lambda self, conn: (_ for _ in ()).throw(
        self._open_error(sqlite3.OperationalError("disk I/O error"))))
    with pytest.raises(CatalogError, match="disk I/O error"):
        Catalog(tmp_path / "d.sqlite3")  # other errors are not retried

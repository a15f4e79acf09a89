"""Concurrent scans of one catalog share the work: every content is checked, described and
embedded once, by whichever scan claimed it; the others wait for it instead of repeating it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from anomalizer_desktop.core import jobs, qc_stage
from anomalizer_desktop.core.catalog import Catalog
from anomalizer_desktop.core.catalog import work_claims
from anomalizer_desktop.core.catalog.work_claims import WorkShare
from anomalizer_desktop.core.embedding.spectral import SpectralEncoder
from anomalizer_desktop.core.errors import Cancelled
from anomalizer_desktop.core.progress import CancelToken, run_job

from .helpers import tone_loop

N = 40


@pytest.fixture
def library(tmp_path) -> Path:
    root = tmp_path / "lib"
    for i in range(N):
        tone_loop(root / f"loop {i:02d}.wav", freq=55 * (1 + i % 4), seconds=1.0, seed=i)
    return root


class SlowCountingEncoder(SpectralEncoder):
    """The offline encoder, slowed down so that two scans overlap, counting what it encodes."""

    def __init__(self):
        super().__init__()
        self.clips = 0

    def encode(self, clips):
        self.clips += len(clips)
        time.sleep(0.02 * len(clips))
        return super().encode(clips)


def _undone_claims(db: Path) -> int:
    with Catalog(db) as cat:
        return cat.query("SELECT count(*) FROM work_claims WHERE done_at IS NULL")[0][0]


def test_two_scans_at_once_do_each_content_once(library, tmp_path, monkeypatch):
    db = tmp_path / "catalog.sqlite3"
    Catalog(db).close()
    checked: list[str] = []
    real_check = qc_stage.check_audio

    def counting_check(path, config=None):
        checked.append(str(path))
        time.sleep(0.01)
        return real_check(path, config)

    monkeypatch.setattr(qc_stage, "check_audio", counting_check)
    encoders = [SlowCountingEncoder(), SlowCountingEncoder()]
    for encoder in encoders:
        encoder.batch_size = 2  # claims of 16 contents: both scans get some of the 40
    results: dict[int, object] = {}
    errors: list[BaseException] = []

    def scan(i: int) -> None:
        try:
            with Catalog(db) as cat:  # its own connection, as another process would have
                results[i] = run_job(jobs.scan([library], cat, encoders[i]))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=scan, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert sorted(checked) == sorted(str(p) for p in library.iterdir())  # each checked once
    assert encoders[0].clips + encoders[1].clips == N  # each embedded once ...
    assert results[0].embedded + results[1].embedded == N
    assert min(encoders[0].clips, encoders[1].clips) > 0  # ... and both scans did a share
    with Catalog(db) as cat:
        files = cat.files(under=library)
        assert len(files) == N
        encoder_id = encoders[0].id
        assert len(cat.get_embeddings([f.hash for f in files], encoder_id)) == N
        assert not cat.hashes_missing_findings([f.hash for f in files], qc_stage.CHECKS_VERSION)
    assert _undone_claims(db) == 0


def test_claims_of_a_scan_that_died_are_taken_over(library, tmp_path):
    db = tmp_path / "catalog.sqlite3"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with Catalog(db) as cat:
        run_job(jobs.scan([library], cat, None, checks=False, facets=False))  # hashes only
        hashes = [f.hash for f in cat.files(under=library)]
        owner = f"{work_claims._HOST}:{dead.pid}:killed"
        corpse = WorkShare(cat, "embed:" + SpectralEncoder().id, owner=owner)
        assert corpse.take(hashes, len(hashes)) == hashes  # it held every content ...
        encoder = SlowCountingEncoder()
        started = time.monotonic()
        result = run_job(jobs.scan([library], cat, encoder))  # ... and was killed -9
        assert result.embedded == N and encoder.clips == N
        assert time.monotonic() - started < 30  # no waiting for a claim nobody works on


def test_a_live_scans_claims_are_waited_for_not_repeated(tmp_path):
    with Catalog(tmp_path / "c.sqlite3") as cat:
        first, second = WorkShare(cat, "stage"), WorkShare(cat, "stage")
        assert first.take(["a", "b", "c"], 2) == ["a", "b"]
        assert second.take(["a", "b", "c"], 5) == ["c"]  # what the first holds is skipped
        assert second.take(["a", "b"], 5) == [] and second.not_done(["a", "b"]) == ["a", "b"]
        first.done(["a"])
        assert second.not_done(["a", "b"]) == ["b"]  # done by the first: nothing to repeat
        first.release()  # the first stops (cancelled) before b: b is free again
        assert second.take(["b"], 5) == ["b"]
        late = WorkShare(cat, "stage")  # a scan starting after "a" was done, whose result is
        assert late.take(["a"], 1) == ["a"]  # missing (e.g. undecodable), tries it again


def test_another_machines_claim_is_taken_over_once_stale(tmp_path, monkeypatch):
    with Catalog(tmp_path / "c.sqlite3") as cat:
        remote = WorkShare(cat, "stage", owner="other-host:123:abcd")
        assert remote.take(["a"], 1) == ["a"]
        here = WorkShare(cat, "stage")
        assert here.take(["a"], 1) == []
        monkeypatch.setattr(work_claims, "STALE_S", 0.0)
        assert here.take(["a"], 1) == ["a"]


def test_a_cancelled_scan_gives_its_claims_back(library, tmp_path):
    db = tmp_path / "catalog.sqlite3"
    token = CancelToken()
    encoder = SlowCountingEncoder()
    encoder.batch_size = 2
    with Catalog(db) as cat:
        job = jobs.scan([library], cat, encoder, token)
        with pytest.raises(Cancelled):
            for progress in job:
                if progress.stage == "embed" and progress.done >= 4:
                    token.cancel()
        assert _undone_claims(db) == 0
        again = SlowCountingEncoder()
        result = run_job(jobs.scan([library], cat, again))
        assert again.clips == N - encoder.clips and result.embedded == again.clips


@pytest.mark.slow
def test_two_cli_scans_of_one_catalog_share_the_embedding(library, tmp_path):
    cat = tmp_path / "shared.sqlite3"
    cmd = [sys.executable, "-m", "anomalizer_desktop.cli.main", "--catalog", str(cat), "scan",
           str(library), "--encoder", "spectral"]
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1"}
    runs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env) for _ in range(2)]
    outs = [r.communicate(timeout=300) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outs
    embedded = [int(re.search(r"(\d+) embedded", err).group(1)) for _, err in outs]
    assert sum(embedded) == N, outs  # together once, never twice

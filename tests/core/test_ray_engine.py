"""`scan --engine ray`: a local Ray on this machine's CPUs gives the same catalog as the
in-process scan (files, findings, facets, embeddings), rescans cheaply, stops when cancelled,
shares the work with other scans, and says how to install Ray when it is missing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from anomalizer_desktop.core.catalog import Catalog
from anomalizer_desktop.core.catalog.work_claims import _HOST, WorkShare
from anomalizer_desktop.core.cluster import engine_for
from anomalizer_desktop.core.cluster.claims import StageClaims
from anomalizer_desktop.core.cluster.session import RAY_MISSING, plan_actors
from anomalizer_desktop.core.errors import AnomalizerError, Cancelled
from anomalizer_desktop.core.facets import FACETS_VERSION
from anomalizer_desktop.core.jobs import scan
from anomalizer_desktop.core.progress import CancelToken, run_job
from anomalizer_desktop.core.qc import CHECKS_VERSION

from .helpers import noise_loop, tone_loop

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    """A Ray on 2 CPUs with a small object store, its files under the test's temp dir."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 1024**2,
             log_to_driver=False, _temp_dir=str(tmp_path_factory.mktemp("ray")))
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    """Loops at 22.05 to 96 kHz, mono and stereo, WAV and FLAC; a copy of one loop, a
    truncated one, a silent one, one with a click, a corrupt file and an empty one."""
    root = tmp_path_factory.mktemp("ray-lib") / "Library"
    tone_loop(root / "bass 44k.wav", 55.0, 2.0, sr=44_100, seed=1)
    tone_loop(root / "lead 96k.wav", 440.0, 1.5, sr=96_000, seed=2, subtype="PCM_24")
    tone_loop(root / "sub" / "keys 22k.flac", 220.0, 2.5, sr=22_050, seed=3, format="FLAC")
    noise_loop(root / "sub" / "noise.wav", 1.0)
    t = np.arange(96_000) / 48_000
    stereo = 0.3 * np.stack([np.sin(2 * np.pi * 110 * t), np.sin(2 * np.pi * 165 * t)], axis=1)
    sf.write(root / "pad stereo.wav", stereo.astype(np.float32), 48_000)
    clicked = stereo.copy()
    clicked[40_000] = 0.95
    sf.write(root / "pad click.wav", clicked.astype(np.float32), 48_000)
    sf.write(root / "silent.wav", np.zeros(48_000, np.float32), 48_000)
    shutil.copy(root / "bass 44k.wav", root / "sub" / "bass copy.wav")
    whole = (root / "lead 96k.wav").read_bytes()
    (root / "truncated.wav").write_bytes(whole[: len(whole) // 2])
    (root / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt " + bytes(range(200)))
    (root / "empty.wav").write_bytes(b"")
    return root


def scanned(library: Path, path: Path, encoder, engine=None, token=None):
    with Catalog(path) as catalog:
        steps: list = []
        result = run_job(scan([library], catalog, encoder, token, engine=engine), steps.append)
        return result, steps, state(catalog, library, encoder.id if encoder else None)


def state(catalog: Catalog, root: Path, encoder_id: str | None) -> dict:
    """What a scan leaves in the catalog, by relative path and content."""
    files = catalog.files(under=root)
    hashes = sorted({f.hash for f in files if f.hash})
    facets = catalog.facets_of(hashes, FACETS_VERSION)
    return {
        "files": {str(f.path.relative_to(root)): (f.size, f.mtime, f.hash, f.duration_s,
                                                  f.sample_rate, f.channels, f.format, f.error)
                  for f in files},
        "findings": catalog.findings_of(hashes, CHECKS_VERSION),
        "facets": {h: ((f.bars, f.tonic, f.mode, f.identity, f.fingerprint.tobytes()),
                       [f.bpm, f.bpm_confidence, f.key_confidence]) for h, f in facets.items()},
        "embeddings": catalog.get_embeddings(hashes, encoder_id) if encoder_id else {},
        "open_claims": catalog.query("SELECT COUNT(*) FROM work_claims WHERE done_at IS NULL"),
    }


def assert_same(a: dict, b: dict, atol: float = 1e-5) -> None:
    assert a["files"] == b["files"]
    assert a["findings"] == b["findings"]
    assert a["facets"].keys() == b["facets"].keys()
    for h, (exact, numbers) in a["facets"].items():
        assert b["facets"][h][0] == exact
        # tempo and key confidences are sums over frames, rounded by the process's BLAS threads
        assert np.allclose(np.array(b["facets"][h][1], float), np.array(numbers, float),
                           rtol=1e-6, atol=1e-9, equal_nan=True)
    assert set(a["embeddings"]) == set(b["embeddings"])
    for h, vector in a["embeddings"].items():
        np.testing.assert_allclose(b["embeddings"][h], vector, atol=atol, rtol=0)
    assert a["open_claims"] == b["open_claims"] == [(0,)]


@pytest.fixture(scope="module")
def spectral():
    from anomalizer_desktop.core.embedding import make_encoder

    return make_encoder("spectral")


@pytest.fixture(scope="module")
def in_process(library, spectral, tmp_path_factory):
    """The in-process scan's catalog of the library with the spectral encoder."""
    return scanned(library, tmp_path_factory.mktemp("local") / "cat.sqlite3", spectral)


def test_the_library_has_what_the_comparison_needs(in_process):
    result, _, local = in_process
    errors = {name for name, row in local["files"].items() if row[-1]}
    assert errors == {"corrupt.wav", "empty.wav"}
    assert result.embedded == 8  # 9 readable files, one of them a copy
    kinds = {r.check_id for rs in local["findings"].values() for r in rs}
    assert {"click", "silent", "damaged_file"} <= kinds
    assert len(local["findings"]) == len(local["facets"]) == len(local["embeddings"]) == 8


def test_ray_scan_writes_what_the_in_process_scan_writes(local_ray, library, spectral,
                                                         in_process, tmp_path):
    local_result, _, local = in_process
    with engine_for("ray") as engine:
        result, steps, remote = scanned(library, tmp_path / "ray.sqlite3", spectral, engine)
        assert_same(local, remote)
        assert (result.added, result.errors, result.embedded) == (
            local_result.added, local_result.errors, local_result.embedded)
        assert any(s.stage == "embed" and "on Ray with 1 encoder actor" in s.message
                   for s in steps)
        assert steps[-1].stage == "checked" and steps[-1].extra["files"]
    with engine_for("ray") as engine:
        again, steps, after = scanned(library, tmp_path / "ray.sqlite3", spectral, engine)
        assert not engine.session.active  # nothing to do: Ray was not even asked
    assert again.unchanged == len(local["files"]) and again.embedded == 0
    assert not [s for s in steps if s.stage == "embed"]
    assert_same(local, after)


def test_clap_embeddings_on_ray_equal_in_process_ones(local_ray, library, tmp_path,
                                                      monkeypatch):
    from safetensors.torch import save_file

    from anomalizer_desktop.core.embedding.clap import ClapEncoder
    from anomalizer_desktop.core.embedding.weights import build_model, import_checkpoint

    monkeypatch.setenv("ANOMALIZER_HOME", str(tmp_path / "app"))
    save_file(build_model("clap-fused").state_dict(), str(tmp_path / "random.safetensors"))
    encoder = ClapEncoder("clap-fused", import_checkpoint(tmp_path / "random.safetensors"),
                          device="cpu", num_threads=2)
    _, _, local = scanned(library, tmp_path / "local.sqlite3", encoder)
    with engine_for("ray") as engine:
        _, _, remote = scanned(library, tmp_path / "ray.sqlite3", encoder, engine)
    assert len(remote["embeddings"]) == 8
    assert all(v.shape == (768,) for v in remote["embeddings"].values())
    assert_same(local, remote)


def test_cli_scan_with_the_ray_engine(local_ray, library, in_process, tmp_path, capsys):
    from anomalizer_desktop.cli.main import main

    catalog = tmp_path / "cli.sqlite3"
    assert main(["-q", "--catalog", str(catalog), "scan", str(library), "--engine", "ray",
                 "--encoder", "spectral"]) == 0
    assert "8 embedded, 2 unreadable" in capsys.readouterr().err
    with Catalog(catalog) as opened:
        assert_same(in_process[2], state(opened, library, in_process[0].encoder_id))
    assert main(["-q", "--catalog", str(catalog), "scan", str(library),
                 "--address", "auto"]) == 1
    assert "--engine ray" in capsys.readouterr().err


def test_cancel_stops_after_a_batch_and_the_next_scan_finishes(local_ray, library, spectral,
                                                               in_process, tmp_path,
                                                               monkeypatch):
    from anomalizer_desktop.core.cluster import engine as ray_engine
    from anomalizer_desktop.core.embedding import make_encoder

    monkeypatch.setattr(ray_engine, "ANALYSE_BATCH", 1)
    small = make_encoder("spectral")
    small.batch_size = 1  # one file a batch, all the way to the catalog
    token = CancelToken()
    path = tmp_path / "cancel.sqlite3"
    with engine_for("ray") as engine, Catalog(path) as catalog:
        job = scan([library], catalog, small, token, engine=engine)
        with pytest.raises(Cancelled):
            for step in job:
                if step.stage == "embed" and step.done:
                    token.cancel()
        kept = state(catalog, library, spectral.id)
        assert 1 <= len(kept["embeddings"]) < 8 and kept["open_claims"] == [(0,)]
        _, _, finished = scanned(library, path, spectral, engine)
    assert_same(in_process[2], finished)


def test_a_worker_error_reaches_the_driver_as_itself(local_ray, library, tmp_path):
    from anomalizer_desktop.core.embedding import make_encoder
    from anomalizer_desktop.core.errors import EncoderMismatchError

    other = make_encoder("spectral")
    other.id = "spectral:other-weights"  # what a node with other weights would build
    with engine_for("ray") as engine, pytest.raises(EncoderMismatchError) as raised:
        scanned(library, tmp_path / "bad.sqlite3", other, engine)
    assert str(raised.value) == ("a Ray worker built encoder spectral:v1, but the scan embeds "
                                 "with spectral:other-weights: every node needs the same version "
                                 "of anomalizer-desktop")


def test_claims_held_by_another_scan_are_waited_for_or_taken_over(tmp_path):
    with Catalog(tmp_path / "claims.sqlite3") as catalog:
        live = WorkShare(catalog, "checks:v1")
        assert live.take(["b"], 1) == ["b"]
        dead = WorkShare(catalog, "embed:x", owner=f"{_HOST}:999999999:gone")
        assert dead.take(["c"], 1) == ["c"]
        claims = StageClaims(catalog, {"checks:v1": ["a", "b"], "embed:x": ["c"]})
        rounds = claims.rounds()
        assert next(rounds) == {"checks:v1": ["a"], "embed:x": ["c"]}  # the dead scan's too
        claims.done("checks:v1", ["a"])
        claims.done("embed:x", ["c"])
        assert next(rounds) is None  # b is the live scan's: wait for it
        live.done(["b"])
        assert list(rounds) == []
        assert catalog.query("SELECT COUNT(*) FROM work_claims WHERE done_at IS NULL") == [(0,)]


def test_actor_plan_follows_the_cluster():
    class Encoder:
        def __init__(self, name, batch_size):
            self.name, self.batch_size = name, batch_size

    clap, spectral = Encoder("clap-fused", 4), Encoder("spectral", 16)
    assert plan_actors({"CPU": 2.0}, clap) == plan_actors({"CPU": 2.0}, clap, threads=2)
    one = plan_actors({"CPU": 2.0}, clap)
    assert (one.actors, one.gpus, one.threads, one.batch_size) == (1, 0, 2, 4)
    assert plan_actors({"CPU": 16.0}, clap).actors == 5
    assert plan_actors({"CPU": 16.0}, clap, threads=1).actors == 8
    gpus = plan_actors({"CPU": 32.0, "GPU": 4.0}, clap)
    assert (gpus.actors, gpus.gpus, gpus.batch_size) == (4, 1, 32)
    assert plan_actors({"CPU": 8.0, "GPU": 4.0}, spectral).gpus == 0  # no GPU for librosa


def test_without_ray_the_error_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    from anomalizer_desktop.cli.main import main

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(AnomalizerError, match=r"pip install 'anomalizer-desktop\[cluster\]'"):
        engine_for("ray").__enter__()
    tone_loop(tmp_path / "lib" / "a.wav")
    assert main(["-q", "--catalog", str(tmp_path / "c.sqlite3"), "scan", str(tmp_path / "lib"),
                 "--engine", "ray", "--encoder", "spectral"]) == 1
    assert f"error: {RAY_MISSING}" in capsys.readouterr().err


def test_app_core_and_cli_import_without_ray():
    code = ("import sys; sys.modules['ray'] = None; "
            "import anomalizer_desktop.cli.main, anomalizer_desktop.core.cluster, "
            "anomalizer_desktop.core.cluster.engine, anomalizer_desktop.core.jobs; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"

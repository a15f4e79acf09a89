"""The synthetic demo library: readable files, determinism, and oddities that are really odd."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from anomalizer_desktop.core.demo import ODDITIES, DemoLibrary, write_demo_library


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoLibrary:
    root = tmp_path_factory.mktemp("demo") / "My Bass Pack"
    t0 = time.perf_counter()
    lib = write_demo_library(root)
    print(f"\ndemo library: {len(lib.all_files)} files in {time.perf_counter() - t0:.2f} s")
    return lib


def test_count_layout_and_names(demo: DemoLibrary) -> None:
    files = sorted(p for p in demo.root.rglob("*") if p.is_file())
    assert len(files) == 45 == len(demo.normal) + len(demo.oddities)
    assert files == demo.all_files
    assert set(demo.normal).isdisjoint(demo.oddities)
    assert all(p.is_absolute() and demo.root in p.parents for p in files)
    folders = {p.parent.relative_to(demo.root).as_posix() for p in files}
    assert {"Basses", "Basses/Dark"} <= folders
    # Oddities hide among the loops: same naming scheme, same folders.
    for p in files:
        assert p.name.startswith("Bass_") and "bpm_" in p.name, p.name
    assert {p.parent for p in demo.oddities} <= {p.parent for p in demo.normal}


def test_oddities_are_the_planted_ones(demo: DemoLibrary) -> None:
    assert len(demo.oddities) == len(ODDITIES) == 5
    assert sorted(demo.oddities.values()) == sorted(ODDITIES.values())
    text = " ".join(demo.oddities.values())
    for word in ("drum", "noise", "click", "distortion", "bell"):
        assert word in text


def test_files_readable_and_varied(demo: DemoLibrary) -> None:
    rates, channels, subtypes, formats, durations = set(), set(), set(), set(), []
    for path in demo.all_files:
        info = sf.info(path)
        data, sr = sf.read(path, dtype="float32")
        assert data.shape[0] == info.frames > 0
        assert np.isfinite(data).all() and np.abs(data).max() <= 1.0
        assert np.abs(data).max() > 0.05, f"{path.name} is (nearly) silent"
        rates.add(sr)
        channels.add(info.channels)
        subtypes.add(info.subtype)
        formats.add(info.format)
        durations.append(info.duration)
    assert rates == {44100, 48000}
    assert channels == {1, 2}
    assert subtypes == {"PCM_16", "PCM_24"}
    assert formats == {"WAV", "FLAC"}
    assert min(durations) > 1.5 and max(durations) < 17.0
    assert sum(d > 10.0 for d in durations) >= 3


@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_differs(demo: DemoLibrary, tmp_path: Path) -> None:
    again = write_demo_library(tmp_path / "again")
    assert _hashes(again.root) == _hashes(demo.root)
    assert {p.relative_to(again.root) for p in again.oddities} == {
        p.relative_to(demo.root) for p in demo.oddities
    }
    other = write_demo_library(tmp_path / "other", seed=1)
    assert _hashes(other.root) != _hashes(demo.root)


def test_small_library(tmp_path: Path) -> None:
    lib = write_demo_library(tmp_path / "small", n_normal=3, seed=7)
    assert len(lib.normal) == 3 and len(lib.oddities) == 5
    assert all(p.exists() for p in lib.all_files)
    with pytest.raises(ValueError):
        write_demo_library(tmp_path / "none", n_normal=0)


@pytest.mark.slow
def test_planted_oddities_are_odd_by_a_generic_measure(demo: DemoLibrary) -> None:
    """Spectral features + Isolation Forest (no learned encoder) put the oddities on top.

    This protects the README's first-run story: the demo must show real detections.
    The click/dropout loop is meant for the signal checks (a global embedding hardly sees a
    single click), so only "most" oddities are required near the top.
    """
    from sklearn.ensemble import IsolationForest
    from sklearn.preprocessing import StandardScaler

    from anomalizer_desktop.core.audio.io import read_audio
    from anomalizer_desktop.core.embedding.spectral import SpectralEncoder

    files = demo.all_files
    clips = [read_audio(p, sample_rate=48000).samples for p in files]
    features = StandardScaler().fit_transform(SpectralEncoder().encode(clips))
    scores = -IsolationForest(n_estimators=300, random_state=0).fit(features).score_samples(features)
    rank = {files[i]: r for r, i in enumerate(np.argsort(-scores))}
    odd_ranks = sorted(rank[p] for p in demo.oddities)
    print(f"\noddity ranks among {len(files)}: {odd_ranks}")
    assert sum(r < 8 for r in odd_ranks) >= 4, odd_ranks
    blatant = [p for p, what in demo.oddities.items() if any(w in what for w in ("drum", "noise", "bell"))]
    assert all(rank[p] < 5 for p in blatant), odd_ranks


@pytest.fixture(scope="module")
def demo100(tmp_path_factory: pytest.TempPathFactory) -> DemoLibrary:
    return write_demo_library(tmp_path_factory.mktemp("demo100") / "Pack", n_normal=100, seed=0)


def _signal_findings(path: Path) -> list:
    from anomalizer_desktop.core.audio.io import read_audio
    from anomalizer_desktop.core.qc.runner import run_checks

    audio = read_audio(path, sample_rate=None, channel_mode="keep")  # as the scan does
    return run_checks(audio.samples, audio.sample_rate)


@pytest.mark.slow
def test_normal_loops_are_clean_by_the_signal_checks(demo100: DemoLibrary) -> None:
    """The normal loops are cut to their bars, join seamlessly and have enveloped notes, so
    the signal checks (default level 0.5) find nothing in them: no false alarms in the demo."""
    flagged = {}
    for path in demo100.normal:
        found = _signal_findings(path)
        if found:
            flagged[path.relative_to(demo100.root).as_posix()] = [f.label() for f in found][:3]
    assert len(flagged) <= 1, flagged


@pytest.mark.slow
def test_planted_signal_faults_are_found_by_the_checks(demo100: DemoLibrary) -> None:
    kinds = {what: {f.kind for f in _signal_findings(path)} for path, what in demo100.oddities.items()}
    glitch = next(k for what, k in kinds.items() if "click" in what)
    clipped = next(k for what, k in kinds.items() if "distortion" in what)
    assert {"click", "dropout"} <= glitch, kinds
    assert "clipping" in clipped, kinds

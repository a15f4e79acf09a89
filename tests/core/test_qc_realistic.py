"""Signal QC on realistic loops: GM instruments rendered by fluidsynth and real drum-kit
one-shots (hydrogen-drumkits / sonic-pi-samples), several tempi and masters.

Needs Debian's ``fluidsynth`` + ``fluid-soundfont-gm`` (and, for real drum samples,
``hydrogen-drumkits`` / ``sonic-pi-samples``; a synthetic kit stands in without them).
Renders are cached per test session in a temporary directory (a few seconds).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from anomalizer_desktop.core.qc import QcConfig, run_checks
from tests.data import defects, drumkit, loops, midi

pytestmark = pytest.mark.slow

N_CLEAN = 24
# kind -> (share of planted defects that must be flagged at the default severity,
#          how close (s) to the planted time a flagged finding must start)
EXPECT = {
    "click": (0.75, 0.001),
    "dropout": (0.85, 0.002),
    "clipping": (0.95, 0.002),
    "dc_offset": (0.85, None),
    "hum": (0.6, None),
    "silence_head": (0.85, 0.01),
    "silence_tail": (0.8, 0.03),
    "stereo_phase": (0.8, None),
    "noise_burst": (0.2, 0.02),
    "loop_seam": (0.3, 0.001),
}


def _localised(f, planted: defects.Planted, tol: float) -> bool:
    if f.kind == "silence_tail":   # the loop may fade before the padding: covering it is right
        return f.start_s <= planted.start_s + tol and f.end_s >= planted.end_s - tol
    if f.kind == "noise_burst" and f.start_s <= planted.start_s and f.end_s >= planted.end_s - tol:
        return True   # a burst that begins on a drum hit may take the hit in: it still covers it
    return abs(f.start_s - planted.start_s) <= tol


@pytest.fixture(scope="module")
def clean_loops(tmp_path_factory) -> list[loops.Loop]:
    reason = midi.fluidsynth_missing_reason()
    if reason:
        pytest.skip(f"realistic QC tests need fluidsynth: {reason}")
    if not drumkit.available_kits():
        print("note: no hydrogen/sonic-pi drum samples; kit loops use the synthetic kit")
    specs = loops.clean_specs(N_CLEAN, seed=0)
    return loops.render_loops(specs, tmp_path_factory.mktemp("qc-loops"))


@pytest.fixture(scope="module")
def clean_findings(clean_loops):
    return [run_checks(lp.samples, lp.sample_rate) for lp in clean_loops]


def test_rendered_loops_are_real_audio(clean_loops):
    assert len(clean_loops) == N_CLEAN
    sources = {lp.spec.source.split(":")[0] for lp in clean_loops}
    assert sources == {"gm", "kit"}
    bpms = [lp.spec.bpm for lp in clean_loops]
    assert min(bpms) < 100 < max(bpms)
    for lp in clean_loops:
        assert lp.samples.shape[1] == 2 and 2.0 < lp.duration_s < 4.5
        assert 0.05 < float(np.max(np.abs(lp.samples))) <= 1.0


def test_false_alarm_rate_on_clean_loops_is_low(clean_loops, clean_findings):
    flagged = {lp.spec.name: [f.label() for f in fs]
               for lp, fs in zip(clean_loops, clean_findings) if fs}
    rate = len(flagged) / len(clean_loops)
    print(f"\nclean loops with any finding at the default severity: {len(flagged)}/"
          f"{len(clean_loops)} = {rate:.1%} {flagged}")
    assert rate <= 0.05, flagged


def test_planted_defects_are_found_where_they_were_planted(clean_loops):
    rng = np.random.default_rng(7)
    flagged, near, total = defaultdict(int), defaultdict(int), defaultdict(int)
    for lp in clean_loops:
        for kind, (_, tol) in EXPECT.items():
            p = defects.plant(kind, lp.samples, lp.sample_rate, rng)
            hits = [f for f in run_checks(p.samples, lp.sample_rate) if f.kind == kind]
            total[kind] += 1
            if hits:
                flagged[kind] += 1
                if tol is None or any(_localised(f, p, tol) for f in hits):
                    near[kind] += 1
    report = {k: f"{flagged[k]}/{total[k]} flagged, {near[k]} localised" for k in EXPECT}
    print("\n" + "\n".join(f"  {k}: {v}" for k, v in report.items()))
    for kind, (share, _) in EXPECT.items():
        assert flagged[kind] / total[kind] >= share, (kind, report[kind])
        # a flagged defect is reported where it was planted
        assert near[kind] >= 0.9 * flagged[kind], (kind, report[kind])


def test_off_grid_hit_in_a_real_drum_loop(clean_loops, tmp_path_factory):
    rng = np.random.default_rng(3)
    drums = [lp for lp in clean_loops if "drums" in lp.spec.roles]
    moved = [defects.off_grid_spec(lp, rng) for lp in drums]
    moved = [m for m in moved if m]
    rendered = loops.render_loops([s for s, _ in moved], tmp_path_factory.mktemp("qc-offgrid"))
    found = 0
    for lp, (_, t) in zip(rendered, moved):
        hits = [f for f in run_checks(lp.samples, lp.sample_rate) if f.kind == "off_grid"]
        if hits:
            assert min(abs(f.start_s - t) for f in hits) <= 0.01, (lp.spec.name, t, hits)
            found += 1
    print(f"\noff-grid hits found: {found}/{len(rendered)}")
    assert found >= max(1, len(rendered) // 4)


def test_a_distorted_library_makes_clipping_common_there(clean_loops):
    """A library where every loop is bounced into the rail: clipping is common there (not
    evidence), while a click in a new take is still flagged."""
    from anomalizer_desktop.core.evidence import Judge, LibraryEvidence

    def hot(x: np.ndarray) -> np.ndarray:
        return np.clip(x * 3.0 / np.max(np.abs(x)), -1.0, 1.0)

    library = [run_checks(hot(lp.samples), lp.sample_rate, QcConfig(min_severity=0.2))
               for lp in clean_loops[:16]]
    evidence = LibraryEvidence.from_files([f"{i:032x}" for i in range(16)], np.ones(16), library)
    assert "clipping" in evidence.common_kinds()
    take = hot(clean_loops[20].samples)
    take[int(0.777 * clean_loops[20].sample_rate)] += 0.8
    v = Judge(evidence).judge_one(None, 1.0, run_checks(take, clean_loops[20].sample_rate,
                                                        QcConfig(min_severity=0.2)))
    assert not [f for f in v.reasons if f.kind == "clipping"]

"""Signal QC, level checks: clipping, DC offset, silence at head/tail (synthetic audio)."""

from __future__ import annotations

import numpy as np
import pytest

from anomalizer_desktop.core.qc import QcConfig, run_checks
from tests.data import loops

SR = 44_100


def _only(kind: str) -> QcConfig:
    return QcConfig(enabled=frozenset({kind}), min_severity=0.0)


def _top(findings, kind):
    fs = [f for f in findings if f.kind == kind]
    return max(fs, key=lambda f: f.severity) if fs else None


@pytest.fixture(scope="module")
def base() -> np.ndarray:
    return loops.synth_loop(("drums", "bass", "pad"), seed=0, dither16=True).samples


def test_hard_clipped_section_is_found_where_it_starts(base):
    x = base.copy()
    a, b = int(1.0 * SR), int(1.6 * SR)
    x[a:b] *= 4.0 / np.max(np.abs(x[a:b]))
    x = np.clip(x, -1.0, 1.0)
    first = int(np.flatnonzero(np.max(np.abs(x), axis=1) >= 1.0)[0])
    found = run_checks(x, SR, _only("clipping"))
    assert found and max(f.severity for f in found) >= 0.9
    assert min(abs(f.start_s - first / SR) for f in found) < 0.002
    assert all(f.tag == "at full scale" for f in found)
    assert sum(f.value for f in found) >= 20


def test_loud_limited_master_and_saturation_are_not_clipping():
    loud = loops.synth_loop(("drums", "bass", "pad"), seed=1, master_kind="loud").samples
    assert np.max(np.abs(loud)) > 0.98           # peaks at -0.1 dBFS
    dist = loops.synth_loop(("drums", "bass"), seed=2, master_kind="distorted", dither16=True)
    for x in (loud, dist.samples):
        assert max((f.severity for f in run_checks(x, SR, _only("clipping"))), default=0) < 0.5


def test_a_natural_peak_is_not_clipping():
    t = np.arange(SR * 2) / SR
    x = np.round(np.sin(2 * np.pi * 30 * t) * 32767) / 32768   # 30 Hz at full scale, 16 bit
    assert run_checks(x.astype(np.float32), SR, _only("clipping")) == []


def test_flat_tops_below_full_scale_are_reported_with_their_level(base):
    x = np.clip(base * 3.0, -0.5, 0.5)
    top = _top(run_checks(x, SR, _only("clipping")), "clipping")
    assert top is not None and top.tag.startswith("at -6.0 dBFS")


@pytest.mark.parametrize("dc", [0.02, -0.05, 0.1])
def test_dc_offset_is_found_and_measured(base, dc):
    top = _top(run_checks(base + dc, SR, _only("dc_offset")), "dc_offset")
    assert top is not None and top.severity >= 0.75
    assert top.value == pytest.approx(dc, abs=0.005)
    assert top.label().startswith(f"DC offset {dc:+.2f}"[:12])


def test_clean_and_drifting_low_end_is_not_dc(base):
    assert _top(run_checks(base, SR, _only("dc_offset")), "dc_offset") is None
    t = np.arange(len(base)) / SR
    drift = (0.03 * np.maximum(0, np.sin(2 * np.pi * 2 * t)))[:, None]   # note-by-note bias
    top = _top(run_checks(base + drift.astype(np.float32), SR, _only("dc_offset")), "dc_offset")
    assert top is None or top.severity < 0.5


def test_dc_in_one_channel_is_tagged(base):
    x = base.copy()
    x[:, 1] += 0.05
    top = _top(run_checks(x, SR, _only("dc_offset")), "dc_offset")
    assert top is not None and top.tag == "R"


def test_silence_at_head_and_tail(base):
    head = np.concatenate([np.zeros((int(0.5 * SR), 2), np.float32), base])
    f = _top(run_checks(head, SR, _only("silence_head")), "silence_head")
    assert f is not None and f.severity >= 0.8 and f.value == pytest.approx(0.5, abs=0.01)
    assert "digital silence" in f.detail
    tail = np.concatenate([base, np.zeros((int(0.7 * SR), 2), np.float32)])
    f = _top(run_checks(tail, SR, _only("silence_tail")), "silence_tail")
    assert f is not None and f.severity >= 0.8
    assert f.start_s == pytest.approx(len(base) / SR, abs=0.01)
    assert f.end_s == pytest.approx(len(tail) / SR, abs=0.002)


def test_rests_that_belong_to_the_rhythm_are_not_padding():
    # one short hit every 0.5 s: 0.4 s of silence after each, at the end too
    x = np.zeros((4 * SR, 2), np.float32)
    hit = (np.exp(-np.arange(int(0.05 * SR)) / 300.0) * np.sin(np.arange(int(0.05 * SR)) * 0.3))
    for k in range(8):
        x[k * SR // 2: k * SR // 2 + len(hit)] += hit[:, None].astype(np.float32)
    found = run_checks(x, SR, QcConfig(enabled=frozenset({"silence_head", "silence_tail"})))
    assert found == []


def _driven_bass(offset: float = 0.0) -> np.ndarray:
    """Asymmetric bass notes (a 2nd harmonic in a fixed phase) mixed without DC, then driven
    hard into a saturator: pinned at both rails with an uneven duty cycle, the result sits
    ~0.07 off-centre (~10% of its level) while its peaks stay centred."""
    t = np.arange(int(0.6 * SR)) / SR
    w = np.concatenate([np.sin(2 * np.pi * f * t) + 0.15 * np.cos(4 * np.pi * f * t)
                        for f in (41.2, 49.0, 55.0, 36.7)])
    w -= w.mean()
    y = 0.8 * np.tanh(8.0 * w / np.abs(w).max()) + offset
    return np.repeat(y[:, None], 2, axis=1).astype(np.float32)


def test_a_driven_asymmetric_bass_is_not_a_dc_offset():
    x = _driven_bass()
    assert float(x.mean()) > 0.05
    top = _top(run_checks(x, SR, _only("dc_offset")), "dc_offset")
    assert top is None or top.severity < 0.5
    # an interface offset on top of it moves the peaks too: that is found
    top = _top(run_checks(_driven_bass(0.03), SR, _only("dc_offset")), "dc_offset")
    assert top is not None and top.severity >= 0.8

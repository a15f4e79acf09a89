"""Signal QC, off-grid onsets: what the onset detector must not mistake for a displaced hit
(synthetic drums: kick, snare and hat on 8th notes, numpy only)."""

from __future__ import annotations

import numpy as np

from anomalizer_desktop.core.qc import QcConfig, run_checks
from anomalizer_desktop.core.qc.context import Analysis
from anomalizer_desktop.core.qc.loop import onsets
from tests.data import loops

SR = 44_100


def _only(kind: str) -> QcConfig:
    return QcConfig(enabled=frozenset({kind}), min_severity=0.0)


def _drums(bpm: float, extra: tuple[tuple[float, str], ...] = (), drive: float = 1.0,
           kick_hz: float = 55.0, kick_decay_s: float = 0.15, hat: float = 0.15,
           seed: int = 0) -> np.ndarray:
    """One bar of 8th notes: hats on all, kick on 1 and 3, snare on 2 and 4, plus ``extra``
    (time s, "kick" / "snare" / "hat") hits; wrapped tails; ``drive`` > 1 saturates the mix."""
    rng = np.random.default_rng(seed)
    step = 60.0 / bpm / 2
    n = int(round(16 * step * SR))
    x = np.zeros(n)

    def hit(t: float, kind: str) -> None:
        a = int(round(t * SR))
        tt = np.arange(n - a) / SR
        if kind == "kick":
            sweep = kick_hz * (1 + 1.5 * np.exp(-tt / 0.01))
            x[a:] += np.sin(2 * np.pi * np.cumsum(sweep) / SR) * np.exp(-tt / kick_decay_s)
            x[a:] += 0.5 * rng.normal(0, 1, len(tt)) * np.exp(-tt / 0.004)     # beater click
        elif kind == "snare":
            x[a:] += 0.5 * rng.normal(0, 1, len(tt)) * np.exp(-tt / 0.05)
        else:
            x[a:] += hat * np.diff(rng.normal(0, 1, len(tt) + 1)) * np.exp(-tt / 0.01)

    for i in range(16):
        hit(i * step, "hat")
        if i % 4 in (0, 2):
            hit(i * step, "kick" if i % 4 == 0 else "snare")
    for t, kind in extra:
        hit(t, kind)
    if drive > 1:
        x = np.tanh(drive * x / np.abs(x).max())
    return np.repeat((0.8 * x / np.abs(x).max())[:, None], 2, axis=1).astype(np.float32)


def test_a_saturated_kick_decay_is_one_onset_not_several():
    # Long 50-Hz kick bodies driven into a saturator: frame to frame, the spectral flux
    # flickers all through their decay (the low fundamental beats against the short STFT
    # frame). Those flickers are no new sound; each hit is one onset, the downbeat included.
    x = _drums(150, drive=20.0, kick_hz=50.0, kick_decay_s=0.5, hat=0.05)
    times, _ = onsets(Analysis(x, SR))
    step = 60.0 / 150 / 2
    assert len(times) == 16
    assert np.all(np.abs((times - times[0] + step / 2) % step - step / 2) <= 0.012)
    found = run_checks(x, SR, _only("off_grid"))
    assert max((f.severity for f in found), default=0.0) < 0.5, [f.label() for f in found]


def test_a_lone_syncopated_16th_is_on_the_grid():
    # Everything on 8ths but one kick on a 16th: the coarsest grid that fits is the 8ths, and
    # one onset on the next finer subdivision is a syncopation when that is a playable note.
    for bpm in (120, 156):
        step = 60.0 / bpm / 2
        x = _drums(bpm, extra=((5.5 * step, "kick"),))
        found = run_checks(x, SR, _only("off_grid"))
        top = max((f.severity for f in found), default=0.0)
        assert top < 0.5, (bpm, [f.label() for f in found])
        # ... while a kick 45 ms late is off every grid line
        x = _drums(bpm, extra=((5 * step + 0.045, "kick"),))
        hits = [f for f in run_checks(x, SR, _only("off_grid")) if f.severity >= 0.5]
        assert len(hits) == 1 and abs(hits[0].start_s - (5 * step + 0.045)) <= 0.01, bpm


def test_the_sound_coming_back_after_a_dropout_is_not_an_off_grid_onset():
    x = loops.synth_loop(("drums", "bass", "pad"), seed=0, dither16=True).samples.copy()
    x[int(2.5 * SR): int(2.55 * SR)] = 0.0        # a 50-ms dropout over a hit on the grid
    assert [f for f in run_checks(x, SR, _only("dropout")) if f.severity >= 0.5]
    found = run_checks(x, SR, _only("off_grid"))
    assert max((f.severity for f in found), default=0.0) < 0.5, [f.label() for f in found]

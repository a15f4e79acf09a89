"""Signal QC: findings, labels, severities, catalog records."""

from __future__ import annotations

import pytest

from anomalizer_desktop.core.qc import CHECKS, Finding, severity_from_ratio, severity_level


@pytest.mark.parametrize("finding, label", [
    (Finding("click", 0.9, 1.2344, 1.2344, 0.4), "click @ 1.234 s"),
    (Finding("dropout", 0.9, 2.1, 2.18), "dropout 2.100-2.180 s"),
    (Finding("clipping", 0.9, 0.5, 0.9, 37, "at full scale"),
     "clipping (37 samples at full scale) 0.50-0.90 s"),
    (Finding("clipping", 0.6, 0.5, 0.9, 12, "at -3.0 dBFS"),
     "clipping (12 samples at -3.0 dBFS) 0.50-0.90 s"),
    (Finding("dc_offset", 0.9, 0.0, 4.0, 0.06), "DC offset +0.060"),
    (Finding("hum", 0.9, 0.0, 4.0, -22.0, "50 Hz"), "hum 50 Hz -22 dB"),
    (Finding("noise_burst", 0.9, 3.2, 3.4), "noise burst 3.200-3.400 s"),
    (Finding("silence_head", 0.9, 0.0, 0.4, 0.4), "silence at head 0.40 s"),
    (Finding("silence_tail", 0.9, 3.5, 4.0, 0.5), "silence at tail 0.50 s"),
    (Finding("loop_seam", 0.9, 4.0, 4.0, 3.0), "loop seam discontinuity"),
    (Finding("off_grid", 0.9, 1.5, 1.5, 42.0), "off-grid onset @ 1.500 s (+42 ms)"),
    (Finding("stereo_phase", 0.9, 0.0, 4.0, -0.9), "stereo phase (mono sum cancels)"),
])
def test_labels_say_what_and_where(finding, label):
    assert finding.label() == label


def test_every_check_has_a_label():
    for kind in CHECKS:
        assert Finding(kind, 0.5, 0.0, 1.0, 1.0).label()


def test_severity_mapping_is_monotonic_with_half_at_the_threshold():
    assert severity_from_ratio(1.0) == pytest.approx(0.5)
    values = [severity_from_ratio(r) for r in (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 100.0)]
    assert values == sorted(values)
    assert values[0] == 0.0 and 0.99 < values[-1] < 1.0
    assert severity_from_ratio(float("inf")) == 1.0
    assert severity_from_ratio(float("nan")) == 0.0
    assert severity_from_ratio(2.0, 3.0) > severity_from_ratio(2.0, 1.0)


def test_levels():
    assert severity_level(0.95) == "high"
    assert severity_level(0.6) == "medium"
    assert severity_level(0.2) == "low"
    assert Finding("click", 0.8, 1, 1).level == "high"


def test_catalog_record_round_trip_is_exact():
    f = Finding("hum", 0.7312, 0.0, 3.43, -22.4, "50 Hz", "steady tone at 50 Hz")
    rec = f.to_record()
    kind, sev, a, b, detail = rec
    assert (kind, a, b) == ("hum", 0.0, 3.43) and sev == "0.7312"
    assert Finding.from_record(*rec) == f
    assert Finding.from_record(*rec).label() == "hum 50 Hz -22 dB"


def test_from_record_accepts_level_names_and_plain_text():
    f = Finding.from_record("click", "high", 1.0, 1.0, "a jump")
    assert f.severity >= 0.8 and f.detail == "a jump" and f.value is None
    assert Finding.from_record("click", "nonsense", 1.0, 1.0).severity == 0.5


def test_with_severity_clamps_and_notes():
    f = Finding("clipping", 0.9, 0, 1, 10, "", "flat tops")
    g = f.with_severity(1.7, "common in this library")
    assert g.severity == 1.0 and "common in this library" in g.detail and g.kind == "clipping"

"""The `anomalizer` command end to end, in-process, on a demo library and the offline encoder."""

from __future__ import annotations

import csv
import json
import threading
import time

import pytest

from anomalizer_desktop.cli.main import main

from .helpers import tone_loop, tree_hashes


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    lib, model, cat = root / "Demo Library", root / "m.anomalizer", root / "cat.sqlite3"
    assert main(["-q", "demo", str(lib)]) == 0
    assert main(["-q", "--catalog", str(cat), "train", str(lib), "--model", str(model),
                 "--encoder", "spectral"]) == 0  # the default network, AEwRES
    return lib, model, cat


def test_demo_train_score_csv_ranks_planted_oddities(trained, tmp_path):
    from anomalizer_desktop.core.demo import write_demo_library

    lib, model, cat = trained
    before = tree_hashes(lib)
    out = tmp_path / "scores.csv"
    assert main(["-q", "--catalog", str(cat), "score", str(lib), "--model", str(model),
                 "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert rows and set(rows[0]) >= {"path", "score", "threshold", "flagged", "bpm", "key"}
    assert sum(1 for r in rows if r["bpm"]) >= 0.5 * len(rows)  # demo loops have a beat
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    oddities = {str(p) for p in write_demo_library(tmp_path / "again", n_normal=100).oddities}
    odd_names = {p.rsplit("/", 1)[-1] for p in oddities}
    top = {r["path"].rsplit("/", 1)[-1] for r in rows[:8]}
    assert len(top & odd_names) >= 4  # of 5 (the click/dropout take is for signal QC to catch)
    assert tree_hashes(lib) == before


def test_score_json_and_unreadable_rows(trained, tmp_path):
    lib, model, cat = trained
    bad = tmp_path / "bad take.wav"
    bad.write_text("this is not audio")
    good = tone_loop(tmp_path / "take.wav")
    out = tmp_path / "out.json"
    assert main(["-q", "--catalog", str(cat), "score", str(good), str(bad),
                 "--model", str(model), "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    by_name = {r["path"].rsplit("/", 1)[-1]: r for r in doc["files"]}
    assert by_name["bad take.wav"]["score"] is None and by_name["bad take.wav"]["error"]
    assert by_name["take.wav"]["score"] is not None
    assert doc["model"]["detector"] == "AEwRES" and "threshold" in doc["summary"]


def test_fail_on_flag_exit_code(trained, tmp_path):
    lib, model, cat = trained
    code = main(["-q", "--catalog", str(cat), "score", str(lib), "--model", str(model),
                 "--fail-on-flag", "--csv", str(tmp_path / "x.csv")])
    assert code == 3  # the demo library has planted oddities above the threshold


def test_user_errors_exit_1_with_one_line(tmp_path, capsys):
    assert main(["--catalog", str(tmp_path / "c.db"), "score", str(tmp_path),
                 "--model", str(tmp_path / "missing.anomalizer")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "missing.anomalizer" in err[-1]
    assert main(["--catalog", str(tmp_path / "c.db"), "scan", str(tmp_path / "nope")]) == 1
    assert "no such file or folder" in capsys.readouterr().err


def test_explicit_clap_without_weights_says_how_to_get_them(tmp_path, capsys):
    lib = tmp_path / "lib"
    tone_loop(lib / "a.wav")
    assert main(["--catalog", str(tmp_path / "c.db"), "scan", str(lib),
                 "--encoder", "clap-fused"]) == 1
    assert "weights" in capsys.readouterr().err


def test_auto_encoder_falls_back_to_spectral_and_says_so(tmp_path, capsys):
    lib = tmp_path / "lib"
    tone_loop(lib / "a.wav")
    assert main(["-q", "--catalog", str(tmp_path / "c.db"), "scan", str(lib)]) == 0
    err = capsys.readouterr().err
    assert "spectral" in err and "1 embedded" in err


def test_watch_prints_a_line_for_a_new_take(trained, tmp_path, capsys):
    lib, model, cat = trained
    exports = tmp_path / "Bounces"
    exports.mkdir()

    def export_later():
        time.sleep(1.0)
        tone_loop(exports / "take 1.wav.tmp", format="WAV")  # as a DAW does: temp name, then rename
        (exports / "take 1.wav.tmp").rename(exports / "take 1.wav")

    writer = threading.Thread(target=export_later)
    writer.start()
    assert main(["-q", "--catalog", str(cat), "watch", str(exports), "--model", str(model),
                 "--duration", "6"]) == 0
    writer.join()
    out = capsys.readouterr().out
    assert "take 1.wav" in out and (out.startswith("ok") or out.startswith("FLAG"))
    assert ".tmp" not in out


def test_localise_prints_where_a_take_is_unusual_and_its_findings(trained, tmp_path, capsys):
    from anomalizer_desktop.core.demo import write_demo_library

    lib, model, cat = trained
    glitch = next(p for p, why in write_demo_library(tmp_path / "again", n_normal=100)
                  .oddities.items() if "click" in why)
    take = next(lib.rglob(glitch.name))
    before = tree_hashes(lib)
    capsys.readouterr()
    assert main(["-q", "localise", str(take), "--model", str(model)]) == 0
    out = capsys.readouterr().out
    assert "most unusual" in out and "click @" in out and "dropout" in out
    report = tmp_path / "where.json"
    assert main(["-q", "localise", str(take), "--model", str(model), "--window", "1",
                 "--hop", "0.25", "--json", str(report)]) == 0
    data = json.loads(report.read_text())
    assert data["window_s"] == 1.0 and len(data["windows"]) >= 4
    starts = [w["start_s"] for w in data["windows"]]
    assert starts == sorted(starts) and data["peak_s"] is not None
    assert {"click", "dropout"} <= {f["kind"] for f in data["findings"]}
    assert tree_hashes(lib) == before
    assert main(["-q", "localise", str(tmp_path / "nope.wav"), "--model", str(model)]) == 1


def test_main_called_again_in_one_process_does_not_pile_up_log_handlers(tmp_path):
    import logging

    before = list(logging.getLogger().handlers)
    for _ in range(3):
        assert main(["-q", "--catalog", str(tmp_path / "c.db"), "scan", str(tmp_path),
                     "--no-embed"]) == 0
    assert logging.getLogger().handlers == before

"""What each `anomalizer` sub-command does; main.py owns parsing, exit codes and signals."""

from __future__ import annotations

import argparse
import json
import queue
import sys
import time
from typing import Generator

from ..core.catalog import Catalog
from ..core.config import default_catalog_path
from ..core.errors import AnomalizerError
from ..core.progress import CancelToken, Progress, run_job
from .output import open_output, print_table, reasons_text, write_csv, write_json
from .progress_bar import ProgressBar


def run(args: argparse.Namespace, token: CancelToken, bar: ProgressBar) -> int:
    handler = {
        "scan": cmd_scan, "train": cmd_train, "score": cmd_score, "watch": cmd_watch,
        "weights": cmd_weights, "demo": cmd_demo, "localise": _localise,
        "similar": _similar, "duplicates": _duplicates,
        "export": _exchange, "import": _exchange,
    }[args.command]
    return handler(args, token, bar)


def _localise(args, token, bar) -> int:
    from .localise_cmd import cmd_localise

    return cmd_localise(args, token, bar)


def _similar(args, token, bar) -> int:
    from .browse_cmd import cmd_similar

    return cmd_similar(args, token, bar)


def _duplicates(args, token, bar) -> int:
    from .browse_cmd import cmd_duplicates

    return cmd_duplicates(args, token, bar)


def _exchange(args, token, bar) -> int:
    from .exchange_cmd import cmd_export, cmd_import

    return (cmd_export if args.command == "export" else cmd_import)(args, token, bar)


def drive(job: Generator[Progress, None, object], bar: ProgressBar):
    """Run a job generator to the end, showing its progress; returns the job's result."""
    try:
        return run_job(job, bar.update)
    finally:
        bar.close()


def say(message: str) -> None:
    print(message, file=sys.stderr)


def open_catalog(args) -> Catalog:
    return Catalog(args.catalog or default_catalog_path())


def build_encoder(args, bar: ProgressBar):
    from ..core.embedding import make_encoder

    return make_encoder(
        getattr(args, "encoder", "auto"), weights=args.weights, allow_download=args.download,
        notice=say, download_progress=_download_reporter(bar),
    )


def _download_reporter(bar: ProgressBar):
    def report(done: int, total: int) -> None:
        bar.update(Progress("download", done, total or None, "encoder weights"))

    return report


def cmd_scan(args, token, bar) -> int:
    from ..core.cluster import engine_for
    from ..core.jobs import scan

    encoder = None if args.no_embed else build_encoder(args, bar)
    with open_catalog(args) as catalog, engine_for(args.engine, args.address,
                                                   args.threads) as engine:
        result = drive(scan(args.paths, catalog, encoder, token,
                            follow_links=args.follow_links, engine=engine), bar)
    say(
        f"{len(result.files)} files: {result.added} new, {result.changed} changed, "
        f"{result.moved} moved, {result.unchanged} unchanged, {result.missing} gone; "
        f"{result.embedded} embedded, {result.errors} unreadable"
    )
    for record in result.files:
        if record.error:
            say(f"  unreadable: {record.path}: {record.error}")
    return 0


def cmd_train(args, token, bar) -> int:
    from ..core.evidence import budget_words
    from ..core.jobs import train

    encoder = build_encoder(args, bar)
    with open_catalog(args) as catalog:
        result = drive(
            train(args.paths, catalog, encoder, args.model, network=args.network,
                  seed=args.seed, epochs=args.epochs, token=token, folds=args.folds,
                  follow_links=args.follow_links, reference=args.reference),
            bar,
        )
    s = result.score_summary
    for warning in result.warnings:
        say(f"warning: {warning}")
    folds = f", {s['folds']} cross-fitted folds" if s.get("folds", 1) > 1 else ""
    where = ""
    if result.reference:
        n = len(result.reference)
        where = f" in {n} reference folder{'s' if n > 1 else ''}"
    say(f"model written to {result.model_path} ({result.info.detector} on {encoder.name}, "
        f"{result.n_train} loops{where}{folds})")
    say(f"calibrated on {s['n_null']} {s['learned_source']} learned scores and the signal "
        f"checks of {result.n_train} loops; flags about {budget_words(10 ** -s['threshold'])} "
        "normal loops")
    say(f"library: {s['flagged']} of {s['n']} loops flagged ({s['learned_flagged']} by the "
        "learned score)")
    return 0


def flag_policy(args):
    from ..core.evidence import FlagPolicy

    return FlagPolicy(budget=1.0 / args.flag_one_in, min_severity=args.severity,
                      disabled=frozenset(args.disable_check), use_checks=not args.no_checks)


def cmd_score(args, token, bar) -> int:
    from ..core.jobs import score

    policy = flag_policy(args)
    with open_catalog(args) as catalog:
        result = drive(score(args.paths, catalog, args.model, token=token, weights=args.weights,
                             policy=policy, follow_links=args.follow_links), bar)
    fitted = result.model.params.get("params", {})
    model = {"path": str(args.model), "detector": fitted.get("base", result.model.detector),
             "folds": fitted.get("folds", 1),
             "encoder_id": result.model.encoder_id, "threshold": result.judge.threshold,
             "budget": result.judge.policy.budget,
             "calibration": result.judge.library.learned_source}
    if args.csv or args.json:
        stream = open_output(args.csv or args.json)
        try:
            if args.csv:
                write_csv(result.rows, stream)
            else:
                write_json(result.rows, result.summary, model, stream)
        finally:
            if stream is not sys.stdout:
                stream.close()
    else:
        print_table(result.rows, sys.stdout, limit=50)
    flagged = sum(1 for r in result.rows if r.flagged)
    errors = sum(1 for r in result.rows if r.error)
    say(f"{len(result.rows)} files scored: {flagged} flagged, {errors} unreadable")
    return 3 if args.fail_on_flag and flagged else 0


def cmd_watch(args, token, bar) -> int:
    from ..core.detect.persistence import load_model
    from ..core.embedding import encoder_for_id
    from ..core.evidence import budget_words
    from ..core.jobs import model_judge, score_file, warm_up_scoring
    from ..core.watch.watcher import FolderWatcher

    detector, info = load_model(args.model)
    encoder = encoder_for_id(info.encoder_id, weights=args.weights)
    warm_up_scoring(encoder, detector)  # before "watching": the first take is not the slow one
    with open_catalog(args) as catalog:
        judge = model_judge(detector, info, catalog, flag_policy(args))
    ready: queue.Queue = queue.Queue()
    watcher = FolderWatcher(
        args.paths, on_ready=ready.put, on_error=lambda path, why: ready.put((path, why)),
    )
    deadline = None if args.duration is None else time.monotonic() + args.duration
    say(f"watching {', '.join(map(str, args.paths))} with {args.model.name} "
        f"(flags about {budget_words(judge.policy.budget)} normal loops); Ctrl-C to stop")
    with watcher:
        while not token.cancelled and (deadline is None or time.monotonic() < deadline):
            try:
                item = ready.get(timeout=0.2)
            except queue.Empty:
                continue
            if isinstance(item, tuple):
                print(f"error {item[0]}: {item[1]}", flush=True)
                continue
            row = score_file(item, encoder, detector, judge)
            if row.error:
                print(f"error {row.path}: {row.error}", flush=True)
            else:
                mark = "FLAG" if row.flagged else "ok"
                why = reasons_text(row)
                print(f"{mark} {row.score:.4g} {row.path}" + (f"  [{why}]" if why else ""),
                      flush=True)
    return 0


def cmd_weights(args, token, bar) -> int:
    from ..core.embedding import weights

    if args.action == "status":
        for entry in weights.weights_status():
            print(json.dumps(entry, default=str))
        return 0
    if args.action == "download":
        source = weights.download_weights(args.variant, progress=_download_reporter(bar))
    else:
        if not args.file.exists():
            raise AnomalizerError(f"no such file: {args.file}")
        source = weights.import_checkpoint(args.file, variant=args.variant)
    bar.close()
    say(f"{source.variant} weights ready ({source.origin}): {source.path}")
    return 0


def cmd_demo(args, token, bar) -> int:
    from ..core.demo import write_demo_library

    demo = write_demo_library(args.dir, n_normal=args.count, seed=args.seed)
    say(f"wrote {len(demo.normal) + len(demo.oddities)} loops to {demo.root} "
        f"({len(demo.oddities)} planted oddities)")
    return 0

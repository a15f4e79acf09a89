"""`anomalizer`: the headless front end. Exit codes: 0 ok, 1 user error, 2 unexpected, 3 flagged
(with --fail-on-flag), 130 cancelled with Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before anything imports torch

from .. import __version__
from ..core.cluster import ENGINES
from ..core.config import THREADS_ENV
from ..core.errors import AnomalizerError, Cancelled
from ..core.progress import CancelToken
from . import commands, exchange_cmd
from .progress_bar import ProgressBar

log = logging.getLogger("anomalizer_desktop.cli")

EXIT_OK, EXIT_USER, EXIT_UNEXPECTED, EXIT_FLAGGED, EXIT_CANCELLED = 0, 1, 2, 3, 130
ENCODER_CHOICES = ("auto", "clap-fused", "clap-music", "spectral")
NETWORK_CHOICES = ("AEwRES", "AE", "iforest", "pca")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anomalizer",
        description="Find the odd loops in a sample library (HTS-AT+FFM embeddings + Deep SVDD).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--catalog", type=Path, help="catalog database (default: in the app's data dir)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    parser.add_argument("--threads", type=_threads, metavar="N",
                        help="CPU threads for the encoder (default: every core)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def encoder_options(p: argparse.ArgumentParser, choose: bool = True) -> None:
        if choose:
            p.add_argument("--encoder", default="auto", choices=ENCODER_CHOICES,
                           help="embedding model (auto = clap-fused if its weights are here, else spectral)")
        p.add_argument("--weights", type=Path, help="encoder weights: a LAION .pt or a transformers folder")
        p.add_argument("--download", action="store_true", help="download missing encoder weights (needs internet)")

    p = sub.add_parser("scan", help="catalog and embed every audio file under a folder")
    p.add_argument("paths", nargs="+", type=Path, metavar="LIBRARY_DIR")
    p.add_argument("--no-embed", action="store_true", help="only catalog files, do not embed")
    p.add_argument("--engine", default="local", choices=ENGINES,
                   help="local (default) or ray: a Ray Data pipeline on a cluster's CPUs and "
                        "GPUs (pip install 'anomalizer-desktop[cluster]')")
    p.add_argument("--address", metavar="ADDR",
                   help="the Ray cluster to join ('auto': the one this machine is part of); "
                        "default: start a Ray on this machine")
    link_option(p)
    encoder_options(p)

    p = sub.add_parser("train", help="train a personal model on a library")
    p.add_argument("paths", nargs="+", type=Path, metavar="LIBRARY_DIR")
    p.add_argument("--model", type=Path, required=True, help="model file to write (*.anomalizer)")
    p.add_argument("--network", default="AEwRES", choices=NETWORK_CHOICES, type=_network)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, help="maximum epochs per training phase")
    p.add_argument("--folds", type=_folds, default=None, metavar="K",
                   help="cross-fit K models so every library loop is scored by one that never "
                        "saw it (default 5; 1 = a single model, faster, less well calibrated)")
    p.add_argument("--reference", type=Path, action="append", default=[], metavar="DIR",
                   help="learn what normal sounds like from the loops in DIR only (repeatable) "
                        "and score the rest of the library against them; default: learn from "
                        "the whole library")
    link_option(p)
    encoder_options(p)

    p = sub.add_parser("score", help="score files or folders with a trained model")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--model", type=Path, required=True)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", metavar="FILE", help="write rows as CSV ('-' = stdout)")
    out.add_argument("--json", metavar="FILE", help="write rows as JSON ('-' = stdout)")
    p.add_argument("--fail-on-flag", action="store_true", help="exit with 3 when any file is flagged")
    link_option(p)
    check_options(p)
    encoder_options(p, choose=False)

    p = sub.add_parser("watch", help="score every new finished file in a folder (e.g. DAW exports)")
    p.add_argument("paths", nargs="+", type=Path, metavar="EXPORT_DIR")
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--duration", type=float, help=argparse.SUPPRESS)  # stop after N s (tests)
    check_options(p)
    encoder_options(p, choose=False)

    p = sub.add_parser("localise", help="where in one take it is unusual (sliding windows) and "
                                        "what the signal checks found")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--window", type=float, default=2.0, help="window length in seconds (2)")
    p.add_argument("--hop", type=float, default=0.5, help="seconds between windows (0.5)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", metavar="FILE", help="write the windows as CSV ('-' = stdout)")
    out.add_argument("--json", metavar="FILE", help="windows and findings as JSON ('-' = stdout)")
    check_options(p)
    encoder_options(p, choose=False)

    p = sub.add_parser("similar", help="the library loops that sound most like a file")
    p.add_argument("file", type=Path, metavar="FILE", help="any audio file, in the library or not")
    p.add_argument("--library", type=Path, metavar="DIR",
                   help="search only below this folder (default: every scanned file)")
    p.add_argument("-k", type=_positive, default=10, metavar="N", help="how many (10)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", metavar="FILE", help="rows rank,path,distance as CSV ('-' = stdout)")
    out.add_argument("--json", metavar="FILE", help="the rows as JSON ('-' = stdout)")
    encoder_options(p)

    p = sub.add_parser("duplicates", help="the same loop more than once: exact copies and "
                                          "near copies (other level, rate, codec or trim)")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", metavar="FILE", help="rows group,path,match as CSV ('-' = stdout)")
    out.add_argument("--json", metavar="FILE", help="the rows as JSON ('-' = stdout)")

    p = sub.add_parser("weights", help="pre-trained encoder weights: status, download, import")
    wsub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    wsub.add_parser("status", help="which weights are on this machine")
    d = wsub.add_parser("download", help="download weights from the Hugging Face hub")
    d.add_argument("variant", nargs="?", default="clap-fused", choices=("clap-fused", "clap-music"))
    i = wsub.add_parser("import", help="import a local checkpoint (LAION .pt or transformers folder)")
    i.add_argument("file", type=Path)
    i.add_argument("--variant", choices=("clap-fused", "clap-music"), help="default: detected")

    p = sub.add_parser("demo", help="write a small demo library with a few planted oddities")
    p.add_argument("dir", type=Path)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--count", type=int, default=100, help="number of normal loops")
    exchange_cmd.add_parsers(sub)
    return parser


def link_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--follow-links", action="store_true",
                   help="also walk symlinked folders that lead outside the given folders "
                        "(default: they are listed and skipped)")


def check_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--flag-one-in", type=_one_in, default=20, metavar="N",
                   help="flag budget: about 1 in N normal loops of the library is flagged "
                        "(default 20; 2..1000)")
    p.add_argument("--severity", default="low", type=_severity, metavar="LEVEL",
                   help="weakest signal-check finding that counts as evidence: low (default), "
                        "medium, high, or 0..1")
    p.add_argument("--disable-check", action="append", default=[], metavar="KIND",
                   help="ignore one signal check (repeatable), e.g. clipping, hum, off_grid")
    p.add_argument("--no-checks", action="store_true", help="flag by the learned score only")


def _threads(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("use a whole number of threads, e.g. 2") from None
    if not 1 <= number <= 512:
        raise argparse.ArgumentTypeError("use 1 to 512 threads")
    return number


def _one_in(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("use a whole number, e.g. 20 for 1 in 20") from None
    if not 2 <= number <= 1000:
        raise argparse.ArgumentTypeError("use a number from 2 (half the loops) to 1000")
    return number


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("use a whole number, e.g. 10") from None
    if not 1 <= number <= 10_000:
        raise argparse.ArgumentTypeError("use a number from 1 to 10000")
    return number


def _folds(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("use a whole number of folds, e.g. 5") from None
    if not 1 <= number <= 20:
        raise argparse.ArgumentTypeError("use 1 (no cross-fitting) to 20 folds")
    return number


def _severity(value: str) -> float:
    levels = {"low": 0.2, "medium": 0.5, "high": 0.8}
    if value.lower() in levels:
        return levels[value.lower()]
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError("use low, medium, high or a number from 0 to 1") from None
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError("severity must be between 0 and 1")
    return number


def _network(value: str) -> str:
    for name in NETWORK_CHOICES:
        if value.lower() == name.lower():
            return name
    return value


def configure_logging(verbose: bool) -> Path | None:
    """stderr gets warnings (or everything with -v); a log file in the data dir gets details."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO if verbose else logging.WARNING)
    console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root.addHandler(console)
    for noisy in ("numba", "urllib3", "httpx", "filelock", "huggingface_hub", "watchdog"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        from ..core.config import data_dir

        log_dir = data_dir() / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / "anomalizer.log"
        handler = logging.FileHandler(log_path, encoding="utf-8")
        handler.setLevel(logging.DEBUG if verbose else logging.INFO)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        root.addHandler(handler)
        return log_path
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads:
        os.environ[THREADS_ENV] = str(args.threads)
    handlers_before = list(logging.getLogger().handlers)
    log_path = configure_logging(args.verbose)
    token = CancelToken()
    bar = ProgressBar(enabled=not args.quiet)
    previous = _install_sigint(token)
    try:
        return commands.run(args, token, bar)
    except Cancelled as exc:
        bar.close()
        print(f"cancelled: {exc}", file=sys.stderr)
        return EXIT_CANCELLED
    except AnomalizerError as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        bar.close()
        print("aborted", file=sys.stderr)
        return EXIT_CANCELLED
    except BrokenPipeError:  # e.g. `anomalizer score ... --csv - | head`: the reader left
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush stays quiet
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        bar.close()
        log.exception("unexpected error")
        where = f" (traceback in {log_path})" if log_path else ""
        print(f"error: unexpected {type(exc).__name__}: {exc}{where}", file=sys.stderr)
        return EXIT_UNEXPECTED
    finally:
        bar.close()
        signal.signal(signal.SIGINT, previous)
        _remove_handlers_since(handlers_before)


def _remove_handlers_since(before: list[logging.Handler]) -> None:
    """Take away the log handlers this run added: ``main`` called again in one process (tests,
    scripts) must not log twice, nor into a stderr that was replaced since."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h not in before]:
        root.removeHandler(handler)
        handler.close()


def _install_sigint(token: CancelToken):
    """First Ctrl-C asks the job to stop after the current unit of work; the second aborts."""

    def handler(signum, frame):
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()
        print("\nstopping after the current step (Ctrl-C again to abort)...", file=sys.stderr)

    return signal.signal(signal.SIGINT, handler)


if __name__ == "__main__":
    sys.exit(main())

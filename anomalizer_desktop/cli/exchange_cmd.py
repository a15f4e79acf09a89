"""`anomalizer export --parquet` and `anomalizer import`: a catalog as one Parquet file, and back."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parsers(sub) -> None:
    p = sub.add_parser("export", help="write the catalog (files, embeddings, findings, facets, "
                                      "scores) to a Parquet file for pandas, polars or duckdb")
    p.add_argument("--parquet", type=Path, required=True, metavar="OUT",
                   help="the Parquet file to write")
    p.add_argument("--under", type=Path, metavar="DIR",
                   help="only the files below this folder (default: every file)")
    p = sub.add_parser("import", help="bring a Parquet file written by `export` into the catalog")
    p.add_argument("file", type=Path, metavar="FILE.parquet")


def cmd_export(args: argparse.Namespace, token, bar) -> int:
    from ..core.catalog.parquet_exchange import export_parquet
    from .commands import open_catalog, say

    with open_catalog(args) as catalog:
        result = export_parquet(catalog, args.parquet, args.under, progress=bar.update,
                                token=token)
    bar.close()
    say(f"{summary(result)} written to {result.path}")
    return 0


def cmd_import(args: argparse.Namespace, token, bar) -> int:
    from ..core.catalog.parquet_exchange import import_parquet
    from .commands import open_catalog, say

    with open_catalog(args) as catalog:
        result = import_parquet(catalog, args.file, progress=bar.update, token=token)
        where = catalog.path or "the catalog"
    bar.close()
    say(f"{summary(result)} imported from {result.path} into {where}")
    return 0


def summary(result) -> str:
    """e.g. "12,345 files, 2 encoders' embeddings, 3,400 findings, 12,000 scores"."""
    encoders = sum(1 for n in result.embeddings.values() if n)
    whose = "1 encoder's" if encoders == 1 else f"{encoders} encoders'"
    return (f"{result.files:,} files, {whose} embeddings, {result.findings:,} findings, "
            f"{result.facets:,} facets, {result.scores:,} scores")

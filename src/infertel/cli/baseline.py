"""``infertel baseline build``: describe training data as a versioned baseline JSON file.

Reads CSV or Parquet with polars (fast, streams Parquet), hashes the file's bytes for the
provenance, and bins every feature (progress shown per step). Errors print one line to stderr
and exit 2. The summary names features, kinds and bin counts, never values.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any, Final, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

EXIT_USAGE: Final = 2
_SUFFIXES: Final = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_CHUNK: Final = 1 << 20

app = typer.Typer(help="Build training-data baselines for drift monitoring.",
                  no_args_is_help=True)


def _names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [part.strip() for part in value.split(",") if part.strip()]
    return names or None


@app.command("build")
def build(
    data: Annotated[Path, typer.Argument(help="Training or validation data: .csv or .parquet.",
                                         show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Baseline file to write.")] = Path(
        "baseline.json"),
    features: Annotated[str | None, typer.Option(
        help="Comma-separated feature columns (default: all but the prediction columns).")] = None,
    prediction: Annotated[str | None, typer.Option(
        help="Numeric prediction (score) column.")] = None,
    prediction_class: Annotated[str | None, typer.Option(
        help="Predicted class column, for classifiers.")] = None,
    categorical: Annotated[str | None, typer.Option(
        help="Comma-separated numeric columns to treat as categories.")] = None,
    dataset_version: Annotated[str | None, typer.Option(
        help="Dataset version recorded in the provenance.")] = None,
    bins: Annotated[int, typer.Option(min=1, max=1000, help="Quantile bins per numeric "
                                      "feature (plus underflow and overflow).")] = 20,
    k_floor: Annotated[int, typer.Option(min=1, help="Categories seen fewer times than this "
                                         "become __other__ (k-anonymity floor).")] = 10,
) -> None:
    """Build a baseline (bins, shares, schema, provenance) from a CSV or Parquet file."""
    from infertel.monitor import Baseline, BaselineError
    from infertel.monitor._baseline import build_baseline

    err = Console(stderr=True)
    kind = _SUFFIXES.get(data.suffix.lower())
    if not data.is_file():
        _fail(err, f"data file not found: {data}")
    if kind is None:
        _fail(err, f"{data}: unsupported file type {data.suffix!r} (use .csv or .parquet)")
    wanted = _names(features)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn(
        "{task.completed}/{task.total}"), TimeElapsedColumn(), console=err, transient=True)
    with progress:
        reading = progress.add_task(f"reading {data.name}", total=2)
        frame = _read(err, data, kind)
        progress.advance(reading)
        digest = _sha256(data)
        progress.advance(reading)
        columns = len(wanted) if wanted else len(frame.columns)
        binning = progress.add_task("binning", total=columns)

        def step(name: str) -> None:
            progress.update(binning, description=f"binning {name}")
            progress.advance(binning)

        try:
            baseline: Baseline = build_baseline(
                frame, features=wanted, prediction=prediction,
                prediction_class=prediction_class, bins=bins, k_floor=k_floor,
                dataset_version=dataset_version, content_sha256=digest,
                categorical=_names(categorical), progress=step)
        except BaselineError as error:
            _fail(err, str(error))
    try:
        baseline.save(out)
    except OSError as error:
        _fail(err, f"cannot write {out}: {error.strerror or error}")
    _summary(Console(), baseline, out)


def _read(err: Console, data: Path, kind: str) -> Any:
    import polars as pl

    try:
        if kind == "parquet":
            return pl.read_parquet(data)
        separator = "\t" if data.suffix.lower() == ".tsv" else ","
        return pl.read_csv(data, separator=separator, infer_schema_length=10_000)
    except (pl.exceptions.PolarsError, OSError, ValueError) as error:
        # Only the error's type: a reader's message can quote the offending cell, and training
        # data may be personal.
        _fail(err, f"cannot read {data} as {kind} ({type(error).__name__}); check that it is "
                   f"a valid {kind} file with a header row")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _summary(console: Console, baseline: Any, out: Path) -> None:
    table = Table(title=f"Baseline written to {out}")
    for column in ("feature", "kind", "type", "bins", "missing"):
        table.add_column(column, justify="right" if column in ("bins", "missing") else "left")
    for name, feature in baseline.features.items():
        table.add_row(name, feature.kind, feature.dtype, str(feature.n_bins),
                      f"{feature.missing_rate:.1%}")
    console.print(table)
    p = baseline.provenance
    console.print(f"{p.rows} rows, sha256 {p.content_sha256[:16]}..., schema "
                  f"{baseline.schema_hash[:19]}...")


def _fail(err: Console, message: str) -> NoReturn:
    del err  # plain echo: rich would wrap a long path in the middle of the message
    typer.echo(f"infertel baseline: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)

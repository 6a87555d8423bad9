"""``infertel drift``: drift scores recomputed from the exported histograms of a whole fleet.

Every process that wrote into the store (or into a Collector's file output) is merged series by
series (see :mod:`infertel.monitor._fleet`), then judged window by window with the same levels
and hysteresis as the SDK. The baseline and settings come from ``--baseline`` or, by default,
from the ``ml.drift.baseline`` event the SDK writes at ``configure()``. Output holds bin bounds,
shares, scores, levels and trace ids only. Exit 2: the store or the baseline cannot be used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Final, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from infertel import conventions as c
from infertel.config import DEFAULT_LOCAL_DIR

EXIT_USAGE: Final = 2
BY_CHOICES: Final = ("group", "version", "ring")


def drift(
    store: Annotated[Path | None, typer.Argument(
        help="Store or collector output folder (default: $INFERTEL_LOCAL_DIR or "
             "./infertel-data).", show_default=False)] = None,
    baseline: Annotated[Path | None, typer.Option(
        help="Baseline JSON (default: the one the SDK recorded in the store).")] = None,
    by: Annotated[str, typer.Option(
        help="group: per model, version and ring; version: rings merged; ring: versions "
             "merged.")] = "group",
    window: Annotated[str | None, typer.Option(
        help="Window length, e.g. 5m (default: the SDK's, else 5m).")] = None,
    min_count: Annotated[int | None, typer.Option(
        min=1, help="Calls a window needs to be judged (default: the SDK's, else 1000).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Drift per feature over every process that wrote into the store: scores, levels, events."""
    from infertel.monitor import BaselineError
    from infertel.tools._store import StoreError, describe_skipped

    path = store or Path(os.environ.get("INFERTEL_LOCAL_DIR", DEFAULT_LOCAL_DIR))
    if by not in BY_CHOICES:
        _fail(f"--by must be one of {', '.join(BY_CHOICES)}, not {by!r}")
    try:
        metrics, logs, stats = read_store(path)
        config = drift_config(logs, baseline, window, min_count)
    except (StoreError, BaselineError, ValueError) as error:
        _fail(str(error))
    from infertel.monitor._fleet import fleet_drift

    result = fleet_drift(metrics, config, by=by)  # type: ignore[arg-type]
    if result.series == 0:
        _fail(f"no {c.METRIC_FEATURE_DISTRIBUTION} / {c.METRIC_FEATURE_CATEGORIES} series "
              f"matching the baseline in {path}")
    report = drift_report(result, config, stored_events(logs), by)
    skipped = describe_skipped(stats)
    if skipped:
        Console(stderr=True).print(f"[yellow]{skipped}[/]")
    if as_json:
        typer.echo(json.dumps({"store": str(path), **report}, indent=1))
    else:
        _print(Console(), report)


def read_store(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Any]:
    """Metric export requests and log rows of the store (raises StoreError)."""
    from infertel.tools._store import ReadStats, StoreError, iter_documents, log_rows

    stats = ReadStats()
    metrics: list[dict[str, Any]] = []
    logs: list[dict[str, Any]] = []
    for document in iter_documents(path, stats):
        if document.signal == "metrics":
            metrics.append(document.data)
        elif document.signal == "logs":
            logs.extend(row for row in log_rows(document.data)
                        if row.get("event_name") in _EVENTS)
    if stats.total_documents == 0:
        raise StoreError(f"no telemetry records under {path}")
    return metrics, logs, stats


_EVENTS: Final = (c.EVENT_DRIFT_BASELINE, c.EVENT_DRIFT_DETECTED, c.EVENT_SCHEMA_CHANGED,
                  c.EVENT_ROLLOUT_DECISION)


def drift_config(logs: Iterable[Mapping[str, Any]], baseline: Path | None, window: str | None,
                 min_count: int | None) -> Any:
    """The settings to judge with: the stored ones, overridden by the options given."""
    from infertel.monitor import Baseline, DriftConfig, DriftRules
    from infertel.monitor._config import config_from_event

    stored = None
    for row in sorted((r for r in logs if r.get("event_name") == c.EVENT_DRIFT_BASELINE),
                      key=lambda r: r.get("time") or ""):
        stored = config_from_event(row.get("body"))  # the latest configure() wins
    if baseline is None and stored is None:
        raise ValueError("the store holds no ml.drift.baseline event (was drift configured?); "
                         "pass --baseline baseline.json")
    base = Baseline.load(baseline) if baseline is not None else stored.baseline  # type: ignore[union-attr]
    rules = stored.rules if stored is not None else DriftRules()
    if min_count is not None:
        rules = rules.model_copy(update={"min_count": min_count})
    kinds = {name: feature.kind for name, feature in base.features.items()}
    chosen = window if window is not None else (stored.window if stored is not None else "5m")
    return DriftConfig(baseline=base, features=kinds, window=chosen, rules=rules)


def stored_events(logs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The drift, schema and rollout events the processes wrote (bodies as they are)."""
    events = []
    for row in logs:
        if row.get("event_name") == c.EVENT_DRIFT_BASELINE:
            continue
        body = row.get("body")
        events.append({"event": row.get("event_name"), "time": row.get("time"),
                       "body": body if isinstance(body, dict) else {"value": body}})
    return sorted(events, key=lambda e: str(e["time"]))


def drift_report(result: Any, config: Any, events: list[dict[str, Any]], by: str) -> dict[str, Any]:
    from infertel.monitor._windows import LEVELS, rank

    totals = result.total_scores(config)
    features: list[dict[str, Any]] = []
    for (group, name), scores in sorted(totals.items()):
        windows = [w for w in result.windows if w.group == group and w.feature == name]
        worst = max((rank(w.level) for w in windows), default=0)
        features.append({
            "model": group[0], "version": group[1], "ring": group[2], "feature": name,
            "kind": config.baseline.features[name].kind,
            "state": result.states.get((group, name), "ok"),
            "max_window_level": LEVELS[worst],
            "calls": sum(result.totals[(group, name)]),
            "scores": {k: round(v, 6) for k, v in scores.items()},
            "windows": [{"start_ns": w.window_start_ns, "end_ns": w.window_end_ns,
                         "count": w.count, "level": w.level, "state": w.state,
                         "scores": {k: round(v, 6) for k, v in w.scores.items()}}
                        for w in windows],
        })
    return {
        "by": by,
        "window_s": config.window,
        "min_count": config.rules.min_count,
        "thresholds": {k: list(v) for k, v in config.rules.thresholds.items()},
        "baseline_schema_hash": config.baseline.schema_hash,
        "series": result.series,
        "features": features,
        "state_changes": [e.body() for e in result.events],
        "stored_events": events,
    }


_STYLE: Final = {"ok": "green", "warn": "yellow", "alert": "bold red"}


def _print(console: Console, report: dict[str, Any]) -> None:
    table = Table(title=f"Drift by {report['by']} ({report['series']} series merged, windows of "
                        f"{report['window_s']:g} s)")
    for column in ("model", "version", "ring", "feature", "state", "worst window", "calls",
                   "psi", "js", "windows"):
        table.add_column(column, justify="right" if column in ("calls", "psi", "js",
                                                               "windows") else "left")
    for f in report["features"]:
        state = f"[{_STYLE[f['state']]}]{f['state']}[/]"
        table.add_row(f["model"], f["version"], f["ring"], f["feature"], state,
                      f["max_window_level"], str(f["calls"]), f"{f['scores']['psi']:.3f}",
                      f"{f['scores']['js_distance']:.3f}", str(len(f["windows"])))
    console.print(table)
    detected = [e for e in report["stored_events"] if e["event"] == c.EVENT_DRIFT_DETECTED]
    for event in detected:
        body = event["body"]
        ids = body.get("exemplar_trace_ids") or []
        console.print(f"{event['time']}  {body.get('feature')}: {body.get('previous')} -> "
                      f"{body.get('state')}" + (f"  infertel query --trace {ids[0]}" if ids
                                                else ""))


def _fail(message: str) -> NoReturn:
    typer.echo(f"infertel drift: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)

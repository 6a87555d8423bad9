"""``infertel report``: one self-contained HTML file with drift, errors and latency on one
time axis, drift events and rollout decisions marked, and the trace ids to open them.

Plotting: plotly. Its HTML writer can inline plotly.js itself (``include_plotlyjs=True``), so
the file needs no CDN and works offline (a plain file, opened years later, from an air-gapped
laptop), and the charts stay interactive (zoom one panel, the shared time axis follows).
Matplotlib would need a PNG per chart; Bokeh's inline mode works too but plotly was already
in reach as a single wheel with no compiled dependency. Everything else on the page is escaped
text: feature names, bin bounds, scores and trace ids only.
"""

from __future__ import annotations

import html
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Final, NoReturn

import typer

from infertel.cli._report_data import Marker, ReportData, gather
from infertel.config import DEFAULT_LOCAL_DIR

EXIT_USAGE: Final = 2
_COLORS: Final = {"drift": "#c62828", "rollout": "#1565c0"}


def report(
    store: Annotated[Path | None, typer.Argument(
        help="Store or collector output folder (default: $INFERTEL_LOCAL_DIR or "
             "./infertel-data).", show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "report.html"),
    baseline: Annotated[Path | None, typer.Option(
        help="Baseline JSON (default: the one the SDK recorded in the store).")] = None,
    window: Annotated[str | None, typer.Option(
        help="Drift window length, e.g. 5m (default: the SDK's, else 5m).")] = None,
) -> None:
    """Write a self-contained HTML report: drift, error rate and latency, events, trace ids."""
    from infertel.tools._store import StoreError

    path = store or Path(os.environ.get("INFERTEL_LOCAL_DIR", DEFAULT_LOCAL_DIR))
    try:
        data = gather(path, baseline, window)
    except (StoreError, ValueError) as error:
        _fail(str(error))
    try:
        page = render(data)
    except ImportError as error:  # plotly is the monitor extra's; say so, literally
        _fail(f"the report needs {error.name or 'plotly'}: pip install 'infertel[monitor]'")
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as error:
        _fail(f"cannot write {out}: {error.strerror or error}")
    drift_events = sum(1 for m in data.markers if m.kind == "drift")
    typer.echo(f"wrote {out} ({len(page) // 1024} KiB): {len(data.drift)} drift windows, "
               f"{drift_events} drift event(s), {len(data.traffic)} traffic points")


def figure(data: ReportData) -> Any:
    """Three panels sharing one time axis: drift (PSI), error rate, p50/p95 latency."""
    import plotly.graph_objects as go  # type: ignore[import-untyped,unused-ignore]
    from plotly.subplots import make_subplots  # type: ignore[import-untyped,unused-ignore]

    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=("Drift per feature (PSI per window)",
                                        "Error rate per version and ring",
                                        "Latency p50 (solid) / p95 (dotted) per version and "
                                        "ring, ms"))
    series: dict[tuple[str, str], list[Any]] = {}
    for point in data.drift:
        series.setdefault((point.group, point.feature), []).append(point)
    for (group, feature), points in sorted(series.items()):
        fig.add_trace(go.Scatter(
            x=[p.time for p in points], y=[p.psi for p in points], mode="lines+markers",
            name=f"{feature} ({group})", legendgroup="drift",
            customdata=[[p.js_distance, p.level, p.state] for p in points],
            hovertemplate="%{x}<br>PSI %{y:.3f}, JS %{customdata[0]:.3f}<br>window "
                          "%{customdata[1]}, state %{customdata[2]}<extra>" + feature
                          + "</extra>"), row=1, col=1)
    warn, alert = data.thresholds.get("psi", (0.1, 0.25))
    if data.drift:
        for level, value, dash in (("warn", warn, "dash"), ("alert", alert, "dot")):
            fig.add_hline(y=value, line_dash=dash, line_color="#888", row=1, col=1,
                          annotation_text=f"PSI {level} {value:g}", annotation_position="right")
    traffic: dict[tuple[str, str], list[Any]] = {}
    for t in data.traffic:
        traffic.setdefault((t.version, t.ring), []).append(t)
    for (version, ring), points in sorted(traffic.items()):
        name = f"{version} {ring}"
        x = [p.time for p in points]
        fig.add_trace(go.Scatter(x=x, y=[p.error_rate for p in points], mode="lines+markers",
                                 name=f"errors {name}", legendgroup=name,
                                 hovertemplate="%{y:.1%} of %{customdata} calls",
                                 customdata=[p.calls for p in points]), row=2, col=1)
        fig.add_trace(go.Scatter(x=x, y=[p.p50_ms for p in points], mode="lines",
                                 name=f"p50 {name}", legendgroup=name), row=3, col=1)
        fig.add_trace(go.Scatter(x=x, y=[p.p95_ms for p in points], mode="lines",
                                 line={"dash": "dot"}, name=f"p95 {name}",
                                 legendgroup=name), row=3, col=1)
    fig.update_yaxes(tickformat=".0%", row=2, col=1)
    for marker in data.markers:
        # One vertical line across all three panels per event, labelled on the top one.
        fig.add_vline(x=marker.time.timestamp() * 1000, line_color=_COLORS[marker.kind],
                      line_width=2, line_dash="dash" if marker.kind == "rollout" else "solid")
        fig.add_annotation(x=marker.time, y=1.0, yref="paper", text=marker.title,
                           showarrow=False, textangle=-90, xanchor="right", yanchor="top",
                           font={"color": _COLORS[marker.kind], "size": 10})
    fig.update_layout(height=900, template="plotly_white", hovermode="x unified",
                      margin={"l": 60, "r": 140, "t": 60, "b": 40},
                      legend={"orientation": "v"})
    return fig


def render(data: ReportData) -> str:
    """The whole page; plotly.js is inlined once, so the file opens offline."""
    fig = figure(data)
    plot = fig.to_html(full_html=False, include_plotlyjs=True, div_id="infertel-timeline",
                       config={"displaylogo": False, "responsive": True})
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    e = html.escape
    states = "".join(
        f"<tr><td>{e(key)}</td><td class='{e(state)}'>{e(state)}</td></tr>"
        for key, state in sorted(data.final_states.items()))
    notes = "".join(f"<li>{e(note)}</li>" for note in data.notes)
    return _PAGE.format(
        store=e(str(data.store)), made=e(made), plot=plot, events=_events(data.markers),
        states=states or "<tr><td colspan='2'>no drift data</td></tr>",
        notes=f"<ul class='notes'>{notes}</ul>" if notes else "",
        window=e(f"{data.window_s:g} s" if data.window_s else "n/a"))


def _events(markers: list[Marker]) -> str:
    e = html.escape
    if not markers:
        return "<p id='no-events'>No drift events or rollout decisions in this store.</p>"
    rows = []
    for marker in markers:
        commands = "".join(
            f"<li><code>infertel query --trace {e(trace)}</code></li>"
            for trace in marker.trace_ids)
        rows.append(
            f"<tr class='event {e(marker.kind)}'><td>{e(marker.time.isoformat())}</td>"
            f"<td>{e(marker.kind)}</td><td>{e(marker.title)}</td><td>{e(marker.detail)}</td>"
            f"<td><ul>{commands or '<li>-</li>'}</ul></td></tr>")
    return ("<table id='events'><thead><tr><th>time (UTC)</th><th>kind</th><th>event</th>"
            "<th>evidence</th><th>example traces</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _fail(message: str) -> NoReturn:
    typer.echo(f"infertel report: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


_PAGE: Final = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>infertel report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }}
td, th {{ border: 1px solid #ddd; padding: 0.3rem 0.6rem; vertical-align: top; }}
th {{ background: #f4f4f4; text-align: left; }}
tr.drift td:nth-child(2) {{ color: #c62828; font-weight: 600; }}
tr.rollout td:nth-child(2) {{ color: #1565c0; font-weight: 600; }}
td.alert {{ color: #c62828; font-weight: 600; }} td.warn {{ color: #b26a00; }}
td.ok {{ color: #2e7d32; }} code {{ background: #f4f4f4; padding: 0 0.2rem; }}
ul {{ margin: 0; padding-left: 1rem; }} .notes {{ color: #666; }}
</style></head><body>
<h1>infertel report</h1>
<p>Store <code>{store}</code>, generated {made}. Drift windows: {window}. Everything here comes
from exported telemetry: bin counts, scores, levels and trace ids; no payload values.</p>
{notes}
{plot}
<h2>Drift events and rollout decisions</h2>
{events}
<h2>Drift state per feature at the end of the store</h2>
<table id="states"><thead><tr><th>model version ring / feature</th><th>state</th></tr></thead>
<tbody>{states}</tbody></table>
</body></html>
"""

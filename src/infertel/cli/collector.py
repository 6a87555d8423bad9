"""``infertel collector start|stop|status``: a local collector (rotel) for development.

It receives OTLP on 127.0.0.1 (gRPC 4317, HTTP 4318 by default), scrubs what arrives with
infertel's own scrubber (a second privacy layer) and writes it as OTLP/JSON lines under
``--out`` in the local store's layout, so ``infertel query`` and ``infertel scan`` read it.
Exit codes: 0 done (``status``: running), 1 the collector could not be started or stopped,
3 ``status`` found no collector running (as LSB init scripts say "not running").
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.text import Text

from infertel.cli._output import console, error, plain, program
from infertel.tools import _collector
from infertel.tools._rotel import ENV_OUT

EXIT_FAILED: Final = 1
EXIT_NOT_RUNNING: Final = 3

app = typer.Typer(
    name="collector",
    help="Run a local collector (rotel) that scrubs and stores what services send over OTLP.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

OutOption = Annotated[
    Path | None,
    typer.Option("--out", help="Output folder (default: $INFERTEL_COLLECTOR_OUT or "
                               f"./{_collector.DEFAULT_OUT}).", show_default=False),
]


def _out(out: Path | None) -> Path:
    return out or Path(os.environ.get(ENV_OUT) or _collector.DEFAULT_OUT)


def _fail(message: str) -> typer.Exit:
    # Plain: the message may hold pip install 'infertel[collector]', which markup would eat.
    error("collector", message)
    return typer.Exit(EXIT_FAILED)


def _describe(state: _collector.CollectorState) -> str:
    return (f"pid {state.pid}, OTLP gRPC {state.host}:{state.grpc_port}, OTLP HTTP "
            f"{state.host}:{state.http_port}, output {state.out}, log {state.log}")


@app.command("start")
def start(
    out: OutOption = None,
    grpc_port: Annotated[int, typer.Option(help="OTLP gRPC port.", min=1, max=65535)] = (
        _collector.DEFAULT_GRPC_PORT),
    http_port: Annotated[int, typer.Option(help="OTLP HTTP port.", min=1, max=65535)] = (
        _collector.DEFAULT_HTTP_PORT),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = _collector.DEFAULT_HOST,
    binary: Annotated[
        str | None,
        typer.Option(help=f"rotel binary (default: ${_collector.ENV_BINARY}, else the one the "
                          "rotel package installs).", show_default=False),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the collector to be ready.", min=0.1)
    ] = _collector.START_TIMEOUT_S,
    policy: Annotated[
        Path | None,
        typer.Option(metavar="FILE",
                     help="The services' privacy policy (JSON, as `infertel scan --policy` "
                          "reads it): the collector scrubs by it instead of the defaults.",
                     show_default=False),
    ] = None,
) -> None:
    """Start the collector in the background; returns once it accepts connections."""
    try:
        with console(stderr=True).status(Text("starting rotel...")):
            state = _collector.start(_out(out), host=host, grpc_port=grpc_port,
                                     http_port=http_port, binary=binary, timeout=timeout,
                                     policy_file=policy)
    except _collector.CollectorError as problem:
        raise _fail(str(problem)) from None
    plain(f"running: {_describe(state)}")
    folder = shlex.quote(state.out)
    plain(f"send telemetry with OTEL_EXPORTER_OTLP_ENDPOINT={state.http_endpoint} "
          f"(or {state.grpc_endpoint} with OTEL_EXPORTER_OTLP_PROTOCOL=grpc); read it "
          f"with `{program()} query {folder}` and `{program()} scan {folder}`")


@app.command("stop")
def stop(
    out: OutOption = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait after SIGTERM before SIGKILL.", min=0.0)
    ] = _collector.STOP_TIMEOUT_S,
) -> None:
    """Stop the collector writing to --out (SIGTERM, then SIGKILL after --timeout)."""
    try:
        state = _collector.stop(_out(out), timeout=timeout)
    except _collector.CollectorError as problem:
        raise _fail(str(problem)) from None
    if state is None:
        plain(f"stopped: no collector was running for {_out(out)}")
    else:
        plain(f"stopped: rotel pid {state.pid}; its output stays in {state.out}")


@app.command("status")
def status(out: OutOption = None) -> None:
    """Say whether the collector writing to --out is running, with its ports and pid."""
    state = _collector.status(_out(out))
    if state is None:
        plain(f"stopped: no collector running for {_out(out)}")
        raise typer.Exit(EXIT_NOT_RUNNING)
    plain(f"running: {_describe(state)}")

"""A local collector: rotel with infertel's processors, started in the background.

``infertel collector start`` runs the rotel agent (the ``rotel`` package ships its binary)
listening for OTLP over gRPC and HTTP on 127.0.0.1, with two Python processors on every
pipeline: infertel's scrubber (a second privacy layer) and a file sink writing OTLP/JSON lines
under ``OUT/{traces,logs,metrics}/``, the local store's layout, so ``infertel query OUT`` and
``infertel scan OUT`` work on what the collector received. rotel has no file exporter; its
``blackhole`` exporter ends the pipeline after the processors.

Bookkeeping lives in ``OUT/.collector/``: the pid and state files, rotel's log, the processor
files rotel loads, and the readiness marker the processors append to once imported (rotel
exits, with status 0, when a processor fails to import, so an open port alone does not mean
the pipeline runs).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

from infertel.tools._rotel import ENV_OUT, ENV_STATE, LOADED_FILE
from infertel.tools._rotel_shims import (
    PROCESSOR_SOURCES,
    write_processors,
)

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_GRPC_PORT: Final = 4317
DEFAULT_HTTP_PORT: Final = 4318
DEFAULT_OUT: Final = "infertel-collector"
ENV_BINARY: Final = "INFERTEL_ROTEL_BINARY"
STATE_DIR: Final = ".collector"
START_TIMEOUT_S: Final = 30.0
STOP_TIMEOUT_S: Final = 5.0

# rotel imports each processor file once per pipeline it is named in.
_SIGNAL_FLAGS: Final = ("--otlp-with-trace-processor", "--otlp-with-logs-processor",
                        "--otlp-with-metrics-processor")
EXPECTED_LOADS: Final = len(_SIGNAL_FLAGS) * len(PROCESSOR_SOURCES)

# Popen objects of collectors this process started: polling them reaps the child (no zombie
# that still answers kill(pid, 0)) and keeps Popen from warning that it is still running.
_children: dict[int, subprocess.Popen[bytes]] = {}


class CollectorError(Exception):
    """The collector cannot be started or stopped; ``str(error)`` is fit to show a user."""


@dataclass(frozen=True)
class CollectorState:
    pid: int
    host: str
    grpc_port: int
    http_port: int
    out: str
    binary: str
    log: str
    started: float

    @property
    def grpc_endpoint(self) -> str:
        return f"http://{self.host}:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        return f"http://{self.host}:{self.http_port}"


# --------------------------------------------------------------------------------- files
def state_dir(out: Path) -> Path:
    return Path(out) / STATE_DIR


def _state_file(out: Path) -> Path:
    return state_dir(out) / "collector.state"  # not *.json: the store reader walks OUT


def pid_file(out: Path) -> Path:
    return state_dir(out) / "rotel.pid"


def log_file(out: Path) -> Path:
    return state_dir(out) / "rotel.log"


def read_state(out: Path) -> CollectorState | None:
    try:
        data = json.loads(_state_file(out).read_text(encoding="utf-8"))
        return CollectorState(**data)
    except (OSError, ValueError, TypeError):
        return None


def _clear_state(out: Path) -> None:
    for path in (_state_file(out), pid_file(out)):
        path.unlink(missing_ok=True)


# ------------------------------------------------------------------------------- binary
def find_binary(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The rotel agent: ``explicit``, else ``$INFERTEL_ROTEL_BINARY``, else the one the
    ``rotel`` package ships, else ``rotel`` on PATH."""
    import importlib.util
    import shutil

    chosen = explicit or os.environ.get(ENV_BINARY)
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise CollectorError(f"rotel binary not found: {path} (from "
                                 f"{'--binary' if explicit else ENV_BINARY})")
        if not os.access(path, os.X_OK):
            raise CollectorError(f"rotel binary is not executable: {path}")
        return path
    spec = importlib.util.find_spec("rotel")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "rotel-agent"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    on_path = shutil.which("rotel") or shutil.which("rotel-agent")
    if on_path:
        return Path(on_path)
    raise CollectorError("rotel binary not found: install it with pip install "
                         f"'infertel[collector]' (or set {ENV_BINARY} to its path)")


# -------------------------------------------------------------------------------- ports
def port_free(host: str, port: int) -> bool:
    """Whether a listener could bind ``host:port`` now (as rotel does, with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise CollectorError(f"cannot use {host}:{port}: {error.strerror}") from error
    return True


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# ------------------------------------------------------------------------------ process
def alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        del _children[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def _is_our_agent(state: CollectorState) -> bool:
    """The pid still names the rotel we started (not a recycled pid)."""
    if not alive(state.pid):
        return False
    try:
        cmdline = Path(f"/proc/{state.pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the pid
    return os.path.basename(state.binary).encode() in cmdline


def python_path() -> str:
    """PYTHONPATH for rotel's embedded Python: where infertel and its dependencies are.

    The running interpreter's path minus its standard library (rotel's interpreter has its
    own), with the folder holding infertel first and any PYTHONPATH already set kept.
    """
    import infertel

    stdlib = {os.path.realpath(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib")}
    entries = [str(Path(infertel.__file__).resolve().parent.parent)]
    entries += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    for entry in sys.path:
        if not entry or not os.path.isdir(entry):
            continue
        real = os.path.realpath(entry)
        in_stdlib = any(real == s or real.startswith(s + os.sep) for s in stdlib)
        if in_stdlib and "site-packages" not in real:
            continue
        entries.append(entry)
    return os.pathsep.join(dict.fromkeys(entries))


def _log_tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _loaded(out: Path) -> int:
    try:
        return len(Path(state_dir(out), LOADED_FILE).read_text(encoding="utf-8").splitlines())
    except OSError:
        return 0


# ---------------------------------------------------------------------------- commands
def start(out: str | os.PathLike[str], *, host: str = DEFAULT_HOST,
          grpc_port: int = DEFAULT_GRPC_PORT, http_port: int = DEFAULT_HTTP_PORT,
          binary: str | os.PathLike[str] | None = None,
          timeout: float = START_TIMEOUT_S,
          policy_file: str | os.PathLike[str] | None = None) -> CollectorState:
    """Start rotel in the background and return once it accepts connections on both ports
    and its processors are loaded; raises :class:`CollectorError` with a clear message.

    ``policy_file``: the services' privacy policy (``_policy_file``), checked here so that a
    bad file is an error now rather than a processor that fails to load inside rotel.
    """
    out = Path(out).resolve()
    policy_env = _policy_environment(policy_file)
    if grpc_port == http_port:
        raise CollectorError(f"--grpc-port and --http-port must differ (both {grpc_port})")
    agent = find_binary(binary)
    running = read_state(out)
    if running is not None:
        if _is_our_agent(running):
            raise CollectorError(
                f"a collector is already running for {out} (pid {running.pid}, gRPC "
                f"{running.host}:{running.grpc_port}, HTTP {running.host}:{running.http_port})")
        _clear_state(out)
    for name, port in (("gRPC", grpc_port), ("HTTP", http_port)):
        if not port_free(host, port):
            raise CollectorError(
                f"{name} port {host}:{port} is already in use (another collector? check with "
                f"`infertel collector status`, or pick another with --{name.lower()}-port)")

    state = state_dir(out)
    state.mkdir(parents=True, exist_ok=True)
    (state / LOADED_FILE).unlink(missing_ok=True)
    processors = write_processors(state / "processors")
    command = [str(agent), "start",
               "--otlp-grpc-endpoint", f"{host}:{grpc_port}",
               "--otlp-http-endpoint", f"{host}:{http_port}",
               "--exporter", "blackhole",
               "--batch-timeout", "100ms"]
    for flag in _SIGNAL_FLAGS:
        for path in processors.values():  # scrub first, then the file sink
            command += [flag, str(path)]
    env = {**os.environ, "PYTHONPATH": python_path(), ENV_OUT: str(out), ENV_STATE: str(state),
           "NO_COLOR": "1", **policy_env}
    log = log_file(out)
    with log.open("ab") as log_handle:
        try:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_handle,
                                       stderr=subprocess.STDOUT, env=env, cwd=state,
                                       start_new_session=True)
        except OSError as error:
            raise CollectorError(f"cannot run {agent}: {error.strerror}") from error
    _children[process.pid] = process
    info = CollectorState(pid=process.pid, host=host, grpc_port=grpc_port, http_port=http_port,
                          out=str(out), binary=str(agent), log=str(log), started=time.time())
    pid_file(out).write_text(f"{process.pid}\n", encoding="utf-8")
    _state_file(out).write_text(json.dumps(asdict(info)), encoding="utf-8")
    try:
        _wait_ready(process, info, timeout)
    except BaseException:
        _terminate(process.pid, STOP_TIMEOUT_S)
        _clear_state(out)
        raise
    return info


def _policy_environment(policy_file: str | os.PathLike[str] | None) -> dict[str, str]:
    if policy_file is None:
        return {}
    from infertel.tools._policy_file import PolicyFileError, load_policy
    from infertel.tools._rotel_scrub import ENV_POLICY

    path = Path(policy_file).resolve()
    try:
        load_policy(path)
    except PolicyFileError as error:
        raise CollectorError(str(error)) from None
    return {ENV_POLICY: str(path)}


def _wait_ready(process: subprocess.Popen[bytes], info: CollectorState, timeout: float) -> None:
    out, log = Path(info.out), Path(info.log)
    deadline = time.monotonic() + timeout
    while True:
        code = process.poll()
        if code is not None:
            tail = _log_tail(log)
            if "Address already in use" in tail:
                raise CollectorError(f"a port is already in use (gRPC {info.grpc_port}, HTTP "
                                     f"{info.http_port}); rotel said:\n{tail}")
            raise CollectorError(f"rotel exited during start (status {code}); the last lines "
                                 f"of {log}:\n{tail}")
        if (_loaded(out) >= EXPECTED_LOADS and port_open(info.host, info.grpc_port)
                and port_open(info.host, info.http_port)):
            return
        if time.monotonic() > deadline:
            raise CollectorError(f"rotel did not become ready within {timeout:g}s (processors "
                                 f"loaded: {_loaded(out)}/{EXPECTED_LOADS}); see {log}:\n"
                                 f"{_log_tail(log)}")
        time.sleep(0.05)


def _terminate(pid: int, timeout: float) -> bool:
    """SIGTERM, then SIGKILL after ``timeout``; True when the process is gone."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            alive(pid)  # reap it if it is our child
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(pid):
                return True
            time.sleep(0.05)
    return not alive(pid)


def stop(out: str | os.PathLike[str], timeout: float = STOP_TIMEOUT_S) -> CollectorState | None:
    """Stop the collector writing to ``out``; returns its state, or None if none was running."""
    out = Path(out).resolve()
    state = read_state(out)
    if state is None:
        return None
    if not _is_our_agent(state):
        _clear_state(out)
        return None
    if not _terminate(state.pid, timeout):
        raise CollectorError(f"could not stop rotel (pid {state.pid})")
    _clear_state(out)
    return state


def status(out: str | os.PathLike[str]) -> CollectorState | None:
    """The running collector writing to ``out``, or None (stale state files are removed)."""
    out = Path(out).resolve()
    state = read_state(out)
    if state is not None and not _is_our_agent(state):
        _clear_state(out)
        return None
    return state

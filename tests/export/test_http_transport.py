"""The OTLP/HTTP transport (http.client) against real local servers: TLS with the certificate
from OTEL_EXPORTER_OTLP_CERTIFICATE, headers and gzip from the variables, kept-alive
connections reused and re-opened when the server closed them, timeouts, refusals."""

from __future__ import annotations

import gzip
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from infertel.export._transport import HttpTransport, Outcome, resolve_destination


class _Recorder:
    def __init__(self, keep_alive: bool, delay_s: float = 0.0) -> None:
        self.seen: list[tuple[str, dict[str, str], bytes, int]] = []
        self.drop_silently = False  # close the kept-alive socket without saying so
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                drop = recorder.drop_silently  # read before answering: the client moves on
                body = self.rfile.read(int(self.headers["Content-Length"]))
                # The client port tells connections apart.
                recorder.seen.append((self.path, dict(self.headers), body,
                                      self.client_address[1]))
                if delay_s:
                    threading.Event().wait(delay_s)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if drop:
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])

    def serve(self) -> None:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture
def keep_alive() -> Iterator[_Recorder]:
    server = _Recorder(keep_alive=True)
    server.serve()
    yield server
    server.stop()


def test_tls_headers_gzip_from_the_variables(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server = _Recorder(keep_alive=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.server.socket = context.wrap_socket(server.server.socket, server_side=True)
    server.serve()
    try:
        url = f"https://127.0.0.1:{server.port}/v1/traces"
        env = {"OTEL_EXPORTER_OTLP_CERTIFICATE": str(cert),
               "OTEL_EXPORTER_OTLP_HEADERS": "api-key=k1,x-team=ml",
               "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-team=serving",
               "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip"}
        transport = HttpTransport(resolve_destination("traces", "http/protobuf", url, env))
        assert transport.send(b"payload-1", 5.0).outcome is Outcome.OK
        assert transport.send(b"payload-2", 5.0).outcome is Outcome.OK
        transport.close()
        # Without the certificate the self-signed server is refused, never sent to.
        untrusted = HttpTransport(resolve_destination("traces", "http/protobuf", url, {}))
        assert untrusted.send(b"secret", 5.0).outcome is Outcome.RETRY
        untrusted.close()
    finally:
        server.stop()
    assert [gzip.decompress(body) for _, _, body, _ in server.seen] == [b"payload-1",
                                                                        b"payload-2"]
    path, headers, _, port = server.seen[0]
    assert path == "/v1/traces"
    assert headers["api-key"] == "k1"
    assert headers["x-team"] == "serving"
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Content-Type"] == "application/x-protobuf"
    assert server.seen[1][3] == port  # one connection, kept alive


def test_connection_reused_then_reopened_after_the_server_closed_it(
        keep_alive: _Recorder) -> None:
    url = f"http://127.0.0.1:{keep_alive.port}/v1/logs"
    transport = HttpTransport(resolve_destination("logs", "http/protobuf", url, {}))
    assert transport.send(b"a", 5.0).outcome is Outcome.OK
    assert transport.send(b"b", 5.0).outcome is Outcome.OK
    assert keep_alive.seen[0][3] == keep_alive.seen[1][3]
    # The server closes its side of the kept-alive connection after the next answer, without
    # a "Connection: close": the send after it finds the socket dead and reconnects once.
    keep_alive.drop_silently = True
    assert transport.send(b"b2", 5.0).outcome is Outcome.OK
    keep_alive.drop_silently = False
    assert keep_alive.seen[2][3] == keep_alive.seen[0][3]
    assert transport._connection is not None
    assert transport._connection.sock is not None
    peer = transport._connection.sock.getsockname()
    threading.Event().wait(0.2)  # the server's close reaches the client
    sent = transport.send(b"c", 5.0)
    assert sent.outcome is Outcome.OK, sent
    assert [body for *_, body, _ in keep_alive.seen] == [b"a", b"b", b"b2", b"c"]
    assert transport._connection is not None
    assert transport._connection.sock is not None
    assert transport._connection.sock.getsockname() != peer
    transport.close()


def test_timeout_and_refusal_are_one_bounded_attempt() -> None:
    slow = _Recorder(keep_alive=True, delay_s=2.0)
    slow.serve()
    try:
        transport = HttpTransport(resolve_destination(
            "traces", "http/protobuf", f"http://127.0.0.1:{slow.port}/v1/traces", {}))
        assert transport.send(b"x", 0.3) == transport.send(b"y", 0.3)
        assert transport.send(b"z", 0.3).error == "timeout"
    finally:
        slow.stop()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    refused = HttpTransport(resolve_destination(
        "traces", "http/protobuf", f"http://127.0.0.1:{free}/v1/traces", {}))
    sent = refused.send(b"x", 1.0)
    assert (sent.outcome, sent.error) == (Outcome.RETRY, "connection failed")


def test_proxy_from_the_environment_read_once(keep_alive: _Recorder,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # The recorder plays the proxy: a plain-HTTP request through it carries the absolute URL.
    monkeypatch.setenv("HTTP_PROXY", f"http://user:pw@127.0.0.1:{keep_alive.port}")
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.delenv("no_proxy", raising=False)
    url = "http://collector.invalid:4318/v1/traces"
    transport = HttpTransport(resolve_destination("traces", "http/protobuf", url, {}))
    monkeypatch.delenv("HTTP_PROXY")
    assert transport.send(b"p", 5.0).outcome is Outcome.OK
    path, headers, body, _ = keep_alive.seen[0]
    assert (path, body) == (url, b"p")
    assert headers["Proxy-Authorization"] == "Basic dXNlcjpwdw=="
    transport.close()

"""Open a page in real headless Chromium over the DevTools protocol (``--remote-debugging-pipe``)
and record every request the page makes.

Why the pipe rather than ``--dump-dom`` behind a dead proxy: a proxy also sees Chromium's own
background traffic (component updates, time sync, accounts), so it cannot tell the page's
requests from the browser's; the DevTools ``Network`` domain of the page's own session reports
exactly the page's requests (documents, scripts, images, fetch/XHR, WebSocket), whatever their
scheme, before any of them reaches the network stack.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageVisit:
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    values: dict[str, Any] = field(default_factory=dict)  # results of the probes
    screenshot_png: bytes = b""


class _Pipe:
    def __init__(self, write_fd: int, read_fd: int) -> None:
        self._write = os.fdopen(write_fd, "wb", buffering=0)
        self._read = os.fdopen(read_fd, "rb", buffering=0)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._write.write(json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self._receive(deadline)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result") or {})
            self.events.append(reply)
        raise TimeoutError(method)

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("no reply from chromium")
            chunk = self._read.read(65536)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(raw))

    def wait_for(self, method: str, session: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e.get("method") == method and e.get("sessionId") == session
                   for e in self.events):
                return True
            self.events.append(self._receive(deadline))
        return False

    def close(self) -> None:
        self._write.close()
        self._read.close()


def _onto_3_and_4(read_fd: int, write_fd: int) -> Any:
    def move() -> None:  # runs in the child before exec; pass_fds keeps 3 and 4 open
        high_r, high_w = os.dup(read_fd), os.dup(write_fd)  # safe even if they are 3 or 4
        os.dup2(high_r, 3)
        os.dup2(high_w, 4)
    return move


def visit(url: str, probes: dict[str, str], settle_s: float = 3.0,
          timeout: float = 60.0) -> PageVisit:
    """Load ``url``, let scripts run, evaluate each probe (a JS expression) and screenshot."""
    assert CHROMIUM is not None, "chromium is not installed"
    to_chrome_r, to_chrome_w = os.pipe()
    from_chrome_r, from_chrome_w = os.pipe()
    profile = tempfile.mkdtemp(prefix="infertel-chromium-")
    # Chromium reads commands on fd 3 and writes replies on fd 4.
    process = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
         f"--user-data-dir={profile}", "--window-size=1300,1400", "about:blank"],
        pass_fds=(3, 4, to_chrome_r, from_chrome_w), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=_onto_3_and_4(to_chrome_r, from_chrome_w))
    os.close(to_chrome_r)
    os.close(from_chrome_w)
    pipe = _Pipe(to_chrome_w, from_chrome_r)
    result = PageVisit()
    try:
        targets = pipe.send("Target.getTargets", timeout=timeout)["targetInfos"]
        page = next(t["targetId"] for t in targets if t["type"] == "page")
        session = pipe.send("Target.attachToTarget", {"targetId": page, "flatten": True})[
            "sessionId"]
        pipe.send("Network.enable", session=session)
        pipe.send("Page.enable", session=session)
        pipe.send("Page.navigate", {"url": url}, session=session)
        pipe.wait_for("Page.loadEventFired", session, timeout)
        time.sleep(settle_s)  # plotly draws after load
        for name, expression in probes.items():
            reply = pipe.send("Runtime.evaluate", {"expression": expression,
                                                   "returnByValue": True}, session=session)
            result.values[name] = reply.get("result", {}).get("value")
        shot = pipe.send("Page.captureScreenshot", {"format": "png"}, session=session)
        result.screenshot_png = base64.b64decode(shot["data"])
        result.requests = [e["params"]["request"]["url"] for e in pipe.events
                           if e.get("method") == "Network.requestWillBeSent"
                           and e.get("sessionId") == session]
        result.requests += [e["params"]["url"] for e in pipe.events
                            if e.get("method") == "Network.webSocketCreated"
                            and e.get("sessionId") == session]
    finally:
        pipe.close()
        process.kill()
        process.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)
    return result

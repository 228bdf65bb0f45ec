"""A real headless Chromium, driven over the DevTools protocol: what a page loads and what it shows."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

__all__ = ["PageVisit", "chromium", "visit"]

# Chromium's own background traffic (updates, sync, safe browsing) would hide what the page loads.
_QUIET = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--window-size=1366,900",
)


def chromium() -> str | None:
    """Returns the Chromium program installed here (scripts/test installs Debian's), or None."""
    return next((found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None)


@dataclass(slots=True)
class PageVisit:
    """An open page: every URL it requested, and a way to evaluate JavaScript in it."""

    socket: aiohttp.ClientWebSocketResponse
    requested: list[str] = field(default_factory=list)
    _next_id: int = 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Sends one DevTools command and returns its result, noting the requests seen meanwhile."""
        self._next_id += 1
        await self.socket.send_json({"id": self._next_id, "method": method, "params": params})
        while True:
            message = json.loads(await asyncio.wait_for(self.socket.receive_str(), timeout=30))
            if message.get("method") == "Network.requestWillBeSent":
                self.requested.append(message["params"]["request"]["url"])
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    async def wait_for(self, event: str) -> None:
        """Reads messages until ``event`` comes, noting the requests seen meanwhile."""
        while True:
            message = json.loads(await asyncio.wait_for(self.socket.receive_str(), timeout=30))
            if message.get("method") == "Network.requestWillBeSent":
                self.requested.append(message["params"]["request"]["url"])
            if message.get("method") == event:
                return

    async def evaluate(self, expression: str) -> Any:
        """Returns the value of a JavaScript expression in the page, as JSON data."""
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")


async def _devtools_port(profile: Path, process: asyncio.subprocess.Process) -> int:
    marker = profile / "DevToolsActivePort"
    for _ in range(600):
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text().splitlines()[0])
        if process.returncode is not None:
            raise RuntimeError(f"chromium exited with {process.returncode}")
        await asyncio.sleep(0.05)
    raise TimeoutError("chromium did not open its DevTools port within 30 s")


@asynccontextmanager
async def visit(address: str, profile: Path) -> AsyncIterator[PageVisit]:
    """Opens ``address`` in a fresh headless Chromium and yields it once loaded; the browser ends after."""
    program = chromium()
    assert program is not None, "Chromium is not installed (./scripts/test installs it)"
    command = [program, *_QUIET, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        port = await _devtools_port(profile, process)
        async with aiohttp.ClientSession() as session:
            async with session.put(f"http://127.0.0.1:{port}/json/new?about:blank") as answer:
                target = await answer.json()
            async with session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as socket:
                opened = PageVisit(socket)
                await opened.call("Network.enable")
                await opened.call("Page.enable")
                await opened.call("Page.navigate", url=address)
                await opened.wait_for("Page.loadEventFired")
                yield opened
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=30)

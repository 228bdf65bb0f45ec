"""Hot reload: a new flow and texts replace the running ones only once they have loaded and validated.

Whatever asks for a reload (SIGHUP, ``esim-bot reload``, a change seen in the files) comes here. The new
version is loaded and compiled off the event loop; if it is invalid, the running one keeps serving and the
problems are reported. Otherwise :meth:`~bot.runtime.service.ChatService.swap` replaces the engine in one
assignment: each update took its engine when it started, so updates in flight finish on their version and
none is dropped or handled twice. The new engine keeps the earlier versions' button meanings, so a button
whose meaning did not change keeps working.

Files are watched by polling their sizes and modification times (a dozen ``stat`` calls a second): no
dependency, and it works where inotify does not (Docker volumes on macOS, network shares, editors that
replace a file). A change is acted on once the files have been still for ``settle`` seconds, so an
editor's save in several writes, or a ``git pull`` of several files, is one reload.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.engine.engine import FlowEngine
from bot.flows import FlowBundle, FlowValidationError, Problem
from bot.flows.meanings import KEPT_VERSIONS, FlowHistory
from bot.plan import plan
from bot.runtime.service import ChatService
from bot.store import StoreError

__all__ = ["ReloadOutcome", "Reloader", "files_signature"]

logger = logging.getLogger(__name__)

Signature = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    """What a reload did: the version serving afterwards, and the problems that kept the old one."""

    swapped: bool
    version: str
    problems: tuple[Problem, ...] = ()
    report: tuple[str, ...] = ()


def files_signature(directories: Sequence[Path]) -> Signature:
    """Returns the name, size and modification time of every YAML file in ``directories``."""
    found: list[tuple[str, int, int]] = []
    for directory in directories:
        for path in sorted(directory.glob("*.yaml")):
            try:
                stat = path.stat()
            except OSError:
                continue  # removed between the listing and the stat: the next look sees it gone
            found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


class Reloader:
    """Loads, validates and swaps in new flow versions for one chat service, one at a time."""

    def __init__(
        self,
        service: ChatService,
        load: Callable[[], FlowBundle],
        *,
        history: FlowHistory | None = None,
        on_swapped: Callable[[FlowEngine, FlowEngine], Awaitable[None]] | None = None,
        on_refused: Callable[[FlowValidationError], Awaitable[None]] | None = None,
    ) -> None:
        self.service = service
        self.load = load
        self.history = history
        self.on_swapped = on_swapped
        self.on_refused = on_refused
        self._lock = asyncio.Lock()
        self._requests: set[asyncio.Task[None]] = set()

    def _compile(self, old: FlowEngine) -> FlowEngine:
        """Loads and compiles the new version (raises FlowValidationError); runs off the event loop."""
        bundle = self.load()
        earlier = {**old.earlier, old.version: old.meanings}
        kept = dict(list(earlier.items())[-KEPT_VERSIONS:])
        return FlowEngine(bundle, kept)

    async def reload(self, reason: str) -> ReloadOutcome:
        """Loads the flow and texts again and serves them if valid; otherwise keeps the running version."""
        async with self._lock:
            old = self.service.engine
            try:
                engine = await asyncio.to_thread(self._compile, old)
            except FlowValidationError as exc:
                logger.error(
                    "reload (%s) refused: version %s keeps serving; %s",
                    reason, old.version, exc,
                )  # fmt: skip
                if self.on_refused is not None:
                    await self.on_refused(exc)
                return ReloadOutcome(False, old.version, exc.problems)
            report = await self._report(engine)
            self.service.swap(engine)
            if self.history is not None:
                await asyncio.to_thread(self.history.record, engine.meanings)
            logger.info("reload (%s): version %s now serving (was %s)", reason, engine.version, old.version)
            for line in report:
                logger.info("reload: %s", line)
            if self.on_swapped is not None:
                try:
                    await self.on_swapped(old, engine)
                except Exception:
                    # The new version serves already; a menu Telegram did not take is registered at the next start.
                    logger.exception("reload: the new version serves, but what follows a swap failed")
            return ReloadOutcome(True, engine.version, (), report)

    async def _report(self, engine: FlowEngine) -> tuple[str, ...]:
        """Returns what the new version does to the conversations stored (the same as validate --against)."""
        try:
            standings = await self.service.store.standings()
        except (NotImplementedError, StoreError) as exc:
            # Not knowing who is affected is no reason to keep serving the old version.
            return (f"cannot tell who is affected: {exc}",)
        return tuple(plan(engine.bundle, standings, {**engine.earlier}).as_lines())

    async def _reload_logged(self, reason: str) -> None:
        """Reloads; a failure other than an invalid flow (the store, Telegram) is logged, never raised."""
        try:
            await self.reload(reason)
        except Exception:
            logger.exception("reload (%s) failed; the running version keeps serving", reason)

    def request(self, reason: str) -> None:
        """Starts a reload without waiting for it (for a signal handler)."""
        task = asyncio.create_task(self._reload_logged(reason), name="reload")
        # Held so that the task is not collected mid-way; a reload logs its own outcome.
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    async def watch(self, directories: Sequence[Path], *, every: float = 0.5, settle: float = 1.0) -> None:
        """Reloads whenever the YAML files in ``directories`` change, once they have been still for ``settle`` s."""
        seen = files_signature(directories)
        while True:
            await asyncio.sleep(every)
            changed = files_signature(directories)
            if changed == seen:
                continue
            while True:
                await asyncio.sleep(settle)
                later = files_signature(directories)
                if later == changed:
                    break
                changed = later
            seen = changed
            await self._reload_logged("files changed")

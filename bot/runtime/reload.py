"""Hot reload, and one flow version for all instances: the version served is the store's, not a process's.

Whatever asks for a reload (SIGHUP, a change seen in the files) comes here; ``esim-bot reload`` publishes
from any host through the store. The new version is loaded and compiled off the event loop; if it is
invalid, the running one keeps serving and the problems are reported. Otherwise it is published to the
store as the current *release* (``bot/store/base.py``) and :meth:`~bot.runtime.service.ChatService.swap`
replaces the engine in one assignment: each update took its engine when it started, so updates in flight
finish on their version and none is dropped or handled twice. The new engine keeps the button meanings of
the versions served before (kept in the store too), so a button whose meaning did not change keeps
working, after any instance restarts with an empty ``data/``.

How every instance comes to serve the store's current release:

- At its start an instance publishes its own files only if the store never saw them (a new image, an edited
  folder); files published before (an older image started again) never take the store back. Otherwise it
  serves the store's current release, loaded and validated from the files the release carries
  (``bot/flows/release.py``): an instance of an older image serves what a newer one published.
- Every instance reads the current release's head (one indexed row) every :data:`FOLLOW_EVERY` seconds and
  serves a newer release as soon as it has loaded it. A version row read every two seconds rather than
  PostgreSQL's LISTEN/NOTIFY: it costs nothing measurable, works the same on SQLite (where ``esim-bot
  reload`` is another process writing the file), holds no connection outside the pool, and a notification
  lost while a listener reconnects cannot leave an instance behind for good.
- A chat is never moved to an older version. Before handling a chat stored on a version other than the one
  it serves, an instance reads the head again (:meth:`Reloader.catch_up`, ChatService's ``catch_up``): a
  release published since is served first. Only such chats pay that read, about once each per release.

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
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from bot.engine.engine import FlowEngine
from bot.flows import FlowBundle, FlowValidationError, Problem
from bot.flows.meanings import legacy_history, parsed_history
from bot.flows.release import FlowFiles, read_files, unpacked
from bot.plan import plan
from bot.runtime.service import ChatService
from bot.store import FlowRelease, FlowReleases, ReleaseHead, Reports, StoreError

__all__ = ["FOLLOW_EVERY", "FlowSource", "ReloadOutcome", "Reloader", "files_signature", "release_of"]

logger = logging.getLogger(__name__)

Signature = tuple[tuple[str, int, int], ...]

FOLLOW_EVERY = 2.0
"""Seconds between two reads of the store's current release: how long another instance's release waits."""

_READ_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    """What a reload did: the version serving afterwards, and the problems that kept the old one."""

    swapped: bool
    version: str
    problems: tuple[Problem, ...] = ()
    report: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FlowSource:
    """Where this instance's flow and texts are, and how a bundle is loaded (validated) from such folders."""

    flows_dir: Path
    locales_dir: Path
    load: Callable[[Path, Path], FlowBundle]
    """Loads and validates the flow served from a flows and a locales folder; raises FlowValidationError."""

    def read(self) -> tuple[FlowBundle, FlowFiles]:
        """Loads the files and returns them with their bundle: the very files validated, read again until
        they did not change while loading (an editor still saving)."""
        files = read_files(self.flows_dir, self.locales_dir)
        for _ in range(_READ_ATTEMPTS):
            bundle = self.load(self.flows_dir, self.locales_dir)
            after = read_files(self.flows_dir, self.locales_dir)
            if after == files:
                return bundle, files
            files = after
        with unpacked(files) as (flows, locales):
            return self.load(flows, locales), files

    def load_release(self, files: FlowFiles) -> FlowBundle:
        """Loads and validates a release's files (published by any instance)."""
        with unpacked(files) as (flows, locales):
            return self.load(flows, locales)


def release_of(bundle: FlowBundle, files: FlowFiles, meanings: str) -> FlowRelease:
    """Returns the release of ``files``, whose flow is ``bundle`` and whose buttons mean ``meanings``."""
    return FlowRelease(bundle.flow.id, bundle.version, files.digest, files.files, meanings)


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


class ReleaseStore(FlowReleases, Reports, Protocol):
    """What reloading reads and writes: the releases and their meanings, and the conversations' standings
    (what a new version does to them)."""


class Reloader:
    """Serves the store's current release in one chat service, and publishes new ones, one at a time."""

    def __init__(
        self,
        service: ChatService,
        source: FlowSource,
        releases: ReleaseStore,
        *,
        on_swapped: Callable[[FlowEngine, FlowEngine], Awaitable[None]] | None = None,
        on_refused: Callable[[FlowValidationError], Awaitable[None]] | None = None,
    ) -> None:
        self.service = service
        self.source = source
        self.releases = releases
        self.on_swapped = on_swapped
        self.on_refused = on_refused
        self.serving: ReleaseHead | None = None
        """The release this instance serves; None until :meth:`start`."""
        self._unloadable: set[int] = set()
        self._lock = asyncio.Lock()
        self._requests: set[asyncio.Task[None]] = set()

    async def _engine(self, bundle: FlowBundle, running: FlowEngine | None = None) -> FlowEngine:
        """Returns an engine for ``bundle`` that knows the meanings of every version the store kept
        (``running`` itself when it is that engine already: nothing to compile again)."""
        history = parsed_history(await self.releases.flow_history(bundle.flow.id))
        if (
            running is not None
            and running.bundle is bundle
            and set(history) - {bundle.version} <= set(running.earlier)
        ):
            return running
        return await asyncio.to_thread(FlowEngine, bundle, history)

    async def start(self, legacy_folder: Path | None = None) -> None:
        """Publishes this instance's files if the store never saw them, then serves the store's current release.

        ``legacy_folder`` is where bots before this one wrote button meanings (``data/flow-versions``): they
        are kept in the store, once, so that buttons of those versions keep working.
        """
        async with self._lock:
            store, running = self.releases, self.service.engine
            if legacy_folder is not None:
                for meanings, served in await asyncio.to_thread(legacy_history, legacy_folder):
                    moment = datetime.fromtimestamp(served, UTC)
                    await store.record_meanings(
                        meanings.flow_id, meanings.version, meanings.as_json(), moment
                    )
            files = await asyncio.to_thread(read_files, self.source.flows_dir, self.source.locales_dir)
            release = release_of(running.bundle, files, running.meanings.as_json())
            head = await store.publish_release(release, self.service.clock.now(), again=False)
            if head.digest != files.digest:
                logger.warning(
                    "these flow files were published before; serving the store's current release %d "
                    "(version %s) instead (esim-bot reload publishes these again)",
                    head.number, head.version,
                )  # fmt: skip
                if await self._follow():
                    return
                logger.error("serving this instance's own files: the current release does not load here")
            self.service.swap(await self._engine(running.bundle, running))
            self.serving = head if head.digest == files.digest else None
            logger.info("flow version %s serving (release %d)", running.version, head.number)

    async def reload(self, reason: str) -> ReloadOutcome:
        """Loads this instance's files again and, if valid, publishes and serves them; otherwise keeps the running version."""
        async with self._lock:
            old = self.service.engine
            try:
                bundle, files = await asyncio.to_thread(self.source.read)
            except FlowValidationError as exc:
                logger.error(
                    "reload (%s) refused: version %s keeps serving; %s",
                    reason, old.version, exc,
                )  # fmt: skip
                if self.on_refused is not None:
                    await self.on_refused(exc)
                return ReloadOutcome(False, old.version, exc.problems)
            engine = await self._engine(bundle)
            release = release_of(bundle, files, engine.meanings.as_json())
            head = await self.releases.publish_release(release, self.service.clock.now(), again=True)
            report = await self._serve(old, engine, head, reason)
            return ReloadOutcome(True, engine.version, (), report)

    async def catch_up(self) -> None:
        """Serves the store's current release if one was published since this instance last looked."""
        async with self._lock:
            await self._follow()

    async def _follow(self) -> bool:
        """Loads and serves the current release unless it is served already (or does not load here)."""
        head = await self.releases.release_head()
        if head is None or head == self.serving or head.number in self._unloadable:
            return False
        release = await self.releases.current_release()
        if release is None:
            return False
        old = self.service.engine
        try:
            bundle = await asyncio.to_thread(self.source.load_release, FlowFiles(release.files))
        except (FlowValidationError, ValueError, OSError) as exc:
            # A release of a newer bot this older code cannot read: said once, not every two seconds.
            self._unloadable.add(release.number)
            logger.error(
                "release %d (version %s) does not load on this instance; version %s keeps serving: %s",
                release.number, release.version, old.version, exc,
            )  # fmt: skip
            return False
        engine = await self._engine(bundle)
        await self._serve(old, engine, release.head, f"release {release.number} published")
        return True

    async def _serve(
        self, old: FlowEngine, engine: FlowEngine, head: ReleaseHead, reason: str
    ) -> tuple[str, ...]:
        """Swaps ``engine`` in as release ``head``, logs what it does to conversations; returns that report."""
        report = await self._report(engine)
        self.service.swap(engine)
        self.serving = head
        logger.info("reload (%s): version %s now serving (was %s)", reason, engine.version, old.version)
        for line in report:
            logger.info("reload: %s", line)
        if self.on_swapped is not None:
            try:
                await self.on_swapped(old, engine)
            except Exception:
                # The new version serves already; a menu Telegram did not take is registered at the next start.
                logger.exception("reload: the new version serves, but what follows a swap failed")
        return report

    async def _report(self, engine: FlowEngine) -> tuple[str, ...]:
        """Returns what the new version does to the conversations stored (the same as validate --against)."""
        try:
            standings = await self.releases.standings()
        except (NotImplementedError, StoreError) as exc:
            # Not knowing who is affected is no reason to keep serving the old version.
            return (f"cannot tell who is affected: {exc}",)
        return tuple(plan(engine.bundle, standings, {**engine.earlier}).as_lines())

    async def follow(self, every: float = FOLLOW_EVERY) -> None:
        """Serves each release published in the store, looking every ``every`` seconds."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.catch_up()
            except Exception as exc:
                # The database is down or restarting: the running version serves on; the next look retries.
                logger.warning("could not read the current flow release: %s", exc)

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

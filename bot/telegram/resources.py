"""What the running bot owns besides the Application: opened in post_init, closed in post_shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Set
from datetime import timedelta
from typing import Any

from telegram import BotCommand
from telegram.constants import MessageLimit
from telegram.error import TelegramError

from bot.engine.engine import FlowEngine
from bot.flows import FlowValidationError
from bot.reminders import Pacing, ReminderScheduler
from bot.runtime.reload import FlowSource, Reloader
from bot.runtime.service import ChatService
from bot.settings import Settings
from bot.store import Reminder, Store, local_folder
from bot.telegram.delivery import Delivery
from bot.telegram.handling import AnyApplication
from bot.telegram.screenbot import ScreenBot

__all__ = ["BotRuntime"]

logger = logging.getLogger(__name__)

SWEEP_EVERY = timedelta(seconds=30)
# With several instances, the sweep is how a chat's messages left by an instance that died go out, once
# its outbox claim lapses (OUTBOX_LEASE): every second, so that a person waits little more than the lease.
SHARED_SWEEP_EVERY = timedelta(seconds=1)
REMINDERS_PER_SECOND_UNLIMITED = 28.0
HOUSEKEEPING_EVERY = timedelta(hours=6)

Menus = dict[str, list[tuple[str, str]]]


class BotRuntime:
    """The store, the chat service, delivery, reloads, reminders and the background tasks of one bot."""

    def __init__(
        self,
        settings: Settings,
        service: ChatService,
        bot: ScreenBot,
        flows: FlowSource,
        store: Store,
    ) -> None:
        self.settings = settings
        self.service = service
        self.store = store
        """The whole store: this opens and closes it (the service and the rest use their roles of it)."""
        self.bot = bot
        self.delivery = Delivery(bot, service)
        self.reloader = Reloader(service, flows, store, on_swapped=self._swapped, on_refused=self._refused)
        self.scheduler: ReminderScheduler | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.also_swept: list[Callable[[], Awaitable[None]]] = []
        """What else waits in the store to be sent, swept with the outbox (questions for the support chat)."""

    async def post_init(self, application: AnyApplication) -> None:
        """Opens the store, re-sends what a crash left unsent, registers the menu and starts reminders."""
        await self.store.open()
        # The one flow version of all instances, with the meanings of the versions served before.
        await self.reloader.start(legacy_folder=local_folder(self.settings.database) / "flow-versions")
        self.service.catch_up = self.reloader.catch_up
        scheduler = ReminderScheduler(
            self.store, self._reminder_due, clock=self.service.clock, pacing=self._pacing()
        )
        self.scheduler = scheduler
        self.service.on_reminder_scheduled = scheduler.notify
        sent = await self.delivery.sweep()
        if sent:
            logger.info("sent %d messages left over from before the restart", sent)
        for sweep in self.also_swept:
            await sweep()
        await self._register_commands(_menus(self.service, self.service.engine))
        await scheduler.start()
        every = SHARED_SWEEP_EVERY if self.store.serves_several_processes else SWEEP_EVERY
        self._start(self._sweep_forever(every), "outbox-sweep")
        self._start(self._housekeeping(), "housekeeping")
        self._start(self.reloader.follow(), "follow-releases")
        if self.settings.watch_files:
            self._start(
                self.reloader.watch((self.settings.flows_dir, self.settings.locales_dir)), "watch-files"
            )

    async def post_stop(self, application: AnyApplication) -> None:
        """Stops reminders and background tasks once the last update in hand is done."""
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.scheduler is not None:
            await self.scheduler.stop()

    async def post_shutdown(self, application: AnyApplication) -> None:
        """Closes the store."""
        await self.store.close()

    def _start(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self.tasks.append(asyncio.create_task(work, name=name))

    def _pacing(self) -> Pacing:
        # The rate limiter spaces every message; the scheduler starts reminders a little faster than that,
        # so a backlog keeps the limiter busy without a queue building up. Without a limiter, it paces alone.
        limit = self.settings.max_messages_per_second
        return Pacing(messages_per_second=limit + 1 if limit else REMINDERS_PER_SECOND_UNLIMITED)

    async def _reminder_due(self, reminder: Reminder) -> None:
        """Sends one due reminder, under its chat's lock like any update."""
        async with self.service.locks.hold(reminder.chat_id):
            await self.delivery.deliver(await self.service.reminder_due(reminder))

    async def _swapped(self, old: FlowEngine, new: FlowEngine) -> None:
        """Registers the command menu again when its commands or languages changed."""
        menus, before = _menus(self.service, new), _menus(self.service, old)
        if menus != before:
            await self._register_commands(menus, gone=set(before) - set(menus))
            logger.info("reload: command menu registered again (%s)", ", ".join(filter(None, menus)))

    async def _refused(self, error: FlowValidationError) -> None:
        """Tells the operators (BOT_ADMIN_IDS) why their edit is not served."""
        count = len(error.problems)
        text = f"The edited flow was not loaded; the running version keeps serving. {count} problem(s):\n"
        text += "\n".join(map(str, error.problems))
        for admin in self.settings.admin_ids:
            try:
                await self.bot.send_message(admin, text[: MessageLimit.MAX_TEXT_LENGTH])
            except TelegramError as exc:
                # An operator who never opened a chat with the bot cannot be told; the log has it all.
                logger.warning("could not tell operator %s about the refused reload: %s", admin, exc)

    async def _register_commands(self, menus: Menus, gone: Set[str] = frozenset()) -> None:
        for code, commands in menus.items():
            listed = [BotCommand(command, description) for command, description in commands]
            await self.bot.set_my_commands(listed, language_code=code or None)
        for code in gone:
            # A language removed: its speakers get the default menu again.
            await self.bot.delete_my_commands(language_code=code)

    async def _sweep_forever(self, every: timedelta) -> None:
        while True:
            await asyncio.sleep(every.total_seconds())
            try:
                await self.delivery.sweep()
                for sweep in self.also_swept:
                    await sweep()
            except Exception:
                logger.exception("outbox sweep failed")

    async def _housekeeping(self) -> None:
        while True:
            try:
                purged, _expired = await self.service.housekeeping(timedelta(days=self.settings.idle_days))
                if purged:
                    logger.info("purged %d idle conversations", purged)
            except Exception:
                logger.exception("housekeeping failed")
            await asyncio.sleep(HOUSEKEEPING_EVERY.total_seconds())


def _menus(service: ChatService, engine: FlowEngine) -> Menus:
    """Returns the command menu per Telegram language code ("" for everyone else: the default language's)."""
    languages = engine.bundle.languages
    menus = service.command_menu(engine)
    by_code = {languages.telegram_code(language): menu for language, menu in menus.items()}
    return {**by_code, "": menus[languages.default]}

"""Wires the bot: builds the python-telegram-bot Application, opens resources, registers every handler.

This is the one module that knows both python-telegram-bot and the application core.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Set
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from telegram import BotCommand, Update
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.callbacks import AskPerson, ForgetChoice, encode
from bot.clock import Clock
from bot.engine.engine import FlowEngine
from bot.flows import FlowBundle, FlowValidationError, Limits, load_flows
from bot.handoff.desk import SupportChat, SupportDesk
from bot.reminders import Pacing, ReminderScheduler
from bot.runtime.reload import FlowSource, Reloader
from bot.runtime.service import ChatService
from bot.runtime.texts import COMMANDS, UI_TEXTS
from bot.settings import Settings
from bot.startup import database_for_run
from bot.store import Reminder, Store, local_folder, open_store
from bot.telegram.delivery import Delivery
from bot.telegram.handlers import ChatHandlers
from bot.telegram.intake import Webhook, serve
from bot.telegram.processor import PerChatUpdateProcessor
from bot.telegram.ratelimit import SharedRateLimiter
from bot.telegram.request import AiohttpRequest
from bot.telegram.screenbot import ScreenBot
from bot.telegram.support import SupportHandlers

__all__ = [
    "ALLOWED_UPDATES",
    "TELEGRAM_LIMITS",
    "BotRuntime",
    "build_application",
    "flow_source",
    "load_default_flow",
    "run",
]

logger = logging.getLogger(__name__)

TELEGRAM_LIMITS = Limits(
    callback_data_bytes=InlineKeyboardButtonLimit.MAX_CALLBACK_DATA,
    text_characters=MessageLimit.MAX_TEXT_LENGTH,
    copy_text_characters=InlineKeyboardButtonLimit.MAX_COPY_TEXT,
)
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
SWEEP_EVERY = timedelta(seconds=30)
# With several instances, the sweep is how a chat's messages left by an instance that died go out, once
# its outbox claim lapses (OUTBOX_LEASE): often enough that a person waits seconds, not a minute.
SHARED_SWEEP_EVERY = timedelta(seconds=3)
REMINDERS_PER_SECOND_UNLIMITED = 28.0
HOUSEKEEPING_EVERY = timedelta(hours=6)


def load_default_flow(settings: Settings) -> FlowBundle:
    """Loads and validates the flows; raises FlowValidationError, so the bot refuses to start on a bad one (or a reload keeps the old)."""
    bundles = load_flows(settings.flows_dir, settings.locales_dir, limits=TELEGRAM_LIMITS, ui_texts=UI_TEXTS)
    return bundles.get("cancel_esim") or next(iter(bundles.values()))


@dataclass(slots=True)
class BotRuntime:
    """The resources the running bot owns: opened in post_init, closed in post_shutdown."""

    settings: Settings
    store: Store
    service: ChatService
    delivery: Delivery
    reloader: Reloader
    scheduler: ReminderScheduler | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def build_application(settings: Settings, bundle: FlowBundle, clock: Clock) -> Application:  # type: ignore[type-arg]
    """Builds the Application with its request layer, rate limiter, update processor and handlers."""
    store = open_store(settings.database)
    # Until the store is open: then the reloader serves the store's current release (bot/runtime/reload.py).
    service = ChatService(FlowEngine(bundle), store, clock)

    async def post_init(application: Application) -> None:  # type: ignore[type-arg]
        """Opens the store, re-sends what a crash left unsent, registers the menu and starts reminders."""
        await store.open()
        # The one flow version of all instances, with the meanings of the versions served before.
        await runtime.reloader.start(legacy_folder=local_folder(settings.database) / "flow-versions")
        service.catch_up = runtime.reloader.catch_up
        delivery = runtime.delivery

        # The rate limiter spaces every message; the scheduler starts reminders a little faster than that,
        # so a backlog keeps the limiter busy without a queue building up. Without a limiter, it paces alone.
        limit = settings.max_messages_per_second
        pacing = Pacing(messages_per_second=limit + 1 if limit else REMINDERS_PER_SECOND_UNLIMITED)

        async def reminder_due(reminder: Reminder) -> None:
            """Sends one due reminder, under its chat's lock like any update."""
            async with service.locks.hold(reminder.chat_id):
                await delivery.deliver(await service.reminder_due(reminder))

        scheduler = ReminderScheduler(store, reminder_due, clock=clock, pacing=pacing)
        runtime.scheduler = scheduler
        service.on_reminder_scheduled = scheduler.notify
        sent = await delivery.sweep()
        if sent:
            logger.info("sent %d messages left over from before the restart", sent)
        await _register_commands(application, _menus(service, service.engine))
        await scheduler.start()
        every = SHARED_SWEEP_EVERY if store.serves_several_processes else SWEEP_EVERY
        runtime.tasks.append(asyncio.create_task(_sweep_forever(delivery, every), name="outbox-sweep"))
        runtime.tasks.append(asyncio.create_task(_housekeeping(runtime), name="housekeeping"))
        runtime.tasks.append(asyncio.create_task(runtime.reloader.follow(), name="follow-releases"))
        if settings.watch_files:
            folders = (settings.flows_dir, settings.locales_dir)
            runtime.tasks.append(asyncio.create_task(runtime.reloader.watch(folders), name="watch-files"))

    async def swapped(old: FlowEngine, new: FlowEngine) -> None:
        """Registers the command menu again when its commands or languages changed."""
        menus, before = _menus(service, new), _menus(service, old)
        if menus != before:
            await _register_commands(application, menus, gone=set(before) - set(menus))
            logger.info("reload: command menu registered again (%s)", ", ".join(filter(None, menus)))

    async def refused(error: FlowValidationError) -> None:
        """Tells the operators (BOT_ADMIN_IDS) why their edit is not served."""
        count = len(error.problems)
        text = f"The edited flow was not loaded; the running version keeps serving. {count} problem(s):\n"
        text += "\n".join(map(str, error.problems))
        for admin in settings.admin_ids:
            try:
                await application.bot.send_message(admin, text[: MessageLimit.MAX_TEXT_LENGTH])
            except TelegramError as exc:
                # An operator who never opened a chat with the bot cannot be told; the log has it all.
                logger.warning("could not tell operator %s about the refused reload: %s", admin, exc)

    async def post_stop(application: Application) -> None:  # type: ignore[type-arg]
        """Stops reminders and background tasks once the last update in hand is done."""
        for task in runtime.tasks:
            task.cancel()
        for task in runtime.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if runtime.scheduler is not None:
            await runtime.scheduler.stop()

    async def post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
        """Closes the store."""
        await store.close()

    bot = ScreenBot(
        token=settings.token(),
        base_url=f"{settings.telegram_api_url}/bot",
        base_file_url=f"{settings.telegram_api_url}/file/bot",
        request=AiohttpRequest(connection_pool_size=settings.concurrent_updates + 8),
        get_updates_request=AiohttpRequest(connection_pool_size=2, read_timeout=30.0),
        rate_limiter=_rate_limiter(settings.max_messages_per_second, store),
    )
    application = (
        ApplicationBuilder()
        .bot(bot)
        .concurrent_updates(PerChatUpdateProcessor(settings.concurrent_updates, service.locks))
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        .build()
    )
    reloader = Reloader(
        service,
        flow_source(settings),
        on_swapped=swapped,
        on_refused=refused,
    )
    runtime = BotRuntime(settings, store, service, Delivery(bot, service), reloader)
    handlers = ChatHandlers(service, runtime.delivery)
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    # Order matters: operators' commands, then everyone's, then button presses, then anything else.
    if settings.admin_ids:
        admins = filters.User(user_id=settings.admin_ids)
        application.add_handler(CommandHandler("stats", handlers.stats_command, filters=private & admins))
    application.add_handler(CommandHandler(list(COMMANDS), handlers.command, filters=private))
    if settings.support_chat_id is not None:
        _add_support_handlers(application, settings, service, runtime.delivery, handlers)
    application.add_handler(MessageHandler(groups & filters.COMMAND, handlers.group_message))
    application.add_handler(CallbackQueryHandler(handlers.choice_button))
    application.add_handler(MessageHandler(private & ~filters.StatusUpdate.ALL, handlers.stray_message))
    application.add_error_handler(_log_error)
    application.bot_data["runtime"] = runtime
    return application


def _add_support_handlers(
    application: Application,  # type: ignore[type-arg]
    settings: Settings,
    service: ChatService,
    delivery: Delivery,
    handlers: ChatHandlers,
) -> None:
    """Registers asking a person: the button and questions in private chats, /tickets and replies in the
    operators' support chat (the one group the bot serves; a reply there is no button press)."""
    assert settings.support_chat_id is not None
    language = settings.support_language or service.engine.bundle.languages.default
    chat = SupportChat(settings.support_chat_id, settings.support_operator_ids, language)
    support = SupportHandlers(SupportDesk(chat, service), delivery, handlers)
    service.handoff = True
    in_support = filters.Chat(chat_id=settings.support_chat_id)
    application.add_handler(CommandHandler("tickets", support.tickets_command, filters=in_support))
    replies = in_support & filters.REPLY & filters.TEXT & ~filters.COMMAND
    application.add_handler(MessageHandler(replies, support.operator_reply))
    application.add_handler(CommandHandler("close", support.close_command, filters=in_support))
    asked = "|".join(re.escape(encode(AskPerson(solved))) for solved in (False, True))
    application.add_handler(CallbackQueryHandler(support.ask_button, pattern=f"^(?:{asked})$"))
    forget = re.escape(encode(ForgetChoice(confirmed=True)))
    application.add_handler(CallbackQueryHandler(support.forget_button, pattern=f"^{forget}$"))
    private_text = filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND
    application.add_handler(MessageHandler(private_text, support.person_message))


def _rate_limiter(messages_per_second: float, store: Store) -> BaseRateLimiter[int]:
    """Returns the rate limiter: the store's shared budget when several instances may share it, else
    python-telegram-bot's own (see :func:`_local_rate_limiter`)."""
    if store.serves_several_processes and messages_per_second > 0:
        return SharedRateLimiter(store, messages_per_second)
    return _local_rate_limiter(messages_per_second)


def _local_rate_limiter(messages_per_second: float) -> AIORateLimiter:
    """Returns python-telegram-bot's rate limiter, spacing messages evenly at ``messages_per_second``.

    A bucket of one (rather than ``messages_per_second`` per second) never bursts: after a 429's pause,
    or when a backlog of reminders starts, messages still go out one every 1/rate seconds, so Telegram's
    30-per-second window is never exceeded. 0 turns the overall limit off.
    """
    if messages_per_second <= 0:
        return AIORateLimiter(overall_max_rate=0, max_retries=3)
    return AIORateLimiter(overall_max_rate=1, overall_time_period=1 / messages_per_second, max_retries=3)


def flow_source(settings: Settings) -> FlowSource:
    """Returns the configured flow folders, loaded as :func:`load_default_flow` does (a release's files too)."""

    def load(flows_dir: Path, locales_dir: Path) -> FlowBundle:
        return load_default_flow(
            settings.model_copy(update={"flows_dir": flows_dir, "locales_dir": locales_dir})
        )

    return FlowSource(settings.flows_dir, settings.locales_dir, load)


Menus = dict[str, list[tuple[str, str]]]


def _menus(service: ChatService, engine: FlowEngine) -> Menus:
    """Returns the command menu per Telegram language code ("" for everyone else: the default language's)."""
    languages = engine.bundle.languages
    menus = service.command_menu(engine)
    by_code = {languages.telegram_code(language): menu for language, menu in menus.items()}
    return {**by_code, "": menus[languages.default]}


async def _register_commands(application: Application, menus: Menus, gone: Set[str] = frozenset()) -> None:  # type: ignore[type-arg]
    for code, commands in menus.items():
        listed = [BotCommand(command, description) for command, description in commands]
        await application.bot.set_my_commands(listed, language_code=code or None)
    for code in gone:
        # A language removed: its speakers get the default menu again.
        await application.bot.delete_my_commands(language_code=code)


async def _sweep_forever(delivery: Delivery, every: timedelta) -> None:
    while True:
        await asyncio.sleep(every.total_seconds())
        try:
            await delivery.sweep()
        except Exception:
            logger.exception("outbox sweep failed")


async def _housekeeping(runtime: BotRuntime) -> None:
    while True:
        try:
            purged, _expired = await runtime.service.housekeeping(timedelta(days=runtime.settings.idle_days))
            if purged:
                logger.info("purged %d idle conversations", purged)
        except Exception:
            logger.exception("housekeeping failed")
        await asyncio.sleep(HOUSEKEEPING_EVERY.total_seconds())


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Logs an error with the update it came from (ids only: never texts, never the token)."""
    where = ""
    if isinstance(update, Update):
        chat = update.effective_chat
        where = f" (update {update.update_id}, chat {chat.id if chat else '-'})"
    logger.error("error while handling an update%s", where, exc_info=context.error)


def run(
    settings: Settings,
    clock: Clock,
    *,
    webhook_url: str | None = None,
    listen: str = "0.0.0.0",
    port: int = 8443,
    secret_token: str | None = None,
) -> None:
    """Runs the bot until SIGINT or SIGTERM, with long polling or behind a webhook.

    Raises FlowValidationError for a bad flow and StartupError for anything else that stops it from starting.
    """
    bundle = load_default_flow(settings)
    database = database_for_run(settings)
    application = build_application(settings, bundle, clock)
    runtime: BotRuntime = application.bot_data["runtime"]
    webhook = Webhook(webhook_url, listen, port, secret_token) if webhook_url else None
    asyncio.run(
        serve(
            application,
            api_url=settings.telegram_api_url,
            database=database,
            inbox=runtime.store,
            allowed_updates=ALLOWED_UPDATES,
            webhook=webhook,
            on_hangup=lambda: runtime.reloader.request("SIGHUP"),
        )
    )

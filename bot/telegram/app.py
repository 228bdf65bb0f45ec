"""Wires the bot: builds the python-telegram-bot Application and registers every handler, in one block.

This is the one module that knows both python-telegram-bot and the application core.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Set
from dataclasses import dataclass
from pathlib import Path

from telegram import Update
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.callbacks import AskPerson, ForgetChoice, encode
from bot.clock import Clock
from bot.engine.engine import FlowEngine
from bot.flows import FlowBundle, Limits, load_flows
from bot.handoff.desk import SupportChat, SupportDesk
from bot.runtime.recent import RECENT_CHATS
from bot.runtime.reload import FlowSource
from bot.runtime.service import ChatService
from bot.runtime.texts import COMMANDS, UI_TEXTS
from bot.settings import Settings
from bot.startup import database_for_run, webhook_secret
from bot.store import open_store
from bot.telegram.handlers import ChatHandlers
from bot.telegram.handling import AnyApplication, handler_failed
from bot.telegram.kept import InboxCopy
from bot.telegram.lifecycle import UpdateSource, serve
from bot.telegram.processor import PerChatUpdateProcessor
from bot.telegram.ratelimit import rate_limiter
from bot.telegram.request import AiohttpRequest
from bot.telegram.resources import BotRuntime
from bot.telegram.screenbot import ScreenBot
from bot.telegram.support import SupportHandlers
from bot.telegram.webhook import Webhook

__all__ = [
    "ALLOWED_UPDATES",
    "TELEGRAM_LIMITS",
    "BotRuntime",
    "TelegramBot",
    "build_bot",
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


def load_default_flow(settings: Settings) -> FlowBundle:
    """Loads and validates the flows; raises FlowValidationError, so the bot refuses to start on a bad one (or a reload keeps the old)."""
    bundles = load_flows(settings.flows_dir, settings.locales_dir, limits=TELEGRAM_LIMITS, ui_texts=UI_TEXTS)
    return bundles.get("cancel_esim") or next(iter(bundles.values()))


@dataclass(frozen=True, slots=True)
class TelegramBot:
    """The Application and the resources its handlers and lifecycle use."""

    application: AnyApplication
    runtime: BotRuntime


def build_bot(settings: Settings, bundle: FlowBundle, clock: Clock, *, webhook: bool = False) -> TelegramBot:
    """Builds the Application with its request layer, rate limiter, update processor and handlers."""
    store = open_store(settings.database)
    # Behind a webhook, instances sharing a store each get any chat's updates (a load balancer's choice): a
    # chat kept as one left it would be out of date as often as not, each time costing the update's work twice.
    # Polling, one instance gets every update (bot/runtime/recent.py).
    recent = 0 if webhook and store.serves_several_processes else RECENT_CHATS
    # Until the store is open: then the reloader serves the store's current release (bot/runtime/reload.py).
    service = ChatService(FlowEngine(bundle), store, clock, recent_chats=recent)
    bot = ScreenBot(
        token=settings.token(),
        base_url=f"{settings.telegram_api_url}/bot",
        base_file_url=f"{settings.telegram_api_url}/file/bot",
        request=AiohttpRequest(connection_pool_size=settings.concurrent_updates + 8),
        get_updates_request=AiohttpRequest(connection_pool_size=2, read_timeout=30.0),
        rate_limiter=rate_limiter(settings.max_messages_per_second, store),
    )
    runtime = BotRuntime(settings, service, bot, flow_source(settings), store)
    application = (
        ApplicationBuilder()
        .bot(bot)
        .concurrent_updates(PerChatUpdateProcessor(settings.concurrent_updates, service.locks))
        .post_init(runtime.post_init)
        .post_stop(runtime.post_stop)
        .post_shutdown(runtime.post_shutdown)
        .build()
    )
    handlers = ChatHandlers(service, runtime.delivery, store)
    if settings.support_chat_id is not None:
        language = settings.support_language or service.engine.bundle.languages.default
        chat = SupportChat(
            settings.support_chat_id, settings.support_operator_ids, language, MessageLimit.MAX_TEXT_LENGTH
        )
        service.handoff = True
        support = SupportHandlers(SupportDesk(chat, service, store), runtime.delivery, handlers)
        runtime.also_swept.append(support.relays.post_pending)
        # First: the private chats' own callbacks take whatever these leave (the first match wins).
        _register_support(application, support)
    _register_handlers(application, handlers, settings.admin_ids)
    return TelegramBot(application, runtime)


def _register_support(application: AnyApplication, support: SupportHandlers) -> None:
    """Registers asking a person ahead of the rest: the button and questions in private chats, and /tickets,
    /close and replies in the operators' support chat (the one group the bot serves; a reply is no button)."""
    in_support = filters.Chat(chat_id=support.desk.support.chat_id)
    replies = in_support & filters.REPLY & filters.TEXT & ~filters.COMMAND
    asked = "|".join(re.escape(encode(AskPerson(solved))) for solved in (False, True))
    # The confirmation's button carries the step it was made for: forget|yes|<step>.
    forget = re.escape(encode(ForgetChoice(confirmed=True))) + r"(?:\|\d+)?"
    private_text = filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND
    for handler in (
        CommandHandler("tickets", support.tickets_command, filters=in_support),
        CommandHandler("close", support.close_command, filters=in_support),
        MessageHandler(replies, support.operator_reply),
        CallbackQueryHandler(support.ask_button, pattern=f"^(?:{asked})$"),
        CallbackQueryHandler(support.forget_button, pattern=f"^{forget}$"),
        MessageHandler(private_text, support.person_message),
    ):
        application.add_handler(handler)


def _register_handlers(application: AnyApplication, handlers: ChatHandlers, admin_ids: Set[int]) -> None:
    """Registers every handler. Order matters: operators' commands, then everyone's, then button presses,
    then anything else; one error handler for all."""
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    if admin_ids:
        admins = filters.User(user_id=admin_ids)
        application.add_handler(CommandHandler("stats", handlers.stats_command, filters=private & admins))
    application.add_handler(CommandHandler(list(COMMANDS), handlers.command, filters=private))
    application.add_handler(MessageHandler(groups & filters.COMMAND, handlers.group_message))
    application.add_handler(CallbackQueryHandler(handlers.choice_button))
    application.add_handler(MessageHandler(private & ~filters.StatusUpdate.ALL, handlers.stray_message))
    application.add_error_handler(handler_failed)


def flow_source(settings: Settings) -> FlowSource:
    """Returns the configured flow folders, loaded as :func:`load_default_flow` does (a release's files too)."""

    def load(flows_dir: Path, locales_dir: Path) -> FlowBundle:
        return load_default_flow(
            settings.model_copy(update={"flows_dir": flows_dir, "locales_dir": locales_dir})
        )

    return FlowSource(settings.flows_dir, settings.locales_dir, load)


def run(
    settings: Settings,
    clock: Clock,
    *,
    webhook_url: str | None = None,
    listen: str = "0.0.0.0",
    port: int = 8443,
) -> None:
    """Runs the bot until SIGINT or SIGTERM, with long polling or behind a webhook.

    The webhook's secret comes from BOT_WEBHOOK_SECRET or BOT_WEBHOOK_SECRET_FILE, never the command line
    (which every local user can read). Raises FlowValidationError for a bad flow and StartupError for
    anything else that stops it from starting.
    """
    webhook = Webhook(webhook_url, listen, port, webhook_secret(settings)) if webhook_url else None
    bundle = load_default_flow(settings)
    database = database_for_run(settings)
    built = build_bot(settings, bundle, clock, webhook=webhook is not None)
    runtime = built.runtime
    source = UpdateSource(
        api_url=settings.telegram_api_url,
        store=runtime.store,
        holder=runtime.delivery.holder,
        allowed_updates=ALLOWED_UPDATES,
        inbox_copy=InboxCopy(built.application, runtime.service, settings.support_chat_id),
        webhook=webhook,
    )
    on_hangup = functools.partial(runtime.reloader.request, "SIGHUP")
    asyncio.run(serve(built.application, source, database=database, on_hangup=on_hangup))

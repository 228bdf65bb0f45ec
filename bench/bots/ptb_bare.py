"""Baseline (a): a bare python-telegram-bot application that answers each button press and edits the message.

Run as ``python -m bench.bots.ptb_bare``; reads ``TELEGRAM_BOT_TOKEN``, ``TELEGRAM_API_URL``,
``BENCH_CONCURRENT_UPDATES`` (default 16) and ``BENCH_REQUEST`` (``httpx``, PTB's default request layer, or
``aiohttp`` for the project's ``AiohttpRequest``).
"""

import os
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

BUTTONS_PER_SCREEN = 3


def keyboard(screen: int) -> InlineKeyboardMarkup:
    """Returns a screen's buttons; each one leads to the next screen."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"Option {i}", callback_data=f"s|{screen + 1}|{i}")] for i in range(3)]
    )


async def start_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends the first screen."""
    if update.effective_message is not None:
        await update.effective_message.reply_text("Screen 0", reply_markup=keyboard(0))


async def choice_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers the press, then edits the message into the next screen."""
    query = update.callback_query
    if query is None:
        return
    screen = int((query.data or "s|1|0").split("|")[1])
    await query.answer()
    await query.edit_message_text(f"Screen {screen}", reply_markup=keyboard(screen))


def build() -> Application:  # type: ignore[type-arg]
    """Builds the application from the environment."""
    base = os.environ["TELEGRAM_API_URL"].rstrip("/")
    builder = (
        ApplicationBuilder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(f"{base}/bot")
        .concurrent_updates(int(os.environ.get("BENCH_CONCURRENT_UPDATES", "16")))
    )
    if os.environ.get("BENCH_REQUEST", "httpx") == "aiohttp":
        from bot.telegram.request import AiohttpRequest

        size = int(os.environ.get("BENCH_CONCURRENT_UPDATES", "16")) + 8
        builder = builder.request(AiohttpRequest(connection_pool_size=size)).get_updates_request(
            AiohttpRequest(connection_pool_size=2, read_timeout=30.0)
        )
    application = builder.build()
    application.add_handler(CommandHandler("start", start_command))
    application.add_handler(CallbackQueryHandler(choice_button))
    return application


def main() -> None:
    """Runs the bot with long polling until SIGTERM."""
    build().run_polling(
        allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY], timeout=timedelta(seconds=25)
    )


if __name__ == "__main__":
    main()

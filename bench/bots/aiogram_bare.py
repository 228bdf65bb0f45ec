"""Baseline (b): a bare aiogram 3 bot that answers each button press and edits the message.

Run as ``python -m bench.bots.aiogram_bare``; reads ``TELEGRAM_BOT_TOKEN`` and ``TELEGRAM_API_URL``.
Updates are handled as aiogram does by default: one task per update, no concurrency limit.
"""

import asyncio
import os

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

router = Router(name="bench")


def keyboard(screen: int) -> InlineKeyboardMarkup:
    """Returns a screen's buttons; each one leads to the next screen."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=f"Option {i}", callback_data=f"s|{screen + 1}|{i}")] for i in range(3)
        ]
    )


@router.message(CommandStart())
async def start_command(message: Message) -> None:
    """Sends the first screen."""
    await message.answer("Screen 0", reply_markup=keyboard(0))


@router.callback_query()
async def choice_button(query: CallbackQuery) -> None:
    """Answers the press, then edits the message into the next screen."""
    screen = int((query.data or "s|1|0").split("|")[1])
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(f"Screen {screen}", reply_markup=keyboard(screen))


async def main() -> None:
    """Runs the bot with long polling until SIGTERM."""
    server = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"])
    bot = Bot(os.environ["TELEGRAM_BOT_TOKEN"], session=AiohttpSession(api=server))
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    await dispatcher.start_polling(bot, allowed_updates=["message", "callback_query"], polling_timeout=25)


if __name__ == "__main__":
    asyncio.run(main())

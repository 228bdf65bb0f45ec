"""The request layer never follows a redirect: the bot token is in every Bot API URL."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from telegram import Bot
from telegram.error import NetworkError, TelegramError

from bot.telegram.request import AiohttpRequest

TOKEN = "123456:redirected-token-secret"


async def test_a_redirect_is_an_error_and_the_token_goes_nowhere_else() -> None:
    elsewhere: list[str] = []

    async def collect(request: web.Request) -> web.Response:
        elsewhere.append(str(request.url))
        return web.json_response({"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "x"}})

    other = web.Application()
    other.router.add_route("*", "/{tail:.*}", collect)
    async with TestServer(other, host="127.0.0.1") as collector:

        async def redirect(request: web.Request) -> web.Response:
            raise web.HTTPTemporaryRedirect(f"http://127.0.0.1:{collector.port}{request.path}")

        api = web.Application()
        api.router.add_route("*", "/{tail:.*}", redirect)
        async with TestServer(api, host="127.0.0.1") as server:
            request = AiohttpRequest()
            await request.initialize()
            try:
                bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{server.port}/bot", request=request)
                with pytest.raises(TelegramError) as raised:
                    await bot.get_me()
            finally:
                await request.shutdown()

    assert isinstance(raised.value, NetworkError), raised.value
    assert elsewhere == []

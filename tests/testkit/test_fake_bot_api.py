"""The fake Bot API behaves like Telegram where the bot can tell the difference."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from testkit import Button, FakeBotApi, Screen, by_id
from testkit.server import GONE

KEYBOARD = {
    "inline_keyboard": [
        [{"text": "Airalo", "callback_data": "p:airalo"}, {"text": "Holafly", "callback_data": "p:holafly"}],
        [{"text": "Another provider", "callback_data": "p:other"}],
    ]
}


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """Serves a fresh fake Bot API for one test."""
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """Opens an HTTP client for calling the fake directly."""
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession, api: FakeBotApi, method: str, *, form: bool = False, **params: Any
) -> tuple[int, dict[str, Any]]:
    """Calls a Bot API method as JSON (or as a form, values JSON-encoded like PTB) and returns status and body."""
    url = f"{api.bot_base_url}{api.token}/{method}"
    if form:
        fields = {
            key: value if isinstance(value, str) else json.dumps(value) for key, value in params.items()
        }
        request = http.post(url, data=fields)
    else:
        request = http.post(url, json=params)
    async with request as response:
        return response.status, await response.json()


async def test_get_updates_hands_out_queued_updates_and_forgets_confirmed_ones(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    user = api.user(chat_id=42, language_code="fr", first_name="Léa")
    await user.send("/start airalo")

    status, body = await call(http, api, "getUpdates", timeout=5)
    assert status == 200
    [update] = body["result"]
    message = update["message"]
    assert message["text"] == "/start airalo"
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert message["from"]["language_code"] == "fr"
    assert message["chat"] == {"id": 42, "type": "private", "first_name": "Léa"}

    _, again = await call(http, api, "getUpdates", offset=update["update_id"])
    assert [u["update_id"] for u in again["result"]] == [update["update_id"]]
    _, confirmed = await call(http, api, "getUpdates", offset=update["update_id"] + 1)
    assert confirmed["result"] == []
    assert api.pending_updates == 0


async def test_a_long_poll_returns_as_soon_as_an_update_arrives(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    poll = asyncio.create_task(call(http, api, "getUpdates", timeout=30))
    await api.wait_until(lambda: api.in_flight == 1, timeout=5)
    await api.user(chat_id=7).send("hello")
    _, body = await asyncio.wait_for(poll, 5)
    assert [update["message"]["text"] for update in body["result"]] == ["hello"]


async def test_a_second_poller_ends_the_first_ones_long_poll_with_409_as_telegram_does(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    first = asyncio.create_task(call(http, api, "getUpdates", timeout=30))
    await api.wait_until(lambda: api.in_flight == 1, timeout=5)
    await api.user(chat_id=7).send("hello")  # wait: handed to the first poll before the second arrives
    _, handed = await asyncio.wait_for(first, 5)
    assert [u["message"]["text"] for u in handed["result"]] == ["hello"]
    assert api.conflicts == []

    offset = handed["result"][-1]["update_id"] + 1
    waiting = asyncio.create_task(call(http, api, "getUpdates", offset=offset, timeout=30))
    await api.wait_until(lambda: api.in_flight == 1, timeout=5)
    status, body = await call(http, api, "getUpdates", offset=offset, timeout=0)
    assert (status, body["result"]) == (200, [])
    status, ended = await asyncio.wait_for(waiting, 5)
    assert status == 409
    assert ended["description"].startswith("Conflict: terminated by other getUpdates request")
    assert [call.status for call in api.conflicts] == [409]


async def test_a_long_poll_whose_client_has_gone_is_ended_without_counting_a_conflict(
    api: FakeBotApi,
) -> None:
    async with aiohttp.ClientSession() as gone:
        abandoned = asyncio.create_task(call(gone, api, "getUpdates", timeout=30))
        await api.wait_until(lambda: api.in_flight == 1, timeout=5)
        abandoned.cancel()  # as a killed process's connection closes
    await asyncio.sleep(0.1)
    async with aiohttp.ClientSession() as successor:
        status, _ = await call(successor, api, "getUpdates", timeout=0)
    assert status == 200
    await api.wait_until(lambda: api.in_flight == 0, timeout=5)
    assert api.conflicts == []
    descriptions = sorted(str(call.description) for call in api.calls_to("getUpdates"))
    assert descriptions == ["None", GONE]


async def test_get_updates_honours_limit_and_allowed_updates(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    user = api.user(chat_id=5)
    await call(http, api, "sendMessage", chat_id=5, text="Pick one", reply_markup=KEYBOARD)
    for text in ("one", "two", "three"):
        await user.send(text)
    await user.press("Airalo")

    _, limited = await call(http, api, "getUpdates", limit=2)
    assert [u["message"]["text"] for u in limited["result"]] == ["one", "two"]
    _, callbacks = await call(http, api, "getUpdates", allowed_updates=["callback_query"])
    assert [u["callback_query"]["data"] for u in callbacks["result"]] == ["p:airalo"]


async def test_press_presses_the_button_on_the_latest_keyboard(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    user = api.user(chat_id=42)
    _, sent = await call(http, api, "sendMessage", chat_id=42, text="Which provider?", reply_markup=KEYBOARD)
    assert sent["result"]["reply_markup"] == KEYBOARD
    assert sent["result"]["from"]["is_bot"] is True

    await user.press("another")  # a unique substring, any case
    _, body = await call(http, api, "getUpdates")
    [update] = body["result"]
    query = update["callback_query"]
    assert query["data"] == "p:other"
    assert query["message"]["message_id"] == sent["result"]["message_id"]
    assert query["message"]["reply_markup"] == KEYBOARD
    assert user.screen.button_labels == ["Airalo", "Holafly", "Another provider"]


async def test_press_explains_which_labels_exist_when_the_button_is_missing(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    user = api.user(chat_id=42)
    await call(http, api, "sendMessage", chat_id=42, text="Which provider?", reply_markup=KEYBOARD)
    with pytest.raises(LookupError, match=r"no button 'Ubigi'.*\['Airalo', 'Holafly', 'Another provider'\]"):
        await user.press("Ubigi")
    with pytest.raises(LookupError, match="several buttons"):
        await user.press("a")


async def test_message_ids_grow_per_chat_and_edits_show_in_the_chat(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    user = api.user(chat_id=1)
    other = api.user(chat_id=2)
    await user.send("/start")
    _, first = await call(
        http,
        api,
        "sendMessage",
        chat_id=1,
        text="<b>Hello</b> &amp; welcome",
        parse_mode="HTML",
        reply_markup=KEYBOARD,
        form=True,
    )
    _, elsewhere = await call(http, api, "sendMessage", chat_id=2, text="Hi")
    assert first["result"]["message_id"] == 2
    assert elsewhere["result"]["message_id"] == 1
    assert first["result"]["text"] == "Hello & welcome"
    assert first["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 5}]

    _, edited = await call(http, api, "editMessageText", chat_id=1, message_id=2, text="Done")
    assert "reply_markup" not in edited["result"]  # an edit without a keyboard removes it
    assert [(m.text, m.rows) for m in user.messages] == [("Done", ())]
    assert [m.text for m in other.messages] == ["Hi"]


async def test_an_edit_that_changes_nothing_is_refused_like_telegram(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    api.user(chat_id=3)
    _, sent = await call(http, api, "sendMessage", chat_id=3, text="Same", reply_markup=KEYBOARD)
    message_id = sent["result"]["message_id"]

    status, body = await call(
        http, api, "editMessageText", chat_id=3, message_id=message_id, text="Same", reply_markup=KEYBOARD
    )
    assert status == 400
    assert body["description"].startswith(
        "Bad Request: message is not modified: specified new message content"
    )
    status, body = await call(http, api, "editMessageText", chat_id=3, message_id=999, text="x")
    assert (status, body["description"]) == (400, "Bad Request: message to edit not found")


async def test_malformed_formatting_and_oversized_buttons_are_rejected(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    api.user(chat_id=3)
    status, body = await call(http, api, "sendMessage", chat_id=3, text="a <b>bold", parse_mode="HTML")
    assert (status, body["description"]) == (
        400,
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
    )
    status, body = await call(http, api, "sendMessage", chat_id=3, text="*Price*", parse_mode="MarkdownV2")
    assert (status, body["description"]) == (
        400,
        "Bad Request: can't parse entities: unsupported parse_mode 'MarkdownV2' (the fake knows HTML only)",
    )
    status, body = await call(
        http,
        api,
        "sendMessage",
        chat_id=3,
        text="ok",
        reply_markup={"inline_keyboard": [[{"text": "Long", "callback_data": "x" * 65}]]},
    )
    assert body["description"] == "Bad Request: BUTTON_DATA_INVALID"
    status, body = await call(http, api, "sendMessage", chat_id=404, text="hello")
    assert body["description"] == "Bad Request: chat not found"


async def test_callback_answers_become_toasts_and_a_query_answers_once(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    user = api.user(chat_id=8)
    await call(http, api, "sendMessage", chat_id=8, text="Pick", reply_markup=KEYBOARD)
    query_id = await user.press("Holafly")
    status, _ = await call(http, api, "answerCallbackQuery", callback_query_id=query_id, text="Saved")
    assert status == 200
    assert user.toasts == ["Saved"]
    assert await user.wait_for_answer(timeout=1) == "Saved"

    status, body = await call(http, api, "answerCallbackQuery", callback_query_id=query_id)
    assert (status, body["description"]) == (
        400,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    )
    late = await user.press("Airalo")
    api.expire_callback_queries()
    status, _ = await call(http, api, "answerCallbackQuery", callback_query_id=late)
    assert status == 400


async def test_flood_limits_answer_429_with_retry_after() -> None:
    async with FakeBotApi(enforce_limits=True) as api, aiohttp.ClientSession() as http:
        for chat_id in range(1, 32):
            api.user(chat_id=chat_id)
        status, _ = await call(http, api, "sendMessage", chat_id=1, text="first")
        assert status == 200
        status, body = await call(http, api, "sendMessage", chat_id=1, text="second")
        assert status == 429
        assert body["error_code"] == 429
        assert body["description"] == "Too Many Requests: retry after 1"
        assert body["parameters"] == {"retry_after": 1}

        statuses = [(await call(http, api, "sendMessage", chat_id=c, text="hi"))[0] for c in range(2, 32)]
        assert statuses == [200] * 29 + [429]  # 30 messages per second overall


async def test_a_blocked_user_gets_nothing(api: FakeBotApi, http: aiohttp.ClientSession) -> None:
    api.user(chat_id=9)
    api.block(9)
    status, body = await call(http, api, "sendMessage", chat_id=9, text="reminder")
    assert (status, body) == (
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )
    api.unblock(9)
    status, _ = await call(http, api, "sendMessage", chat_id=9, text="reminder")
    assert status == 200


async def test_unknown_methods_and_tokens_are_answered_like_telegram(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, api, "sendTelepathy", chat_id=1)
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    async with http.post(f"{api.bot_base_url}1:wrong/getMe") as response:
        assert response.status == 401
    status, body = await call(http, api, "GETME")  # method names are case-insensitive
    assert body["result"]["is_bot"] is True
    status, body = await call(http, api, "getWebhookInfo")
    assert body["result"] == {"url": "", "has_custom_certificate": False, "pending_update_count": 0}


async def test_fail_next_answers_one_call_with_the_given_error(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    api.fail_next("getMe", 502, "Bad Gateway")
    assert (await call(http, api, "getMe"))[0] == 502
    assert (await call(http, api, "getMe"))[0] == 200


async def test_command_menus_are_kept_per_language(api: FakeBotApi, http: aiohttp.ClientSession) -> None:
    commands = [{"command": "start", "description": "Commencer"}, {"command": "help", "description": "Aide"}]
    await call(http, api, "setMyCommands", commands=commands, language_code="fr", form=True)
    await call(http, api, "setMyCommands", commands=[{"command": "start", "description": "Start"}])
    assert api.commands("fr") == [("start", "Commencer"), ("help", "Aide")]
    assert api.commands() == [("start", "Start")]
    status, body = await call(
        http, api, "setMyCommands", commands=[{"command": "Start!", "description": "x"}]
    )
    assert (status, body["description"]) == (400, "Bad Request: BOT_COMMAND_INVALID")


async def test_stickers_photos_and_group_messages_look_like_telegrams(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    user = api.user(chat_id=11)
    member = api.group(chat_id=-1001234, user_id=11, title="eSIM friends")
    await user.send_sticker()
    await user.send_photo(caption="my QR code")
    await member.send("/start@esim_test_bot")
    _, body = await call(http, api, "getUpdates")
    sticker, photo, group = (update["message"] for update in body["result"])
    assert sticker["sticker"]["emoji"] == "👍"
    assert photo["caption"] == "my QR code"
    assert len(photo["photo"]) == 3
    assert group["chat"] == {"id": -1001234, "type": "supergroup", "title": "eSIM friends"}
    assert group["from"]["id"] == 11
    assert group["entities"] == [{"type": "bot_command", "offset": 0, "length": len("/start@esim_test_bot")}]


async def test_latency_from_hand_out_to_first_answer_is_recorded(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    user = api.user(chat_id=12)
    await call(http, api, "sendMessage", chat_id=12, text="Pick", reply_markup=KEYBOARD)
    query_id = await user.press("Airalo")
    await call(http, api, "getUpdates")
    assert api.latencies == []
    await call(http, api, "answerCallbackQuery", callback_query_id=query_id)
    await call(http, api, "editMessageText", chat_id=12, message_id=1, text="Airalo it is")
    assert len(api.latencies) == 1
    assert 0 <= api.latencies[0] < 5
    reply = await user.wait_for_reply(timeout=1)
    assert reply.text == "Airalo it is"


async def test_webhook_mode_posts_updates_with_the_secret_token(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    received: asyncio.Queue[tuple[str | None, dict[str, Any]]] = asyncio.Queue()

    async def webhook(request: web.Request) -> web.Response:
        await received.put((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    [(_host, port)] = runner.addresses
    try:
        await call(http, api, "setWebhook", url=f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        status, _ = await call(http, api, "getUpdates")
        assert status == 409
        await api.user(chat_id=13).send("/start")
        secret, update = await asyncio.wait_for(received.get(), 5)
        assert secret == "s3cret"
        assert update["message"]["text"] == "/start"
        _, info = await call(http, api, "getWebhookInfo")
        assert info["result"]["url"].endswith("/hook")
        await call(http, api, "deleteWebhook")
    finally:
        await runner.cleanup()


FLOW_KEYBOARD = {
    "inline_keyboard": [
        [{"text": "Let's start", "callback_data": "f00d|1|start|go"}],
        [
            {"text": "⬅️ Back", "callback_data": "f00d|1|start|back"},
            {"text": "Help", "url": "https://example.org"},
        ],
    ]
}


async def test_a_screen_shows_text_links_and_typed_buttons(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    user = api.user(chat_id=14)
    text = 'Read <a href="https://example.org/help">the help</a> first'
    await call(http, api, "sendMessage", chat_id=14, text=text, parse_mode="HTML", reply_markup=FLOW_KEYBOARD)
    assert user.screen == Screen(
        message_id=1,
        text="Read the help first",
        rows=(
            (Button("Let's start", data="f00d|1|start|go"),),
            (Button("⬅️ Back", data="f00d|1|start|back"), Button("Help", url="https://example.org")),
        ),
        links=("https://example.org/help",),
    )
    assert [button.id for button in user.screen.buttons] == ["go", "back", None]


async def test_a_button_is_found_by_label_by_id_or_by_a_predicate(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    user = api.user(chat_id=15)
    await call(http, api, "sendMessage", chat_id=15, text="Start?", reply_markup=FLOW_KEYBOARD)
    screen = user.screen
    assert screen.button("Let's start") == screen.button("go") == screen.button("START")
    assert screen.button(by_id("back")).label == "⬅️ Back"
    assert screen.button(lambda button: button.url is not None).label == "Help"
    assert screen.has_button("back")
    assert screen.has_button("t"), "several buttons contain a t: it has one"
    assert not screen.has_button("Ubigi")
    with pytest.raises(LookupError, match="no button matching"):
        screen.button(by_id("Let's start"))
    with pytest.raises(LookupError, match="opens a link"):
        await user.press("Help")


async def test_pressing_an_old_screen_sends_the_keyboard_it_showed(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    user = api.user(chat_id=16)
    await call(http, api, "sendMessage", chat_id=16, text="Start?", reply_markup=FLOW_KEYBOARD)
    old = user.screen
    moved_on = {"inline_keyboard": [[{"text": "Let's start", "callback_data": "f00d|2|start|go"}]]}
    await call(http, api, "editMessageText", chat_id=16, message_id=1, text="Again?", reply_markup=moved_on)
    await user.press("Let's start", on=old)
    await user.press("Let's start")
    await user.press(Button("Forged", data="f00d|9|start|go"), on=old)
    _, body = await call(http, api, "getUpdates")
    pressed = [update["callback_query"] for update in body["result"]]
    assert [query["data"] for query in pressed] == ["f00d|1|start|go", "f00d|2|start|go", "f00d|9|start|go"]
    assert {query["message"]["message_id"] for query in pressed} == {1}
    assert pressed[0]["message"]["text"] == "Again?", "Telegram sends the message as it is now"


async def test_say_and_tap_wait_for_the_bot(api: FakeBotApi, http: aiohttp.ClientSession) -> None:
    user = api.user(chat_id=17)

    async def bot() -> None:
        _, body = await call(http, api, "getUpdates", timeout=5)
        [said] = body["result"]
        assert said["message"]["text"] == "/start"
        _, sent = await call(http, api, "sendMessage", chat_id=17, text="Start?", reply_markup=FLOW_KEYBOARD)
        _, body = await call(http, api, "getUpdates", offset=said["update_id"] + 1, timeout=5)
        [tapped] = body["result"]
        query = tapped["callback_query"]
        await call(http, api, "answerCallbackQuery", callback_query_id=query["id"], text="On we go")
        message_id = sent["result"]["message_id"]
        await call(http, api, "editMessageText", chat_id=17, message_id=message_id, text="Which provider?")

    answering = asyncio.create_task(bot())
    first = await user.say("/start")
    assert first.button_labels == ["Let's start", "⬅️ Back", "Help"]
    second = await user.tap("go")
    assert (second.text, second.rows) == ("Which provider?", ())
    assert user.toasts == ["On we go"]
    await answering

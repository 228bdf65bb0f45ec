"""The micro-benchmarks still run against today's code path (their numbers are read in bench/RESULTS.md)."""

from __future__ import annotations

import math

from bench.micro import run


async def test_a_tiny_round_times_every_step_of_a_press() -> None:
    printed: list[str] = []

    timings = await run(rounds=3, out=printed.append)

    assert printed[0].startswith("press 't_backup' on 'home_end'")
    assert list(timings) == [
        "json.loads of the update",
        "Update.de_json (python-telegram-bot)",
        "bot.callbacks.decode of the callback data",
        "engine step: press + next screen rendered + OutgoingMessage",
        "outbox form: to_payload + from_outbox",
        "screenbot.keyboard(rows): plain dicts",
        "ScreenBot.show(edit), whole call (do_api_request, answer left as a dict)",
        "json.dumps of the request parameters (AiohttpRequest's JSON body; not in the line above)",
        "Bot.edit_message_text with InlineKeyboardMarkup, answer parsed into a Message",
    ]
    assert all(math.isfinite(micros) and micros > 0 for micros in timings.values())
    assert sum(1 for line in printed if line.endswith(tuple(timings))) == len(timings)

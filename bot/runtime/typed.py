"""The unit for anything typed, sent or stuck where buttons are expected, and for a suggestion tapped.

What people type is read for the situations it points to (:mod:`bot.words`): the best one to three come
back as buttons, under a line saying what the bot understood, with the start as a way out. Nothing happens
without a tap. While a guide is under way, only a switch is offered, and switching asks first, like
"start over". What is typed is never quoted back, stored or logged here: the reply names situations only,
and what looks like a phone number, an e-mail address, an order number or a code earns a reminder that
the bot never needs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from bot.callbacks import FlowPress, Suggestion, encode
from bot.engine.conversation import Conversation
from bot.engine.screens import ScreenButton
from bot.flows import edges
from bot.runtime.buttons import in_language
from bot.runtime.chat import (
    Chat,
    Result,
    at_hand,
    counted,
    show_current,
    start_over,
    stripped,
)
from bot.runtime.messages import OutgoingMessage, Rows
from bot.runtime.over import under_way
from bot.runtime.where import set_timezone
from bot.words import Reading

__all__ = ["TIMEZONE_ANSWER_WINDOW", "typed_message"]

TIMEZONE_ANSWER_WINDOW = timedelta(minutes=15)
"""How long after "where are you?" a typed message is read as the answer."""

SEPARATOR = " · "


async def typed_message(chat: Chat, text: str | None) -> Result:
    """Reads a place right after "where are you?", a language's name, or the situations typed words point
    to; a sticker or a photo gets one line (the bot never needs phone numbers, emails or codes) with the
    current step and its buttons."""
    reading = chat.engine.words.read(chat.language, text) if text else Reading()
    asked = chat.settings.timezone_asked_at
    if text and asked is not None:
        # Only the first text after the prompt can answer it: the question is then settled.
        chat = replace(chat, settings=replace(chat.settings, timezone_asked_at=None))
        if chat.now - asked <= TIMEZONE_ANSWER_WINDOW and not reading.private:
            # What is typed is read here and never stored.
            return await set_timezone(chat, text, edit=None)
    if not text:
        return at_hand(chat, chat.text("ui.stray"))
    language = chat.engine.places.find_language(text)
    if language is not None and language in chat.engine.bundle.texts.languages:
        chosen = in_language(chat, language)
        return show_current(chosen, before=(chosen.notice("ui.language.changed"),))
    conversation = chat.conversation
    if conversation is not None and under_way(chat, conversation):
        return _while_under_way(chat, conversation, reading)
    if not reading.targets:
        return _off_topic(chat, reading)
    return _suggest(chat, reading)


def _off_topic(chat: Chat, reading: Reading) -> Result:
    """Answers text that points nowhere ("hello", "👍", the weather) with the first screen (one message,
    the reminder that the bot never needs private data above it when some was sent)."""
    conversation = chat.conversation
    fresh = conversation is None or conversation.finished
    shown = start_over(chat) if fresh else show_current(chat)
    if not reading.private:
        return shown
    private = chat.text("ui.typed.private")
    messages = tuple(
        replace(m, text=f"{private}\n\n{m.text}") if m.shows_screen else m for m in shown.messages
    )
    return replace(shown, messages=messages)


def _suggest(chat: Chat, reading: Reading) -> Result:
    """Suggests the situations typed, best first, with the start as a way out; a first message is greeted."""
    conversation = chat.conversation or chat.engine.start(chat.language).conversation
    shown = replace(chat, conversation=counted(conversation))
    step = conversation.step + 1
    lines = [chat.text("ui.typed.hello")] if chat.conversation is None else []
    lines.append(chat.text("ui.typed.understood", {"what": _understood(chat, reading.targets)}))
    if reading.private:
        lines.append(chat.text("ui.typed.private"))
    rows = (
        *_suggestion_rows(chat, reading.targets, step),
        (ScreenButton(chat.text("ui.typed.none"), data=encode(Suggestion(None, step))),),
    )
    message = OutgoingMessage(chat.id, "\n\n".join(lines), rows, shows_screen=True)
    return shown.keep(*stripped(shown, keep=None), message)


def _while_under_way(chat: Chat, conversation: Conversation, reading: Reading) -> Result:
    """Mid-way, offers only a switch (which asks before dropping anything), or says the guide is on it."""
    if not reading.targets:
        return at_hand(chat, chat.text("ui.stray"))
    private = [chat.text("ui.typed.private")] if reading.private else []
    fitting = [target for target in reading.targets if _fits(chat, conversation, target)]
    if fitting:
        on_it = chat.text("ui.typed.on_it", {"what": _understood(chat, fitting)})
        return at_hand(chat, "\n\n".join([on_it, *private]))
    switch = chat.text("ui.typed.switch", {"what": _understood(chat, reading.targets)})

    def offered(shown: Chat, now: Conversation) -> Rows:
        return _suggestion_rows(shown, reading.targets, now.step)

    return at_hand(chat, "\n\n".join([switch, *private]), above=offered)


def _suggestion_rows(chat: Chat, targets: Sequence[str], step: int) -> Rows:
    words = chat.engine.words
    return tuple(
        (ScreenButton(words.label(chat.language, target), data=encode(Suggestion(target, step))),)
        for target in targets
    )


def _understood(chat: Chat, targets: Sequence[str]) -> str:
    """Returns what the bot understood, in a few words: "📵 Phone lost or stolen · Airalo"."""
    return SEPARATOR.join(chat.engine.words.label(chat.language, target) for target in targets)


def _fits(chat: Chat, conversation: Conversation, deep_link: str) -> bool:
    """Tells whether the guide under way already is where ``deep_link`` leads: what the link chooses is
    chosen, or the conversation is in a part of the flow reached only through where the link lands."""
    engine = chat.engine
    started = engine.start(chat.language, deep_link)
    plain = engine.start(chat.language).conversation.variables
    chosen = {k: v for k, v in started.conversation.variables.items() if plain.get(k) != v and v is not None}
    provider = chosen.get("provider")
    if provider is not None and conversation.variables.get("provider") == provider:
        return True
    landings = _landings(chat, started.conversation)
    return any(conversation.state in _only_through(chat, landing) for landing in landings)


def _landings(chat: Chat, started: Conversation) -> set[str]:
    """Returns where the first screen's buttons lead once the link has set what it sets."""
    found = set()
    for row in chat.engine.renderer.render(started).rows:
        for button in row:
            if isinstance(button.press, FlowPress):
                found.add(chat.engine.press(started, button.press).conversation.state)
    return found


def _only_through(chat: Chat, landing: str) -> set[str]:
    """Returns ``landing`` and the states every way to which from the start passes through it."""
    flow = chat.engine.flow
    following: dict[str, set[str]] = {}
    for edge in edges(flow):
        if edge.target is not None:
            following.setdefault(edge.source, set()).add(edge.target)

    def reached(without: str | None) -> set[str]:
        seen, queue = {flow.start}, [flow.start]
        while queue:
            for target in following.get(queue.pop(), ()):
                if target not in seen and target != without:
                    seen.add(target)
                    queue.append(target)
        return seen

    return (reached(None) - reached(landing)) | {landing}

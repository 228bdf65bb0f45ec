"""What a unit reads (:class:`Chat`) and what it returns (:class:`Result`), and the steps units share.

A unit is a plain function from one event's view of a chat to an immutable result; it never writes. The
chat service commits the result once (:mod:`bot.runtime.commit`), so the order in which a unit builds
its result cannot leave half an update in the store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo

from bot.callbacks import MAX_STEP_DIGITS, AskPerson, LanguageChoice, RemindersOn, encode
from bot.engine import Effect, ScheduleReminder
from bot.engine.conversation import Conversation
from bot.engine.engine import FlowEngine, StepResult
from bot.engine.screens import Markup, Screen, ScreenButton
from bot.localtime import zone_or_default
from bot.runtime.messages import OutgoingMessage, Rows, wired
from bot.store import Reminder, UserSettings

__all__ = [
    "FORGET",
    "LONG_PAUSE",
    "QUOTED_INPUT_CHARACTERS",
    "START_OVER",
    "Chat",
    "Result",
    "anew",
    "ask",
    "asked_again",
    "at_hand",
    "made_for_now",
    "next_reminder_at",
    "next_reminder_line",
    "resume_rows",
    "screen_of",
    "show_current",
    "start_over",
    "step_result",
    "stripped",
    "where_line",
    "where_of",
]

FORGET = "forget"
"""What the /forget confirmation asks (:attr:`Conversation.asking`)."""
START_OVER = "start_over"
"""What "continue or start over?" and "start over?" ask."""

LONG_PAUSE = timedelta(hours=6)
"""After this long without activity, the next screen comes as a new message rather than an edit far up."""

QUOTED_INPUT_CHARACTERS = 64
"""At most this much of what a person typed is quoted back to them."""


@dataclass(frozen=True, slots=True)
class Result:
    """What one event changes about a chat, committed at once: settings, conversation, effects, messages.

    ``messages`` go to the outbox with the commit; ``direct`` ones are sent without it (they quote what
    was typed, or confirm that everything about the chat is deleted). ``forget`` deletes the chat
    instead of committing anything else.

    Effects are only ever added (:meth:`adding`, :meth:`then`), never replaced: a unit that builds on
    another's result (a start under an answer, say) keeps what that one asked for, such as the funnel
    row of the screen it started.
    """

    settings: UserSettings
    conversation: Conversation | None
    messages: tuple[OutgoingMessage, ...] = ()
    direct: tuple[OutgoingMessage, ...] = ()
    toast: str | None = None
    forget: bool = False
    _effects: tuple[Effect, ...] = field(default=(), repr=False)

    @property
    def effects(self) -> tuple[Effect, ...]:
        """Returns what the result asks of reminders and statistics, in the order asked."""
        return self._effects

    def adding(self, effects: Iterable[Effect]) -> Result:
        """Returns this result with ``effects`` done after its own."""
        return replace(self, _effects=(*self._effects, *effects))

    def then(self, later: Result) -> Result:
        """Returns this result followed by ``later``, a result computed from this one's chat."""
        return Result(
            settings=later.settings,
            conversation=later.conversation,
            messages=self.messages + later.messages,
            direct=self.direct + later.direct,
            toast=later.toast or self.toast,
            forget=self.forget or later.forget,
            _effects=self._effects + later._effects,
        )


async def _no_question() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class Chat:
    """One event's view of a chat: its settings and conversation, the time, and its texts.

    ``screen_id`` is the message showing the conversation's screen, or None when a new message is
    better (none yet, or it is far up the chat after a long pause). ``shown_id`` is that message
    whatever the pause: the one whose buttons are live, taken off when the step is shown anew.
    """

    id: int
    settings: UserSettings
    conversation: Conversation | None
    screen_id: int | None
    now: datetime
    engine: FlowEngine
    pending_reminders: Callable[[], Awaitable[Sequence[Reminder]]]
    """Reads the chat's pending reminders (one more trip to the store, for the few units that need them)."""
    reminder_id: int | None = None
    """The latest reminder sent, when no screen was shown since: the only one whose buttons still count."""
    shown_id: int | None = None
    handoff: bool = False
    """Whether a person can be asked here (the bot has a support chat)."""
    open_question: Callable[[], Awaitable[bool]] = field(default=_no_question)
    """Tells whether the person's question to the operators is open (one more trip to the store, for /status)."""

    def on_screen(self, message_id: int | None) -> bool:
        """Tells whether ``message_id`` is the screen, to be edited in place: recent, and no reminder since."""
        return message_id is not None and message_id == self.screen_id and self.reminder_id is None

    def far_up(self, message_id: int | None) -> bool:
        """Tells whether ``message_id`` came before the screen or the latest reminder: never edited, as it
        is no longer where the person is reading (a chat's message ids grow)."""
        live = (self.shown_id, self.reminder_id)
        return message_id is not None and any(m is not None and message_id < m for m in live)

    @property
    def language(self) -> str:
        """Returns the chat's language, or the flow's first when the stored one is no longer offered."""
        languages = self.engine.bundle.texts.languages
        language = self.settings.language
        return language if language in languages else languages[0]

    @property
    def zone(self) -> tzinfo:
        """Returns the chat's time zone."""
        return zone_or_default(self.settings.timezone)

    @property
    def placed(self) -> bool:
        """Tells whether the chat's zone is one the person gave: picked, typed, or named by their answers
        (in New Caledonia; back home in France). A zone guessed from their language is not."""
        if self.settings.timezone_chosen:
            return True
        guess = None if self.conversation is None else self.engine.assumed_zone(self.conversation)
        return guess is not None and guess.named and guess.zone == self.settings.timezone

    def when(self, moment: datetime) -> str:
        """Returns when a reminder due at ``moment`` comes, after the quiet hours, as the person reads it:
        "tomorrow at 09:00 (Shanghai time)"; only "in 1 week" until they give their zone (never a clock
        time in a guessed one)."""
        if not self.placed:
            return self.engine.places.after(moment - self.now, self.language)
        due = self.settings.sendable_from(moment)
        return self.engine.places.when(due, self.zone, self.settings.timezone, self.language, self.now)

    def clock(self) -> str:
        """Returns the person's local time now, as "22:30"."""
        return self.now.astimezone(self.zone).strftime("%H:%M")

    def text(self, key: str, values: Mapping[str, str] | None = None) -> str:
        """Returns a runtime text in the chat's language."""
        return self.engine.renderer.plain(self.language, key, values)

    def notice(
        self,
        key: str,
        values: Mapping[str, str] | None = None,
        *,
        rows: tuple[tuple[ScreenButton, ...], ...] = (),
        edit: int | None = None,
    ) -> OutgoingMessage:
        """Returns a runtime text (not a flow screen) as a message: new, or in place of ``edit``."""
        return OutgoingMessage(self.id, self.text(key, values), rows, edit)

    def show(self, screen: Screen, *, edit: int | None = None, shows_screen: bool = True) -> OutgoingMessage:
        """Returns the message that shows ``screen``."""
        return OutgoingMessage.of(self.id, screen, edit=edit, shows_screen=shows_screen)

    def keep(
        self,
        *messages: OutgoingMessage,
        toast: str | None = None,
        direct: tuple[OutgoingMessage, ...] = (),
    ) -> Result:
        """Returns a result that changes nothing stored and shows ``messages``."""
        return Result(self.settings, self.conversation, messages, direct, toast=toast)

    def after(self, result: Result) -> Chat:
        """Returns this chat as ``result`` leaves it, for a unit that continues from there."""
        return replace(self, settings=result.settings, conversation=result.conversation)


def start_over(chat: Chat, deep_link: str | None = None, *, edit: int | None = None) -> Result:
    """Starts the flow afresh (reminders too), optionally where a deep link points."""
    started = chat.engine.start(chat.language, deep_link)
    earlier = chat.conversation
    if earlier is not None:
        # The count of screens goes on: the old conversation's keyboards are old in the new one too.
        counted = replace(started.conversation, step=earlier.step + started.conversation.step)
        started = replace(started, conversation=counted, screen=chat.engine.renderer.render(counted))
    settings = replace(chat.settings, reminders_stopped=False)
    return step_result(replace(chat, settings=settings), started, edit=edit)


def step_result(chat: Chat, step: StepResult, *, edit: int | None, shows_screen: bool = True) -> Result:
    """Returns the result of an engine step: its conversation, effects and toast, and its screen shown
    (a new screen takes the buttons off the messages shown before)."""
    conversation = replace(step.conversation, asking=None)
    screen = _offered(chat, conversation, wired(step.screen))
    message = chat.show(screen, edit=edit, shows_screen=shows_screen)
    messages = (*stripped(chat, keep=edit), message) if shows_screen else (message,)
    settings = asked_again(chat, step.effects)
    return Result(settings, conversation, messages, toast=step.toast).adding(step.effects)


def asked_again(chat: Chat, effects: Sequence[Effect]) -> UserSettings:
    """Returns the chat's settings after a step of the person's: one that asks for a reminder again
    (waiting anew, snoozing) turns stopped reminders back on. Moving a kept reminder (a new zone) does not."""
    if chat.settings.reminders_stopped and any(isinstance(e, ScheduleReminder) for e in effects):
        return replace(chat.settings, reminders_stopped=False)
    return chat.settings


def anew(chat: Chat, *, asking: str | None = None) -> Chat:
    """Returns the chat about to show its step anew (or the confirmation ``asking``): see :func:`counted`."""
    conversation = chat.conversation
    return chat if conversation is None else replace(chat, conversation=counted(conversation, asking))


def counted(conversation: Conversation, asking: str | None = None) -> Conversation:
    """Returns the conversation about to be shown anew: its step counts one more, so every keyboard shown
    before is old, even one Telegram no longer lets the bot take off (48 hours after it was sent)."""
    return replace(conversation, step=conversation.step + 1, asking=asking)


def stripped(chat: Chat, *, keep: int | None) -> tuple[OutgoingMessage, ...]:
    """Returns the edits that take the buttons off the messages that still have live ones (the screen,
    the latest reminder), except ``keep``: a message about to be shown in their place."""
    live = dict.fromkeys(i for i in (chat.shown_id, chat.reminder_id) if i is not None and i != keep)
    return tuple(OutgoingMessage.stripping(chat.id, message_id) for message_id in live)


def ask(
    chat: Chat,
    asking: str,
    key: str,
    answers: Callable[[int], Rows],
    *,
    values: Mapping[str, str] | None = None,
    edit: int | None = None,
) -> Result:
    """Shows a confirmation as the newest screen: its ``answers`` (made for its step) count there only."""
    # Nothing shown yet (e.g. /forget first): the confirmation stands on a conversation not yet shown.
    conversation = chat.conversation or chat.engine.start(chat.language).conversation
    chat = replace(chat, conversation=counted(conversation, asking))
    rows = answers(conversation.step + 1)
    question = OutgoingMessage(chat.id, chat.text(key, values), rows, edit, shows_screen=True)
    return chat.keep(*stripped(chat, keep=edit), question)


def made_for_now(chat: Chat, step: int | None, *, asking: str | None = None) -> bool:
    """Tells whether a button carrying ``step`` was made for the newest screen (and, for a confirmation,
    the screen that asks ``asking``)."""
    conversation = chat.conversation
    if conversation is None or step is None:
        return False
    return step == conversation.step % 10**MAX_STEP_DIGITS and conversation.asking == asking


def screen_of(chat: Chat, conversation: Conversation) -> Screen:
    """Returns the screen of the conversation's step, as the chat shows it."""
    return _offered(chat, conversation, wired(chat.engine.renderer.render(conversation)))


def _offered(chat: Chat, conversation: Conversation, screen: Screen) -> Screen:
    """Adds what the runtime offers besides the flow's buttons: languages, and asking a person."""
    screen = _with_languages(chat, conversation, screen)
    state = chat.engine.flow.states.get(conversation.state)
    if not chat.handoff or state is None or not state.ask_a_person:
        return screen
    ask = ScreenButton(chat.text("ui.handoff.ask_button"), data=encode(AskPerson()))
    return Screen(screen.text, (*screen.rows, (ask,)))


def _with_languages(chat: Chat, conversation: Conversation, screen: Screen) -> Screen:
    """Adds a row of language buttons to the first screen, so that it shows which languages the bot speaks."""
    if conversation.state != chat.engine.flow.start:
        return screen
    engine = chat.engine
    row = tuple(
        ScreenButton(
            engine.renderer.plain(language, "ui.language.name"), data=encode(LanguageChoice(language))
        )
        for language in engine.bundle.texts.languages
        if language != conversation.language
    )
    return Screen(screen.text, (*screen.rows, row)) if row else screen


def show_current(chat: Chat, *, edit: int | None = None, before: Sequence[OutgoingMessage] = ()) -> Result:
    """Shows the current screen anew (after ``before``), starting a conversation if there is none."""
    if chat.conversation is None:
        return chat.keep(*before).then(start_over(chat))
    conversation = counted(chat.conversation)
    chat = replace(chat, conversation=conversation)
    shown = chat.show(screen_of(chat, conversation), edit=edit)
    return chat.keep(*before, *stripped(chat, keep=edit), shown)


def where_line(screen: Screen) -> Markup:
    """Returns the first line of a screen: what the person is doing, in a few words (Telegram HTML)."""
    return Markup(next((line for line in screen.text.splitlines() if line.strip()), ""))


def where_of(chat: Chat, conversation: Conversation) -> Markup:
    """Returns where the person is, in a few words: the screen's first line, or that the guide is over
    (a last screen's first line is a thank-you, not a step)."""
    if conversation.finished:
        return Markup(chat.text("ui.status.finished"))
    return where_line(screen_of(chat, conversation))


def at_hand(
    chat: Chat,
    text: str,
    *,
    above: Callable[[Chat, Conversation], Rows] | None = None,
    edit: int | None = None,
    where: bool = True,
    toast: str | None = None,
) -> Result:
    """Shows ``text`` with the current step under it, in one line, and that step's buttons (and the rows
    ``above`` makes for the message, such as :func:`resume_rows`, above them).

    The message becomes the chat's screen, so the person acts on the current step without scrolling;
    the messages shown before lose their buttons, so only one set of them is live.
    """
    if chat.conversation is None:
        said = (OutgoingMessage(chat.id, text, (), edit),) if text else ()
        return chat.keep(*said, toast=toast).then(start_over(chat))
    conversation = counted(chat.conversation)
    chat = replace(chat, conversation=conversation)
    screen = screen_of(chat, conversation)
    compact = chat.text("ui.at_hand", {"where": where_of(chat, conversation)})
    body = compact if not text else f"{text}\n\n{compact}" if where else text
    rows = above(chat, conversation) if above is not None else ()
    shown = OutgoingMessage(chat.id, body, (*rows, *screen.rows), edit, shows_screen=True)
    return chat.keep(*stripped(chat, keep=edit), shown, toast=toast)


def resume_rows(chat: Chat, conversation: Conversation) -> Rows:
    """Returns "turn reminders back on" for this screen, when the step has reminders to turn back on."""
    if not chat.engine.reminders_of_state(conversation):
        return ()  # offering it would say something untrue: there is nothing to turn on here
    return ((ScreenButton(chat.text("ui.resume.button"), data=encode(RemindersOn(conversation.step))),),)


def next_reminder_line(chat: Chat, effects: Sequence[Effect]) -> str | None:
    """Returns "⏰ Next reminder: …" for the soonest reminder ``effects`` schedule, or None."""
    due = next_reminder_at(chat, effects)
    return None if due is None else chat.text("ui.next_reminder", {"when": chat.when(due)})


def next_reminder_at(chat: Chat, effects: Sequence[Effect]) -> datetime | None:
    """Returns when the soonest reminder ``effects`` schedule falls due, or None (:meth:`Chat.when` says
    it as the person reads it, after their quiet hours, as the commit stores it)."""
    scheduled = [effect.delay for effect in effects if isinstance(effect, ScheduleReminder)]
    if not scheduled:
        return None
    return chat.now + min(scheduled)

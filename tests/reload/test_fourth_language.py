"""A language is a file: German, copied from a fixture folder into locales/, is spoken everywhere after a reload."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from bot.clock import FakeClock
from bot.flows import validate_paths
from bot.runtime.texts import UI_TEXTS
from bot.settings import Settings
from bot.telegram.app import build_bot, load_default_flow
from testkit import FakeBotApi
from testkit.application import polling
from tests.e2e.process import ROOT, clean_environment
from tests.reload.conftest import Operator
from tests.telegram.stories import asked_where

FIXTURE = Path(__file__).parent / "fourth_language"


def add_german(operator: Operator) -> None:
    """Copies the fixture folder's files into locales/: nothing else changes."""
    for path in FIXTURE.iterdir():
        shutil.copy(path, operator.locales / path.name)


async def test_a_fourth_language_from_files_only_is_spoken_everywhere(
    api: FakeBotApi, settings: Settings, clock: FakeClock, operator: Operator
) -> None:
    operator.add_chinese()
    built = build_bot(settings, load_default_flow(settings), clock)
    application, runtime = built.application, built.runtime
    async with polling(application):
        assert api.commands("de") == []
        add_german(operator)
        assert (await runtime.reloader.reload("test")).swapped

        # Detection from Telegram's language code, and the first screen's language buttons.
        berliner = api.user(1, language_code="de-AT")
        welcome = await berliner.say("/start")
        assert welcome.text.startswith("Hallo. Welche eSIM?")
        assert {"English", "Français", "简体中文"} <= set(welcome.button_labels)
        english = await api.user(2, language_code="en").say("/start")
        assert "Deutsch" in english.button_labels

        # Dates, places and reminders in German.
        request = await berliner.tap("Airalo", on=welcome)
        waiting = await berliner.tap("Ich habe sie gesendet", on=request)
        # Berlin is only a guess from the language: how long, in German, and no clock time until they say.
        assert "Nächste Erinnerung: in 1 Tag." in waiting.text
        assert "Zeit in Berlin" not in waiting.text
        await berliner.tap("🌍 Woanders…", on=await asked_where(berliner, waiting))
        placed = await berliner.say("Deutschland")
        assert "Erinnerungen folgen jetzt Zeit in Berlin" in placed.text
        assert "Nächste Erinnerung: morgen um" in placed.text
        shown = len(berliner.messages)
        clock.advance(timedelta(days=1, hours=7))  # 09:00 in Berlin: out of the quiet hours there
        await berliner.wait_for_messages(shown + 1)
        assert berliner.screen.text.startswith("Hat Airalo geantwortet?")

        # Its typed words: a German speaker's first message suggests the situation, in German.
        typed = await api.user(4, language_code="de").say("Wie kann ich meine Airolo eSIM kündigen?")
        assert typed.text.startswith("Hallo!")
        assert "📱 Airalo-eSIM" in typed.button_labels

        # Typing the language's name switches to it.
        switched = await api.user(3, language_code="fr").say("deutsch")
    assert switched.text == "Erledigt: Ich spreche ab jetzt Deutsch."
    # The command menu, registered again by the reload.
    assert ("start", "Die Anleitung beginnen oder fortsetzen") in api.commands("de")


def test_the_validator_checks_the_fourth_language_is_complete(operator: Operator) -> None:
    add_german(operator)
    assert validate_paths([operator.flows], operator.locales, ui_texts=UI_TEXTS) == []
    german = operator.locales / "de.yaml"
    german.write_text(
        german.read_text(encoding="utf-8").replace("  got_it: Ich habe sie\n", ""), encoding="utf-8"
    )
    problems = [
        str(problem) for problem in validate_paths([operator.flows], operator.locales, ui_texts=UI_TEXTS)
    ]
    assert len(problems) == 1
    assert problems[0].endswith("text key 'waiting.got_it' is missing in de")


def test_the_console_speaks_the_fourth_language(operator: Operator) -> None:
    add_german(operator)
    env = clean_environment(BOT_FLOWS_DIR=str(operator.flows), BOT_LOCALES_DIR=str(operator.locales))
    walked = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--lang", "de"],
        cwd=ROOT, env=env, input="q\n", capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert walked.returncode == 0, walked.stderr
    assert "Hallo." in walked.stdout

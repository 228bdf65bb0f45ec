"""Every error the bot raises derives from one root, drawn in bot/errors.py's docstring."""

from __future__ import annotations

import importlib
import pkgutil

import bot
from bot.errors import BotError


def bot_exceptions() -> set[type[BaseException]]:
    """Returns every public exception class defined in a module of the bot package."""
    for module in pkgutil.walk_packages(bot.__path__, "bot."):
        if not module.name.endswith(".__main__"):  # importing it would run the command
            importlib.import_module(module.name)
    found: set[type[BaseException]] = set()
    pending: list[type[BaseException]] = [BaseException]
    while pending:
        for subclass in pending.pop().__subclasses__():
            pending.append(subclass)
            defined_in_bot = subclass.__module__.split(".")[0] == "bot"
            if defined_in_bot and not subclass.__name__.startswith("_"):
                found.add(subclass)
    return found


def test_every_error_of_the_bot_is_a_bot_error() -> None:
    found = bot_exceptions()
    assert found, "the bot defines errors"
    assert {error.__name__ for error in found if not issubclass(error, BotError)} == set()


def test_the_hierarchy_drawn_names_every_error() -> None:
    drawn = bot.errors.__doc__ or ""
    assert {error.__name__ for error in bot_exceptions() if f" {error.__name__} " not in drawn} == set()

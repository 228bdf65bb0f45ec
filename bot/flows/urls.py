"""Which web addresses a flow may send: https, and tg:// for Telegram's own screens, nothing else.

A button's address and every ``<a href>`` in a text reach people's phones as written, so a scheme such as
``javascript:``, ``data:``, ``file:`` or plain ``http:`` is refused when the flow is loaded, at its line.
Telegram opens ``tg://`` links itself, in URL buttons and in text links alike, so both allow it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from html.parser import HTMLParser
from urllib.parse import urlsplit

from bot.flows import model as m
from bot.flows.errors import Problem
from bot.flows.texts import LocaleFile
from bot.flows.yamlsource import Located

__all__ = ["ALLOWED_SCHEMES", "href_addresses", "url_problems", "why_not_allowed"]

ALLOWED_SCHEMES = ("https", "tg")
_ADVICE = "use https:// (or tg:// for Telegram's own links)"


def why_not_allowed(address: str) -> str | None:
    """Returns why ``address`` may not be sent to people, or None when it may."""
    if any(character.isspace() or not character.isprintable() for character in address):
        return "it contains a space or an invisible character"
    try:
        parts = urlsplit(address)
    except ValueError:
        return "it is not a web address"
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        return f"scheme '{parts.scheme}:' is not allowed" if parts.scheme else "it has no scheme"
    if not address.lower().startswith(f"{parts.scheme.lower()}://") or not parts.netloc:
        return f"'{parts.scheme}:' must be followed by // and a host"
    return None


class _Links(HTMLParser):
    """Collects the href of every <a>, with character references already decoded as Telegram decodes them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.addresses: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.addresses += [value or "" for name, value in attrs if name == "href"]


def href_addresses(text: str) -> list[str]:
    """Returns the address of every link in a Telegram HTML text."""
    parser = _Links()
    parser.feed(text)
    parser.close()
    return parser.addresses


def _button_urls(flow: m.Flow) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    for name, state in flow.states.items():
        for row_index, row in enumerate(state.buttons):
            for column, button in enumerate(row):
                if isinstance(button, m.UrlButton):
                    yield button.url, ("states", name, "buttons", row_index, column, "url")
    for name, provider in flow.providers.items():
        for group in ("links", "support"):
            for index, link in enumerate(getattr(provider, group)):
                yield link.url, ("providers", name, group, index, "url")


def url_problems(located: Located, flow: m.Flow, locales: Sequence[LocaleFile]) -> list[Problem]:
    """Returns a problem for every button address and text link whose scheme people must not be sent."""
    problems = []
    for address, location in _button_urls(flow):
        reason = why_not_allowed(address)
        if reason:
            message = f"address {address!r}: {reason}; {_ADVICE}"
            problems.append(located.problem(location, message))
    for locale in locales:
        for key, text in locale.texts.items():
            for address in href_addresses(text):
                reason = why_not_allowed(address)
                if reason:
                    message = f"text '{key}': link {address!r}: {reason}; {_ADVICE}"
                    problems.append(locale.located.problem(tuple(key.split(".")), message))
    return problems

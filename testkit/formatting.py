"""Telegram's HTML formatting, as the Bot API applies it: plain text, entities, and the errors it refuses with.

The bot sends every text as HTML, so HTML is the one parse mode the fake understands; any other is refused
the way Telegram refuses a parse mode it does not know.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["FormattingError", "parse_formatted_text", "utf16_length"]

Entity = dict[str, Any]

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^>]*)?)\s*/?>")
_CHARACTER_REFERENCE = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot|apos|nbsp);")
_ATTRIBUTE = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"']+))""")
_NAMED_CHARACTERS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'", "nbsp": "\u00a0"}
# Every tag Telegram accepts, and the entity it becomes.
_ENTITY_OF_TAG = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class FormattingError(ValueError):
    """Raised with the text Telegram puts after "Bad Request: can't parse entities: "."""


def utf16_length(text: str) -> int:
    """Returns the length of ``text`` in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def parse_formatted_text(text: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    """Returns the plain text and entities Telegram derives from ``text`` in ``parse_mode`` (None: as is)."""
    if not parse_mode:
        return text, []
    if parse_mode.lower() != "html":
        raise FormattingError(f"unsupported parse_mode {parse_mode!r} (the fake knows HTML only)")
    return _parse_html(text)


class _Builder:
    """Accumulates plain text and the entities opened and closed over it."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offset = 0
        self.entities: list[Entity] = []

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.offset += utf16_length(text)

    def close(self, kind: str, start: int, extra: Entity) -> None:
        if self.offset > start:
            self.entities.append({"type": kind, "offset": start, "length": self.offset - start, **extra})

    def result(self) -> tuple[str, list[Entity]]:
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return "".join(self.parts), self.entities


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def _parse_html(text: str) -> tuple[str, list[Entity]]:
    builder = _Builder()
    open_tags: list[tuple[str, int, Entity]] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "<":
            index = _tag(text, index, builder, open_tags)
        elif char == "&":
            match = _CHARACTER_REFERENCE.match(text, index)
            if match is None:
                builder.add("&")
                index += 1
                continue
            name = match.group(1)
            if name.startswith("#x"):
                builder.add(chr(int(name[2:], 16)))
            elif name.startswith("#"):
                builder.add(chr(int(name[1:])))
            else:
                builder.add(_NAMED_CHARACTERS[name])
            index = match.end()
        else:
            # Telegram accepts a bare ">" but never a bare "<".
            end = index + 1
            while end < len(text) and text[end] not in "<&":
                end += 1
            builder.add(text[index:end])
            index = end
    if open_tags:
        raise FormattingError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1][0]}"')
    return builder.result()


def _tag(text: str, index: int, builder: _Builder, open_tags: list[tuple[str, int, Entity]]) -> int:
    """Opens or closes the tag at ``index``; returns the index after it."""
    match = _TAG.match(text, index)
    if match is None:
        raise FormattingError(f"Unsupported start tag at byte offset {_byte_offset(text, index)}")
    closing, tag, attributes = match.group(1) == "/", match.group(2).lower(), match.group(3)
    if tag not in _ENTITY_OF_TAG:
        raise FormattingError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, index)}')
    if closing:
        if not open_tags or open_tags[-1][0] != tag:
            expected = open_tags[-1][0] if open_tags else tag
            raise FormattingError(
                f'Unmatched end tag at byte offset {_byte_offset(text, index)}, expected "</{expected}>", '
                f'found "</{tag}>"'
            )
        opened, start, details = open_tags.pop()
        builder.close(_ENTITY_OF_TAG[opened], start, details)
        return match.end()
    values = {
        found.group(1).lower(): found.group(2) or found.group(3) or found.group(4) or ""
        for found in _ATTRIBUTE.finditer(attributes)
    }
    extra: Entity = {}
    if tag == "a":
        extra["url"] = values.get("href", "")
    if tag == "pre" and "language" in values:
        extra["language"] = values["language"]
    open_tags.append((tag, builder.offset, extra))
    return match.end()

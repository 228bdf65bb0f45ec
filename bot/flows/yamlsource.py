"""YAML parsing that remembers where every value came from, and refuses duplicate keys."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.flows.errors import Problem

__all__ = ["Located", "Position", "parse_yaml"]

Path_ = tuple[str | int, ...]

# libyaml's parser keeps line and column marks too, at a tenth of the pure-Python parser's cost.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Position:
    """A 1-based line and column."""

    line: int
    column: int


@dataclass(slots=True)
class Located:
    """A parsed YAML document: plain Python data plus the position of every key and value in it."""

    path: Path
    data: Any
    values: dict[Path_, Position] = field(default_factory=dict)
    keys: dict[Path_, Position] = field(default_factory=dict)

    def where(self, location: Path_, *, key: bool = False) -> Position:
        """Returns the position of the value (or key) at ``location``, or of its nearest parent."""
        table = self.keys if key else self.values
        probe = tuple(location)
        while probe:
            if probe in table:
                return table[probe]
            if not key and probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), Position(1, 1))

    def problem(self, location: Path_, message: str, *, key: bool = False) -> Problem:
        """Returns a problem located at ``location`` in this file."""
        position = self.where(location, key=key)
        return Problem(self.path, position.line, position.column, message)


def _position(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, located: Located, problems: list[Problem]) -> None:
        self.located = located
        self.problems = problems
        self.constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, location: Path_) -> Any:
        self.located.values[location] = _position(node)
        if isinstance(node, yaml.MappingNode):
            self.constructor.flatten_mapping(node)
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | bool) or key is None:
                    self._report(key_node, "a key must be a plain word")
                    continue
                key = str(key) if not isinstance(key, str) else key
                if key in result:
                    first = self.located.keys[(*location, key)]
                    self._report(key_node, f"duplicate id '{key}' (first defined at line {first.line})")
                    continue
                self.located.keys[(*location, key)] = _position(key_node)
                result[key] = self.build(value_node, (*location, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*location, index)) for index, item in enumerate(node.value)]
        return self.constructor.construct_object(node, deep=True)

    def _report(self, node: yaml.Node, message: str) -> None:
        position = _position(node)
        self.problems.append(Problem(self.located.path, position.line, position.column, message))


# Where the parser was when it gave up is often lines after the mistake: an unclosed quote or bracket is
# found only at the end of the file or of the list. For these the mistake is where the construct starts.
_UNCLOSED = {
    "while scanning a quoted scalar": "this quoted text is never closed",
    "while parsing a flow sequence": "this '[' is never closed",
    "while parsing a flow mapping": "this '{' is never closed",
}


def _syntax_problem(path: Path, source: str, exc: yaml.MarkedYAMLError) -> Problem:
    """Returns a syntax error as a problem where the mistake is, not where the parser noticed it."""
    problem, context = exc.problem_mark, exc.context_mark
    reason = exc.problem or exc.context or "invalid YAML"
    seen = f" at line {problem.line + 1}:{problem.column + 1}" if problem is not None else ""
    unclosed = _UNCLOSED.get(exc.context or "")
    if unclosed and context is not None:
        message = f"YAML syntax error: {unclosed} ({reason}{seen})"
        return Problem(path, context.line + 1, context.column + 1, message)
    quote = _runaway_quote(source, context, problem)
    if quote is not None:
        message = f"YAML syntax error: this quoted text runs on to line {quote.end_mark.line + 1}: is its closing quote missing? ({reason}{seen})"
        return Problem(path, quote.start_mark.line + 1, quote.start_mark.column + 1, message)
    mark = problem or context
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Problem(path, line, column, f"YAML syntax error: {reason}")


def _runaway_quote(source: str, context: Any, problem: Any) -> yaml.ScalarToken | None:
    """Returns the last quoted text spanning lines before the error (after the context's start), if any.

    A forgotten closing quote swallows the next lines until some later quote closes it, and the parser
    fails only there. Flow and locale files write several lines as ``|-`` blocks, so a quoted text running
    over lines right before an error is most likely that mistake.
    """
    if problem is None:
        return None
    found: yaml.ScalarToken | None = None
    try:
        for token in yaml.scan(source, Loader=_LOADER):
            if token.start_mark.line > problem.line:
                break
            spans = token.start_mark.line != token.end_mark.line
            if isinstance(token, yaml.ScalarToken) and token.style in ('"', "'") and spans:
                found = token
    except yaml.MarkedYAMLError:
        pass
    if found is None or (context is not None and found.start_mark.line < context.line):
        return None
    return found


MAX_ALIASES_REPORTED = 10
# Every alias is a '*' after a space, a line start or a flow indicator; a file without one (most) skips the
# event pass. A '*' inside a quoted text (e.g. *#06#) only costs that pass.
_MAYBE_ALIAS = re.compile(r"(?:^|[\s\[{,:])\*[^\s,\]}]", re.MULTILINE)


def _aliases(path: Path, source: str) -> list[Problem]:
    """Returns a problem for each alias (``*name``) in the file, reading its events only.

    Aliases are refused outright: nested ones make a few lines expand into billions of values ("billion
    laughs"), and flows and texts never need them. The events are read before the document is built, so a
    hostile file costs one linear pass.
    """
    problems: list[Problem] = []
    if _MAYBE_ALIAS.search(source) is None:
        return problems
    for event in yaml.parse(source, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark
            line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
            message = f"YAML alias '*{event.anchor}' is not allowed: write the value out"
            problems.append(Problem(path, line, column, message))
            if len(problems) == MAX_ALIASES_REPORTED:
                break
    return problems


def parse_yaml(path: Path, text: str | None = None) -> tuple[Located | None, list[Problem]]:
    """Parses one YAML file; returns the located data (None on a syntax error) and the problems found."""
    problems: list[Problem] = []
    try:
        source = path.read_text(encoding="utf-8") if text is None else text
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(path, 1, 1, f"cannot read file: {exc}")]
    try:
        aliases = _aliases(path, source)
        node = None if aliases else yaml.compose(source, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(path, source, exc)]
    if aliases:
        return None, aliases
    located = Located(path, None)
    if node is None:
        located.data = {}
        return located, problems
    try:
        located.data = _Builder(located, problems).build(node, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, [Problem(path, line, column, f"YAML error: {exc.problem}")]
    return located, problems


def walk(data: Any, location: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Yields every (location, value) in ``data``, depth first."""
    yield location, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from walk(value, (*location, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from walk(value, (*location, index))

"""The facts file is parsed once into claims; a malformed one is reported at its line, like a flow."""

from __future__ import annotations

from pathlib import Path

from bot.flows.facts import Confidence, parse_facts

FACTS = """# Facts (version 4)

1. **Retired**: [old.rule] changed its meaning.

- [a.sure] A plain fact, on two
  lines. Conf: sure.
- [a.derived] Our conclusion from [a.sure]. Conf: likely (derived).
- [a.word] A claim that forgot its confidence word.
- [a.sure] The same ID again. Conf: unsure.

| id | claim | conf |
|---|---|---|
| [b.row] | A table row. | NOT FOUND |

See [a.missing] and the family [a.*].
"""


def test_claims_carry_their_confidence_and_malformed_ones_are_reported_at_their_line() -> None:
    facts, problems = parse_facts(Path("facts.md"), FACTS)
    assert facts.version == 4
    assert facts.retired == {"old.rule"}
    assert facts.claims["a.sure"].confidence is Confidence.SURE
    assert facts.claims["a.sure"].line == 5
    assert facts.claims["a.derived"].derived
    assert facts.claims["a.derived"].confidence is Confidence.LIKELY
    assert facts.claims["b.row"].confidence is Confidence.NOT_FOUND
    assert not facts.claims["b.row"].confidence.stated
    assert [str(problem) for problem in problems] == [
        "facts.md:8:1: claim 'a.word' has no confidence word: end it with 'Conf: sure' (or likely, unsure, conflicting, NOT FOUND)",
        "facts.md:9:1: duplicate claim 'a.sure' (first at line 5)",
        "facts.md:15:5: '[a.missing]' points to no claim",
    ]

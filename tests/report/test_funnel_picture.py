"""`esim-bot stats --draw` on the shipped flow: a picture an operator reads on a laptop, in their language."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest

from bot.cli import main
from bot.flows import FlowBundle

SVG = "{http://www.w3.org/2000/svg}"
# What a laptop screen shows of a page, less the browser's bars, in CSS pixels.
LAPTOP = (1280, 720)
EMOJI = re.compile("[\u2190-\u21ff\u2600-\u27bf\u2b00-\u2bff\ufe0f\U0001f000-\U0001faff]")


def drawn(path: Path) -> ElementTree.Element:
    return ElementTree.fromstring(path.read_bytes())


def size_in_pixels(svg: ElementTree.Element) -> tuple[float, float]:
    """Returns the picture's size as a browser shows it: points at 96/72 pixels each."""
    width, height = (float(svg.attrib[side].removesuffix("pt")) for side in ("width", "height"))
    return width * 96 / 72, height * 96 / 72


def screens(svg: ElementTree.Element) -> dict[str, list[str]]:
    """Returns each drawn screen (by state id) with the lines written in its box."""
    found = {}
    for node in svg.iter(f"{SVG}g"):
        if node.get("class") == "node":
            title = node.find(f"{SVG}title")
            assert title is not None
            assert title.text
            found[title.text] = [text.text or "" for text in node.iter(f"{SVG}text")]
    return found


def steps(svg: ElementTree.Element) -> dict[tuple[str, str], ElementTree.Element]:
    """Returns each drawn step by its (from, to) state ids."""
    found = {}
    for edge in svg.iter(f"{SVG}g"):
        if edge.get("class") == "edge":
            title = edge.find(f"{SVG}title")
            assert title is not None
            assert title.text
            source, target = title.text.split("->")
            found[(source, target)] = edge
    return found


def report_json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["stats", "--json"]) == 0
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def font_ranges(family: str) -> list[tuple[int, int]]:
    """Returns the characters fontconfig says the installed font ``family`` has."""
    matched = subprocess.run(
        ["fc-match", "--format", "%{family[0]}\n%{charset}", family],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found, _, charset = matched.partition("\n")
    assert found == family, f"no font named {family} is installed (fontconfig offers {found})"
    ranges = []
    for part in charset.split():
        low, _, high = part.partition("-")
        ranges.append((int(low, 16), int(high or low, 16)))
    return ranges


def caption(svg: ElementTree.Element) -> list[str]:
    """Returns the lines written under the picture's title, outside every screen and step."""
    graph = next(g for g in svg.iter(f"{SVG}g") if g.get("class") == "graph")
    return [text.text or "" for text in graph.findall(f"{SVG}text")]


# What the picture says in each language: its first screen's counts, and how to read the colours.
CAPTIONS = {
    "en": ("{reached} in, {stopped} stopped", "Colour: share of those who reached a screen"),
    "fr": ("{reached} arrivées, {stopped} arrêtées", "Couleur : part des conversations arrivées"),
    "zh-Hans": ("到达 {reached}，停下 {stopped}", "颜色：到达某页面的人中停在那里的比例"),  # noqa: RUF001
}


@pytest.mark.parametrize("language", ["en", "fr", "zh-Hans"])
def test_every_label_is_in_the_operators_language_in_a_font_that_has_each_character(
    database: Path,
    bundle: FlowBundle,
    tmp_path: Path,
    language: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = report_json(capsys)
    picture = tmp_path / "funnel.svg"
    assert main(["stats", "--lang", language, "--draw", str(picture)]) == 0

    svg = drawn(picture)
    texts = [text for text in svg.iter(f"{SVG}text")]
    families = {text.get("font-family") for text in texts}
    assert len(families) == 1, families
    (family,) = families
    assert family is not None
    ranges = font_ranges(family)
    undrawable = {
        character
        for text in texts
        for character in text.text or ""
        if character != " " and not any(low <= ord(character) <= high for low, high in ranges)
    }
    assert undrawable == set(), f"{family} would draw these as boxes"
    assert not any(EMOJI.search(text.text or "") for text in texts)
    # The title the person reads on the first screen (shortened to fit its box), not its state id.
    title = re.sub(r"<[^>]+>|\s", "", bundle.texts.get(language, "start.text").splitlines()[0])
    shown = "".join(screens(svg)["start"][:-1]).replace(" ", "")
    assert len(shown) >= min(len(title), 12)
    assert title.startswith(shown.removesuffix("…"))
    counts, legend = CAPTIONS[language]
    states = data["states"]
    assert isinstance(states, list)
    first = next(state for state in states if state["state"] == "start")
    assert screens(svg)["start"][-1] == counts.format(reached=first["reached"], stopped=first["stopped_here"])
    written = " ".join(caption(svg))
    assert legend in written, written
    assert f"{data['started']}" in written


def test_the_picture_fits_a_laptop_screen_with_the_main_way_top_down(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = report_json(capsys)
    picture = tmp_path / "funnel.svg"
    assert main(["stats", "--draw", str(picture)]) == 0

    svg = drawn(picture)
    width, height = size_in_pixels(svg)
    assert width <= LAPTOP[0]
    assert height <= LAPTOP[1]
    # Top-down: the first screen is above every other one.
    boxes = {
        node.find(f"{SVG}title").text: float(node.find(f"{SVG}text").get("y", "0"))  # type: ignore[union-attr]
        for node in svg.iter(f"{SVG}g")
        if node.get("class") == "node"
    }
    assert boxes["start"] == min(boxes.values())
    states = data["states"]
    assert isinstance(states, list)
    started = data["started"]
    assert isinstance(started, int)
    for row in states:
        lines = screens(svg).get(row["state"])
        if row["reached"] >= max(1, -(-2 * started // 100)):
            assert lines is not None
            assert lines[-1] == f"{row['reached']} in, {row['stopped_here']} stopped"
        else:
            assert lines is None, f"{row['state']}: reached by {row['reached']}, too few to be drawn"


def test_lines_are_as_thick_as_the_people_who_took_them_back_is_faint_start_over_left_out(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = report_json(capsys)
    picture = tmp_path / "funnel.svg"
    assert main(["stats", "--draw", str(picture)]) == 0

    drawn_steps = steps(drawn(picture))
    taken = data["steps"]
    assert isinstance(taken, list)
    people = {(step["from"], step["to"]): step["chats"] for step in taken}
    assert not any(target == "start" for _, target in drawn_steps), "start over is left out"
    back = drawn_steps[("identify", "travel_how")], drawn_steps.get(("travel_how", "identify"))
    assert back[1] is not None, "the crowd went back from travel_how"
    assert back[1].find(f"{SVG}path").get("stroke") == "#b0b0b0"  # type: ignore[union-attr]
    forward = {
        pair: float(edge.find(f"{SVG}path").get("stroke-width", "1"))  # type: ignore[union-attr]
        for pair, edge in drawn_steps.items()
        if edge.find(f"{SVG}path").get("stroke") != "#b0b0b0"  # type: ignore[union-attr]
    }
    labels = {
        pair: "".join(text.text or "" for text in edge.iter(f"{SVG}text")).strip()
        for pair, edge in drawn_steps.items()
        if pair in forward
    }
    assert labels == {pair: str(people[pair]) for pair in forward}
    by_people = sorted(forward, key=lambda pair: people[pair])
    assert forward[by_people[-1]] > forward[by_people[0]], "the busiest step is drawn thicker"
    assert all(forward[a] <= forward[b] for a, b in itertools.pairwise(by_people))


def test_a_png_fits_a_laptop_screen_too(database: Path, tmp_path: Path) -> None:
    picture = tmp_path / "funnel.png"
    assert main(["stats", "--draw", str(picture)]) == 0
    header = picture.read_bytes()[:24]
    assert header.startswith(b"\x89PNG")
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert width <= LAPTOP[0]
    assert height <= LAPTOP[1]


def test_a_language_without_texts_is_refused_in_one_line(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stats", "--lang", "de", "--draw", str(tmp_path / "funnel.svg")]) == 2
    assert capsys.readouterr().err == "--lang: no texts in 'de' (locales has en, fr, zh-Hans)\n"


def test_stats_counts_the_questions_to_a_person_and_lists_those_open_with_their_age(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = report_json(capsys)
    assert main(["stats"]) == 0
    table = capsys.readouterr().out

    tickets = data["tickets"]
    assert isinstance(tickets, dict)
    assert (tickets["opened"], tickets["answered"], tickets["closed"]) == (3, 1, 1), (
        "the old one is not counted"
    )
    assert [(t["language"], t["answered"], round(t["age_hours"])) for t in tickets["open"]] == [
        ("fr", True, 76),
        ("fr", False, 76),
    ]
    assert "Questions to a person: 3 asked, 1 answered, 1 closed; 2 open now" in table
    assert re.search(r"#\d+\s+fr\s+open for\s+3 d 4 h\s+answered\n", table)
    assert re.search(r"#\d+\s+fr\s+open for\s+3 d 4 h\s+not answered yet", table)

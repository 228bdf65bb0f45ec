"""The files a flow version is loaded from, as one value: what the store keeps so that every instance serves it.

An instance built from an older image has older files; to serve the version another instance published it
needs that version's files, not its own. So a release carries the text of every file the loader may read
(the flows folder, its sub-folders such as ``facts/`` but not ``tests/``, and the locales folder), and an
instance loads a release by writing them to a temporary folder and loading that, validated like any files.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import MappingProxyType

__all__ = ["FLOWS", "LOCALES", "FlowFiles", "read_files", "unpacked"]

FLOWS = "flows"
LOCALES = "locales"
_NOT_LOADED = frozenset({"tests"})
"""Sub-folders of the flows folder the bot never loads (the flow tests)."""


@dataclass(frozen=True, slots=True)
class FlowFiles:
    """The text of every file of a flow and its texts, by path (``flows/...`` or ``locales/...``)."""

    files: Mapping[str, str]

    @property
    def digest(self) -> str:
        """Returns a hash of every path and text: equal files, equal digest."""
        hashed = hashlib.sha256()
        for path in sorted(self.files):
            for part in (path, self.files[path]):
                data = part.encode()
                hashed.update(len(data).to_bytes(8, "big"))
                hashed.update(data)
        return hashed.hexdigest()


def _texts(folder: Path, prefix: str, skipped: frozenset[str]) -> Iterator[tuple[str, str]]:
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or relative.parts[0] in skipped:
            continue
        if path.is_file():
            yield str(PurePosixPath(prefix, *relative.parts)), path.read_text(encoding="utf-8")


def read_files(flows_dir: Path, locales_dir: Path) -> FlowFiles:
    """Reads the files of a flows folder and a locales folder; raises OSError or UnicodeDecodeError."""
    found = dict(_texts(flows_dir, FLOWS, _NOT_LOADED))
    found.update(_texts(locales_dir, LOCALES, frozenset()))
    return FlowFiles(MappingProxyType(found))


@contextlib.contextmanager
def unpacked(files: FlowFiles) -> Iterator[tuple[Path, Path]]:
    """Writes the files to a temporary folder for the block; yields its flows and locales folders."""
    with tempfile.TemporaryDirectory(prefix="esim-bot-release-") as root:
        base = Path(root)
        for name, text in files.files.items():
            relative = PurePosixPath(name)
            if relative.is_absolute() or ".." in relative.parts or relative.parts[0] not in (FLOWS, LOCALES):
                raise ValueError(f"a release names a file outside its folders: {name!r}")
            path = base.joinpath(*relative.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        (base / FLOWS).mkdir(exist_ok=True)
        (base / LOCALES).mkdir(exist_ok=True)
        yield base / FLOWS, base / LOCALES

"""What a command prints on stdout: for people, a sentence, ``name  value`` lines or a table; with
``--json``, one JSON document (an object, or an array for a list). Errors go to stderr, one line
(or one JSON object with ``--json``)."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

__all__ = ["Output", "as_json", "as_object"]

Data = Mapping[str, object]


def as_json(value: object) -> object:
    """A model value (a frozen dataclass) as JSON data, with its field names as keys."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return as_object(value)
    if isinstance(value, (list, tuple, frozenset, set)):
        items = sorted(value) if isinstance(value, (frozenset, set)) else value
        return [as_json(item) for item in items]
    if isinstance(value, Mapping):
        return {str(key): as_json(item) for key, item in value.items()}
    return value


def as_object(value: object) -> dict[str, object]:
    """A model value as a JSON object (its fields, secrets left out)."""
    return {field.name: as_json(getattr(value, field.name)) for field in _fields(value)}


def _fields(value: object) -> list[dataclasses.Field[object]]:
    """Every field but the secrets, which a model value keeps out of its repr."""
    return [field for field in dataclasses.fields(value) if field.repr]  # type: ignore[arg-type]


class Output:
    """Prints one command's answer, for people or (``json=True``) for programs."""

    def __init__(self, *, json: bool, stream: TextIO | None = None) -> None:
        self.json = json
        self.stream = stream or sys.stdout

    def done(self, sentence: str, data: Data) -> None:
        """A change: one sentence for people; ``data`` as a JSON object."""
        self._print(json.dumps(as_json(data)) if self.json else sentence)

    def record(self, data: Data, *, shown: Data | None = None) -> None:
        """One thing: aligned ``name  value`` lines (a list one item a line), or an object.
        ``shown`` gives values that people see in place of the JSON's."""
        if self.json:
            self._print(json.dumps(as_json(data)))
            return
        shown = {**data, **(shown or {})}
        width = max((len(_label(key)) for key in shown), default=0)
        for key, value in shown.items():
            lines = _lines(value)
            for index, line in enumerate(lines or ["-"]):
                label = _label(key) if index == 0 else ""
                self._print(f"{label:<{width}}  {line}".rstrip())

    def table(self, rows: Sequence[Data], columns: Sequence[str], *, empty: str) -> None:
        """Many things: a table with a header (``empty`` when there are none), or an array."""
        if self.json:
            self._print(json.dumps([as_json(row) for row in rows]))
            return
        if not rows:
            self._print(empty)
            return
        cells = [[_label(column).upper() for column in columns]]
        cells += [[_cell_of_list(row.get(column)) for column in columns] for row in rows]
        widths = [max(len(line[index]) for line in cells) for index in range(len(columns))]
        for line in cells:
            padded = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
            self._print("  ".join(padded).rstrip())

    def text(self, line: str) -> None:
        """A line for people only (nothing with ``--json``)."""
        if not self.json:
            self._print(line)

    def _print(self, line: str) -> None:
        print(line, file=self.stream)


def _label(key: str) -> str:
    return key  # the JSON's names: what people read is what scripts parse


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _printable(str(value))


def _cells(values: Sequence[object]) -> list[str]:
    return [_cell(value) for value in values]


def _lines(value: object) -> list[str]:
    if isinstance(value, Mapping):
        return [f"{_cell(key)}: {_cell(item)}" for key, item in value.items()]
    if isinstance(value, (list, tuple)):
        return _cells(value)
    return [_cell(value)]


def _cell_of_list(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_cells(value)) or "-"
    return _cell(value)


def _printable(text: str) -> str:
    """Stored names are checked, but a record changed behind the realm's back could hold
    control characters: escape them so that one value stays on one line."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)

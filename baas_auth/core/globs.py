"""In-segment wildcard matching (``*.json``, ``item-?``) that never backtracks (behaviour §5.1).

A glob inside one path segment: ``*`` matches any run of characters, ``?`` exactly one. Pure.
"""

from __future__ import annotations

import re

__all__ = ["Glob"]


class _Piece:
    """A run of a glob between two ``*``: literal characters, and ``?`` for any one character."""

    __slots__ = ("_regex", "size", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.size = len(text)
        # Escaped literals and "." only: without a quantifier a search cannot backtrack.
        regex = "".join("." if char == "?" else re.escape(char) for char in text)
        self._regex = re.compile(regex, re.DOTALL) if "?" in text else None

    def at(self, segment: str, start: int) -> bool:
        """Whether the piece matches ``segment`` at ``start``."""
        if self._regex is None:
            return segment.startswith(self.text, start)
        return self._regex.match(segment, start) is not None

    def find(self, segment: str, start: int, end: int) -> int:
        """The leftmost index from ``start`` where the piece fits before ``end``, or -1."""
        if self._regex is None:
            return segment.find(self.text, start, end)
        found = self._regex.search(segment, start, end)
        return -1 if found is None else found.start()


class Glob:
    """Whether a whole segment matches an in-segment glob (``*`` any run, ``?`` one character).

    A regex such as ``.*-.*-.*`` backtracks: polynomial time in the segment, seconds for a few
    thousand dashes. Here the glob is split at ``*`` into pieces; the first must match at the start,
    the last at the end, and each middle piece is placed at its leftmost occurrence after the one
    before. Leftmost is never worse than any later placement (it leaves the most room for the
    rest), so no choice is ever revisited. Each piece's search begins where the previous piece
    ended and spends at most ``len(piece)`` steps per index, so a test costs O(n·m) at worst and
    usually O(n + m), for a segment of length n and a glob of length m: linear in the segment.
    """

    __slots__ = ("_first", "_last", "_middle", "_size")

    def __init__(self, glob: str) -> None:
        pieces = [_Piece(text) for text in glob.split("*")]
        self._first = pieces[0]
        self._last = pieces[-1] if len(pieces) > 1 else None  # None: no "*", a fixed length
        self._middle = tuple(piece for piece in pieces[1:-1] if piece.size)
        self._size = sum(piece.size for piece in pieces)  # shortest segment that can match

    def __call__(self, segment: str) -> bool:
        if self._last is None:
            return len(segment) == self._size and self._first.at(segment, 0)
        # The length check keeps the first and last pieces from overlapping ("a*a" vs "a").
        end = len(segment) - self._last.size
        if len(segment) < self._size or not self._first.at(segment, 0):
            return False
        return self._last.at(segment, end) and self._fits_middle(segment, self._first.size, end)

    def _fits_middle(self, segment: str, start: int, end: int) -> bool:
        for piece in self._middle:
            found = piece.find(segment, start, end)
            if found < 0:
                return False
            start = found + piece.size
        return True

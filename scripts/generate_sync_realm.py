"""Write ``baas_auth/realm/sync.py`` (``Realm``) from ``baas_auth/realm/aio.py`` (``AsyncRealm``).

``Realm`` is ``AsyncRealm`` with ``async`` and ``await`` taken out and the async names mapped to
their blocking twins (``NAMES``), as httpcore generates its ``_sync/`` package from ``_async/``.
The few deliberate differences are listed in ``DIFFERENCES``, each a piece of ``aio.py`` and what
``sync.py`` says instead; each must match ``aio.py`` exactly once, or nothing is written; the
module docstring is ``SYNC_DOCSTRING``. The layout of ``aio.py`` is kept (comments too); a
``(await x)`` whose parentheses only served the ``await`` loses them. A development tool: it is
not part of the package.

Usage:
    python scripts/generate_sync_realm.py           # rewrite sync.py from aio.py
    python scripts/generate_sync_realm.py --check   # exit 1 when sync.py is not what aio.py gives
"""

from __future__ import annotations

import argparse
import io
import itertools
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path

REALM = Path(__file__).resolve().parents[1] / "baas_auth" / "realm"
AIO, SYNC = REALM / "aio.py", REALM / "sync.py"

NAMES = {
    "AsyncRealm": "Realm",
    "AsyncStore": "Store",
    "AsyncDriver": "Driver",
    "async_drivers": "drivers",
    "open_async_store": "open_store",
}
"""Each name of ``aio.py`` (in code, and a string that is only the name, as in ``__all__``)
and its blocking twin. Docstrings are left alone: where they differ, ``DIFFERENCES`` says so."""


class GenerationError(Exception):
    """``aio.py`` no longer matches what this script expects; nothing was written."""


@dataclass(frozen=True, slots=True)
class Difference:
    """Where ``sync.py`` deliberately differs: ``aio`` (exactly once in ``aio.py``) becomes
    ``sync`` (written as is, before ``async``/``await`` are taken out and names mapped)."""

    why: str
    aio: str
    sync: str


SYNC_DOCSTRING = """``Realm``: the realm's operations run by the blocking driver over a ``Store``.

Generated from ``aio.py`` (``AsyncRealm``) by ``scripts/generate_sync_realm.py``: do not edit
this file; edit ``aio.py`` and run the script. Every method hands one flow to the driver: the
sequencing lives in the flows, once, and ``AsyncRealm`` runs the very same flows on a loop.
"""
"""The module docstring of ``sync.py``, in place of ``aio.py``'s."""

DIFFERENCES = (
    Difference(
        "the stores each realm takes",
        aio="        store: where records live, an ``AsyncStore`` (``AsyncRedisStore``, "
        "your own).\n",
        sync="        store: where records live (``MemoryStore``, ``SQLiteStore``, ``RedisStore``, "
        "your own).\n",
    ),
    Difference(
        "Realm starts at once (unless the store is down); AsyncRealm at its first operation",
        aio="        self._driver = AsyncDriver(store)\n",
        sync="        self._driver = Driver(store)\n"
        "        self._driver.start(flows.start(self.state))\n",
    ),
    Difference(
        "the URLs each opener takes",
        aio='''        """An AsyncRealm on ``redis://host:port/db``, ``rediss://…``, ``unix:///path/redis.sock``,
        ``redis+sentinel://h1:26379,h2:26379/SERVICE/db`` or ``redis+cluster://h1:7000,…``
        (memory and SQLite stores never wait on a network: open them with ``Realm.open``)."""
''',
        sync='''        """A Realm on ``memory:``, ``sqlite:///relative.db``, ``sqlite:////abs.db``,
        ``redis://host:port/db``, ``rediss://…``, ``unix:///path/redis.sock``,
        ``redis+sentinel://h1:26379,h2:26379/SERVICE/db`` or ``redis+cluster://h1:7000,…``.

        A SQLite file that does not exist is made only with ``create=True`` (which also sets
        up the realm in it at once); without it, a ``ConfigError`` that says so: setting up a
        new store is an explicit act, never the side effect of a mistyped path."""
''',
    ),
)

_ASYNC_STATEMENTS = {"def", "with", "for"}
_TRAILERS = {".", "[", "("}

Edit = tuple[int, int, str]
"""Replace the characters ``[start, end)`` of the source by this text."""


def generate(aio_source: str) -> str:
    """The source of ``sync.py`` for this source of ``aio.py``."""
    source = _apply_differences(aio_source)
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    offsets = _line_offsets(source)
    edits = [*_unasync(tokens, offsets), *_drop_await_parentheses(tokens, offsets)]
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    _check_blocking(source)
    return source


def _apply_differences(source: str) -> str:
    """``aio.py`` with each deliberate difference (and the module docstring) of ``sync.py``."""
    first = next(tokenize.generate_tokens(io.StringIO(source).readline))
    if first.type != tokenize.STRING or first.start != (1, 0):
        raise GenerationError("aio.py does not start with its docstring")
    offsets = _line_offsets(source)
    source = f'"""{SYNC_DOCSTRING}"""' + source[_at(offsets, first.end) :]
    for difference in DIFFERENCES:
        found = source.count(difference.aio)
        if found != 1:
            raise GenerationError(
                f"aio.py holds {found} copies of the text of a difference ({difference.why}),"
                " not 1: update DIFFERENCES in scripts/generate_sync_realm.py"
            )
        source = source.replace(difference.aio, difference.sync)
    return source


def _line_offsets(source: str) -> list[int]:
    """The offset in ``source`` where each line starts (index 1 for line 1, as tokenize counts)."""
    offsets = [0, 0]
    for line in io.StringIO(source):  # split at "\n" only, as tokenize reads it
        offsets.append(offsets[-1] + len(line))
    return offsets


def _at(offsets: list[int], position: tuple[int, int]) -> int:
    row, column = position
    return offsets[row] + column


def _unasync(tokens: list[tokenize.TokenInfo], offsets: list[int]) -> list[Edit]:
    """``async def``/``with``/``for`` → ``def``/``with``/``for``, ``await x`` → ``x``, and the
    names of ``NAMES`` mapped."""
    edits: list[Edit] = []
    for token, following in itertools.pairwise(tokens):
        start, end = _at(offsets, token.start), _at(offsets, token.end)
        dropped = token.string == "await" or (
            token.string == "async" and following.string in _ASYNC_STATEMENTS
        )
        if token.type == tokenize.NAME and dropped:
            edits.append((start, _at(offsets, following.start), ""))
        elif token.type == tokenize.NAME and token.string in NAMES:
            edits.append((start, end, NAMES[token.string]))
        elif token.type == tokenize.STRING and token.string[1:-1] in NAMES:
            quote = token.string[0]
            edits.append((start, end, quote + NAMES[token.string[1:-1]] + quote))
    return edits


def _drop_await_parentheses(tokens: list[tokenize.TokenInfo], offsets: list[int]) -> list[Edit]:
    """``(await f(x))[0]`` → ``f(x)[0]``: the parentheses around an awaited primary (a name
    with its calls, attributes and subscripts, nothing else at their level) that a trailer
    follows. Without ``await`` they hold a primary, so dropping them changes nothing."""
    edits: list[Edit] = []
    for index, token in enumerate(tokens[:-1]):
        if token.string != "(" or tokens[index + 1].string != "await":
            continue
        close = _primary_end(tokens, index + 2)
        if close is not None and close + 1 < len(tokens) and tokens[close + 1].string in _TRAILERS:
            edits.append((_at(offsets, token.start), _at(offsets, token.end), ""))
            edits.append((_at(offsets, tokens[close].start), _at(offsets, tokens[close].end), ""))
    return edits


def _primary_end(tokens: list[tokenize.TokenInfo], index: int) -> int | None:
    """The index of the ``)`` that closes a group whose content from ``index`` on is a primary,
    or None when something else stands at the group's level."""
    depth = 0
    expect_name = True
    for position in range(index, len(tokens)):
        text, kind = tokens[position].string, tokens[position].type
        if depth == 0 and text == ")":
            return position if not expect_name else None
        if text in "([{" and kind == tokenize.OP:
            depth += 1
            expect_name = False
        elif text in ")]}" and kind == tokenize.OP:
            depth -= 1
        elif depth == 0 and kind == tokenize.NAME and expect_name:
            expect_name = False
        elif depth == 0 and text == ".":
            expect_name = True
        elif depth == 0 and kind not in {tokenize.NL, tokenize.COMMENT}:
            return None
    return None


def _check_blocking(source: str) -> None:
    """The generated realm compiles, and neither ``async`` nor ``await`` is left in its code."""
    compile(source, str(SYNC), "exec")
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME and token.string in {"async", "await"}:
            raise GenerationError(f"sync.py line {token.start[0]}: {token.line.strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only compare; write nothing")
    check = parser.parse_args(argv).check
    try:
        expected = generate(AIO.read_text(encoding="utf-8"))
    except GenerationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if SYNC.read_text(encoding="utf-8") == expected:
        return 0
    if check:
        print(f"{SYNC.name} is not what {AIO.name} gives: run {__file__}", file=sys.stderr)
        return 1
    SYNC.write_text(expected, encoding="utf-8")
    print(f"wrote {SYNC.name} from {AIO.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

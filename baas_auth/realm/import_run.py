"""One import in progress (``ImportRun``): the document's uuids already placed, the entries of its
report, and how an item's outcome and the parts it leaves out are written down.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from baas_auth.core.import_document import (
    Dropped,
)
from baas_auth.model import ImportEntry, ImportOutcome
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, get, transact

__all__ = [
    "ImportRun",
    "Outcome",
    "exists_as",
    "known_names",
    "report_dropped",
    "skipped",
]


Outcome = tuple[ImportOutcome, str | None]


@dataclass(slots=True)
class ImportRun:
    """One import under way: what it reported, and (dry run) what it would have written."""

    state: RealmState
    dry_run: bool
    entries: list[ImportEntry] = field(default_factory=list)
    pending: dict[str, bytes] = field(default_factory=dict)
    org_uuids: dict[str, str] = field(default_factory=dict)
    app_uuids: dict[str, str] = field(default_factory=dict)

    def add(
        self,
        kind: str,
        name: str,
        outcome: Outcome,
        *,
        uuid: str | None = None,
        where: str | None = None,
    ) -> None:
        entry = ImportEntry(kind, name, outcome[0], uuid or None, where, outcome[1])
        self.entries.append(entry)

    def read(self, key: str) -> Flow[bytes | None]:
        if key in self.pending:
            return self.pending[key]
        return (yield from get(key))

    def create(self, records: dict[str, bytes]) -> Flow[bool]:
        """Write ``records`` together unless one of their keys exists (nothing, in a dry run)."""
        if not self.dry_run:
            return (yield from transact(create=records))
        for key in records:
            if (yield from self.read(key)) is not None:
                return False
        self.pending.update(records)
        return True


def exists_as(found_uuid: str | None, uuid: str | None, what: str) -> Outcome:
    """An item found under its name: the same one (unchanged), or another (skipped)."""
    if uuid is None or found_uuid in (None, uuid):
        return "unchanged", None
    return "skipped", f"{what} exists with another uuid ({found_uuid})"


def skipped(reason: str) -> Outcome:
    return "skipped", reason


def known_names(
    run: ImportRun, kind: str, names: Sequence[str], key_of: Callable[[str], str], where: str
) -> Flow[tuple[list[str], list[Dropped]]]:
    """The ``names`` (of roles, groups or orgs) that exist, lower-cased as members list them;
    a name of none is dropped with the reason."""
    kept: list[str] = []
    missing: list[Dropped] = []
    for name in names:
        if (yield from run.read(key_of(name))) is None:
            missing.append(Dropped(kind, name, f"no {kind} {name!r} in {where}"))
        else:
            kept.append(name.lower())
    return kept, missing


def report_dropped(
    run: ImportRun,
    outcome: Outcome,
    dropped: Sequence[Dropped],
    missing: Sequence[Dropped],
    where: str,
) -> None:
    """The parts of an item left out. What the document itself refuses (a bad rule or name)
    is reported every time the item is imported or found unchanged, so a second import says
    what the first said; what the realm lacked (``missing``) only when the item was made."""
    if outcome[0] == "skipped":
        return
    for item in (*dropped, *missing) if outcome[0] == "created" else dropped:
        run.add(item.kind, item.name, skipped(item.reason), where=where)

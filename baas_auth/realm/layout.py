"""The one-time upgrade of stores written by earlier versions to the current record layout.

0.1 kept users and admins under their username, with their uuid and email as aliases in a
separate index; a username could then equal another user's uuid or email (behaviour §1 now
forbids it). The current layout keeps accounts under their uuid, with usernames and emails as
claims in one index. Rules that the stricter grammar refuses are dropped (they could never
match a canonical path). Layout 2 keyed those claims by the lower-cased name; layout 3 by the
folded one (``records.fold``), which differs only for names with non-ASCII characters: those
claims move, and a claim whose folded key another account already holds (a look-alike of its
name) is dropped and reported. Role and group records stored without a uuid need no upgrade:
``realm.grants`` derives theirs from the app's uuid and their name at every read (the same in
every process), so the layout stays 3. A flow, run once before a realm's first operation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from baas_auth.core import identifiers as ids
from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.rules import Rule
from baas_auth.errors import ConfigError
from baas_auth.realm.caller_warnings import warn_caller
from baas_auth.realm.store_commands import Flow, get, put, scan, transact

__all__ = ["LAYOUT", "LayoutUpgradeWarning", "upgrade_layout"]

LAYOUT_KEY = "meta:layout"
LAYOUT = b"3"
_LOWERED_CLAIMS = b"2"  # the layout whose claims are keyed by the lower-cased name


class LayoutUpgradeWarning(UserWarning):
    """Something in a 0.1 store could not be carried over as it was."""


class _Account:
    """One user or admin record as 0.1 kept it, and where it moves."""

    def __init__(self, old_key: str, raw: bytes, scope: str | None, names: list[str]) -> None:
        self.old_key, self.raw, self.scope, self.names = old_key, raw, scope, names


def upgrade_layout() -> Flow[None]:
    """Bring a store to the current layout (nothing to do for a new or current store)."""
    layout = yield from get(LAYOUT_KEY)
    if layout == LAYOUT:
        return
    if layout == _LOWERED_CLAIMS:
        yield from _fold_claims()
        yield from put(LAYOUT_KEY, LAYOUT)
        return
    users = yield from _users()
    yield from _move_accounts(users, record_keys.user_key, record_keys.user_id_key, "useralias")
    admins = yield from _admins()
    yield from _move_accounts(admins, _admin_key, _admin_id_key, "adminalias")
    yield from _drop_unparsable_rules()
    yield from put(LAYOUT_KEY, LAYOUT)


def _admin_key(org: str, app: str, admin_uuid: str) -> str:
    return record_keys.admin_key(admin_uuid)


def _admin_id_key(org: str, app: str, name: str) -> str:
    return record_keys.admin_id_key(name)


def _users() -> Flow[list[tuple[_Account, str]]]:
    found = []
    for key, raw in (yield from scan("user:")):
        user = rec.decode(rec.UserRecord, raw)
        scope = key[len("user:") :].rpartition(":")[0]
        names = [user.username, *([] if user.email is None else [user.email])]
        found.append((_Account(key, raw, scope, names), user.uuid))
    return found


def _admins() -> Flow[list[tuple[_Account, str]]]:
    found = []
    for key, raw in (yield from scan("admin:")):
        admin = rec.decode(rec.AdminRecord, raw)
        names = [admin.username, *([] if admin.email is None else [admin.email])]
        found.append((_Account(key, raw, None, names), admin.uuid))
    return found


def _move_accounts(
    accounts: list[tuple[_Account, str]],
    record_key: Callable[[str, str, str], str],
    claim_key: Callable[[str, str, str], str],
    old_index: str,
) -> Flow[None]:
    """Re-key each account by uuid and claim its names; a name two accounts share, or a
    username shaped like a uuid, is claimed by nobody (and reported)."""
    moving = [(a, u) for a, u in accounts if a.old_key != record_key(*_scope(a), u)]
    new_keys = {record_key(*_scope(a), u) for a, u in moving}
    claims = Counter((a.scope, name) for a, _ in accounts for name in _folded(a.names))
    refused = sorted(
        {name for (_, name), count in claims.items() if count > 1}
        | {name for a, _ in moving for name in _folded(a.names) if ids.looks_like_uuid(name)}
    )
    for account, account_uuid in moving:
        org, app = _scope(account)
        kept = [name for name in _folded(account.names) if name not in refused]
        aliases = {account_uuid, *_lower(account.names)}  # as 0.1 wrote them
        stale = [f"{old_index}:{_prefix(account)}{alias}" for alias in aliases]
        if account.old_key not in new_keys:  # another account may have moved onto it
            stale.append(account.old_key)
        yield from transact(
            put={
                record_key(org, app, account_uuid): account.raw,
                **{claim_key(org, app, name): account_uuid.encode("ascii") for name in kept},
            },
            delete=stale,
        )
    if refused:
        _warn(
            f"these usernames or emails named more than one account, or looked like a uuid, "
            f"and now name none (reach those accounts by uuid): {', '.join(refused)}"
        )


def _scope(account: _Account) -> tuple[str, str]:
    if account.scope is None:
        return "", ""
    org, _, app = account.scope.partition("/")
    return org, app


def _prefix(account: _Account) -> str:
    return "" if account.scope is None else f"{account.scope}:"


def _lower(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(name.lower() for name in names))


def _folded(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids.fold(name) for name in names))


def _fold_claims() -> Flow[None]:
    """Move each claim of layout 2 (the lower-cased name) to its folded key (layout 3)."""
    refused: list[str] = []
    for account, account_uuid in (yield from _users()):
        org, app = _scope(account)
        refused += yield from _refold(
            account.names,
            account_uuid,
            lambda name: record_keys.user_id_key(org, app, name),  # noqa: B023 - used in this turn
            lambda name: f"userid:{org}/{app}:{name.lower()}",  # noqa: B023 - used in this turn
        )
    for account, account_uuid in (yield from _admins()):
        refused += yield from _refold(
            account.names,
            account_uuid,
            record_keys.admin_id_key,
            lambda name: f"adminid:{name.lower()}",
        )
    if refused:
        _warn(
            "these emails or usernames look like another account's (they are the same after "
            "Unicode NFKC and case folding) and now name none (reach those accounts by "
            f"username or uuid): {', '.join(sorted(refused))}",
            "upgrading a store to folded names",
        )


def _refold(
    names: list[str],
    account_uuid: str,
    claim_key: Callable[[str], str],
    old_claim_key: Callable[[str], str],
) -> Flow[list[str]]:
    """Move the account's claims whose key changes; the names refused, held by another."""
    target = account_uuid.encode("ascii")
    refused = []
    for name in dict.fromkeys(names):
        old, new = old_claim_key(name), claim_key(name)
        if old == new:  # an ASCII name: its key is what it was
            continue
        stale = [old] if (yield from get(old)) == target else []
        if (yield from transact(create={new: target}, delete=stale)):
            continue
        if (yield from get(new)) != target:  # a look-alike of another account's name
            refused.append(name)
        yield from transact(delete=stale)
    return refused


def _drop_unparsable_rules() -> Flow[None]:
    dropped: list[str] = []
    for key, raw in (yield from scan("role:")):
        dropped += yield from _drop_rules(key, rec.decode(rec.RoleRecord, raw))
    for key, raw in (yield from scan("user:")):
        dropped += yield from _drop_rules(key, rec.decode(rec.UserRecord, raw))
    for key, raw in (yield from scan("group:")):
        dropped += yield from _drop_rules(key, rec.decode(rec.GroupRecord, raw))
    if dropped:
        _warn(f"these rules no longer parse and were dropped: {', '.join(sorted(set(dropped)))}")


def _drop_rules(
    key: str, record: rec.RoleRecord | rec.UserRecord | rec.GroupRecord
) -> Flow[list[str]]:
    """Rewrite ``record`` without the rules that no longer parse; return those."""
    dropped = [text for text in record.rules if not _parses(text)]
    if dropped:
        record.rules = [text for text in record.rules if text not in dropped]
        yield from put(key, rec.encode(record))
    return dropped


def _parses(text: str) -> bool:
    try:
        Rule.parse(text)
    except ConfigError:
        return False
    return True


def _warn(message: str, doing: str = "upgrading a baas-auth 0.1 store") -> None:
    warn_caller(f"{doing}: {message}", LayoutUpgradeWarning)

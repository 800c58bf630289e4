"""A cache of directory records for one store generation, filled lazily.

Every directory write bumps the store's generation; a Realm that sees a new generation starts a
new Snapshot, so a change made by any process applies to the next request of every process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from baas_auth import records as rec
from baas_auth.errors import ConfigError, StoreError
from baas_auth.model import TokenInfo
from baas_auth.permissions import EMPTY_MATCHER, Matcher, RuleCache
from baas_auth.policy import UserPolicy, user_policy
from baas_auth.stores.protocols import Store

__all__ = ["Snapshot"]

K = TypeVar("K")
V = TypeVar("V")
_MAX_ENTRIES = 50_000  # per table; a full table is dropped and refilled on demand


@contextmanager
def _stored_rules() -> Iterator[None]:
    """Rules were checked when granted; one that no longer parses was changed in the store
    behind the realm's back (or by a newer, stricter version): a store failure, never a 500."""
    try:
        yield
    except ConfigError as error:
        raise StoreError(f"a stored rule does not parse: {error}") from error


class _Table(dict[K, V]):
    """A dict that empties itself rather than grow without bound."""

    def remember(self, key: K, value: V) -> V:
        if len(self) >= _MAX_ENTRIES:
            self.clear()
        self[key] = value
        return value


class Snapshot:
    """Directory records of one generation: apps, roles, users' policies, admins, clients."""

    def __init__(self, store: Store, generation: int, compiler: RuleCache) -> None:
        self.store = store
        self.generation = generation
        self.compiler = compiler
        self._lock = threading.Lock()
        self._orgs: _Table[str, rec.OrgRecord | None] = _Table()
        self._apps: _Table[tuple[str, str], rec.AppRecord | None] = _Table()
        self._roles: _Table[tuple[str, str], dict[str, rec.RoleRecord]] = _Table()
        self._guests: _Table[tuple[str, str, bool], Matcher | None] = _Table()
        self._users: _Table[tuple[str, str, str], UserPolicy | None] = _Table()
        self._admins: _Table[str, rec.AdminRecord | None] = _Table()
        self._clients: _Table[str, rec.ClientRecord | None] = _Table()
        self._tokens: _Table[str, TokenInfo | None] = _Table()

    def _load_and_remember(self, table: _Table[K, V], key: K, load: Callable[[], V]) -> V:
        value = load()
        with self._lock:
            return table.remember(key, value)

    def _get(self, kind: type[V], key: str) -> V | None:
        raw = self.store.get(key)
        return None if raw is None else rec.decode(kind, raw)

    def org(self, name: str) -> rec.OrgRecord | None:
        try:
            return self._orgs[name]
        except KeyError:
            pass
        return self._load_and_remember(
            self._orgs, name, lambda: self._get(rec.OrgRecord, rec.org_key(name))
        )

    def app(self, org: str, app: str) -> rec.AppRecord | None:
        try:  # the hot path: a dict hit, no closure made
            return self._apps[org, app]
        except KeyError:
            pass
        return self._load_and_remember(
            self._apps, (org, app), lambda: self._get(rec.AppRecord, rec.app_key(org, app))
        )

    def roles(self, org: str, app: str) -> dict[str, rec.RoleRecord]:
        try:
            return self._roles[org, app]
        except KeyError:
            pass

        def load() -> dict[str, rec.RoleRecord]:
            found = self.store.scan(rec.role_prefix(org, app))
            return {r.name: r for r in (rec.decode(rec.RoleRecord, raw) for _, raw in found)}

        return self._load_and_remember(self._roles, (org, app), load)

    def guest_matcher(self, org: str, app: str, case_sensitive: bool) -> Matcher | None:
        """The compiled rules of the app's ``guest`` role; None when the app has no such role."""
        try:
            return self._guests[org, app, case_sensitive]
        except KeyError:
            pass

        def load() -> Matcher | None:
            guest = self.roles(org, app).get("guest")
            if guest is None:
                return None
            with _stored_rules():
                rules = [self.compiler.parse(text) for text in guest.rules]
            if not rules:
                return EMPTY_MATCHER
            return self.compiler.compile(rules, case_sensitive=case_sensitive)

        return self._load_and_remember(self._guests, (org, app, case_sensitive), load)

    def user_policy(self, org: str, app: str, user_uuid: str) -> UserPolicy | None:
        """The user's policy; None when the user is gone, disabled or not activated."""
        try:
            return self._users[org, app, user_uuid]
        except KeyError:
            pass

        def load() -> UserPolicy | None:
            user = self._get(rec.UserRecord, rec.user_key(org, app, user_uuid))
            if user is None or user.uuid != user_uuid or user.disabled or not user.activated:
                return None
            keys = [rec.group_key(org, app, path) for path in user.groups]
            groups = [rec.decode(rec.GroupRecord, raw) for raw in self.store.get_many(keys) if raw]
            with _stored_rules():
                return user_policy(user, self.roles(org, app), groups, self.compiler)

        return self._load_and_remember(self._users, (org, app, user_uuid), load)

    def admin(self, admin_uuid: str) -> rec.AdminRecord | None:
        """The admin user; None when it is gone or disabled."""
        try:
            return self._admins[admin_uuid]
        except KeyError:
            pass

        def load() -> rec.AdminRecord | None:
            admin = self._get(rec.AdminRecord, rec.admin_key(admin_uuid))
            ok = admin is not None and admin.uuid == admin_uuid and not admin.disabled
            return admin if ok else None

        return self._load_and_remember(self._admins, admin_uuid, load)

    def client(self, client_id: str) -> rec.ClientRecord | None:
        try:
            return self._clients[client_id]
        except KeyError:
            pass
        return self._load_and_remember(
            self._clients,
            client_id,
            lambda: self._get(rec.ClientRecord, rec.client_key(client_id)),
        )

    def token_info(
        self,
        token_id: str,
        raw: bytes,
        load: Callable[[Snapshot, str, bytes], TokenInfo | None],
    ) -> TokenInfo | None:
        """What a token record stands for, decoded once per generation (records never change)."""
        try:
            return self._tokens[token_id]
        except KeyError:
            pass
        return self._load_and_remember(self._tokens, token_id, lambda: load(self, token_id, raw))

"""The Realm: directory, token service and permission resolver behind one object.

Shell code: it reads the store and the clock, then hands plain values to the core (``tokens``,
``hashing``, ``permissions``, ``policy``), which makes every decision.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeGuard, TypeVar

from baas_auth import records as rec
from baas_auth.directory import DEFAULT_MIN_PASSWORD_LENGTH
from baas_auth.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    InvalidClientError,
    InvalidGrantError,
    MalformedTokenError,
    NotFoundError,
    RevokedTokenError,
    TooManyRequestsError,
)
from baas_auth.hashing import PasswordHasher, keyed_digest, secret_matches
from baas_auth.keyring import KeyRing
from baas_auth.layout import upgrade_layout
from baas_auth.model import Principal, TokenGrant, TokenInfo
from baas_auth.paths import check_route_path, rule_path
from baas_auth.permissions import RuleCache, verb_for_method
from baas_auth.roles import RoleAdmin
from baas_auth.snapshot import Snapshot
from baas_auth.stores.protocols import Store
from baas_auth.stores.urls import open_store
from baas_auth.throttle import Attempts, LoginThrottle
from baas_auth.tokens import (
    DEFAULT_MAX_TTL_MS,
    SigningKey,
    VerifiedToken,
    expires_at,
    expires_in_seconds,
    issue_token,
    resolve_ttl_ms,
)

__all__ = ["Realm"]

R = TypeVar("R")
_SWAP_TRIES = 8
_STORE_METHODS = sorted(
    name for name, member in vars(Store).items() if callable(member) and not name.startswith("_")
)
_NO_SECRET_HASH = "0" * 64  # compared against when a client_id is unknown, to spend equal time
_ALL_ACCESS_KINDS = frozenset({"app_client", "org_client", "admin_user"})


class Realm(RoleAdmin):
    """The security model of one deployment, kept in a store (see the package README).

    Args:
        store: where records live (``MemoryStore``, ``SQLiteStore``, a Redis store, your own).
        clock: seconds since the epoch; tests pass a fake one.
        max_token_ttl_ms: default and ceiling of token life (an app's accesstokenttl may exceed it).
        signing_keys: MAC keys from configuration, current first; by default a key is generated
            once and kept in the store.
        password_hasher: the scrypt cost; lower it only in test suites.
        min_password_length: the fewest characters a new password may have.
        login_throttle: how failed password grants lock an account (behaviour §6.2); None
            switches throttling off.
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], float] = time.time,
        max_token_ttl_ms: int = DEFAULT_MAX_TTL_MS,
        signing_keys: Sequence[SigningKey] | None = None,
        password_hasher: PasswordHasher | None = None,
        min_password_length: int = DEFAULT_MIN_PASSWORD_LENGTH,
        login_throttle: LoginThrottle | None = LoginThrottle(),  # noqa: B008 - frozen value
    ) -> None:
        _check_store(store)
        _check_options(max_token_ttl_ms, min_password_length, login_throttle, password_hasher)
        self.store = store
        self.clock = clock
        self.max_token_ttl_ms = max_token_ttl_ms
        self.password_hasher = password_hasher or PasswordHasher()
        self.min_password_length = min_password_length
        self.login_throttle = login_throttle
        self._lock = threading.Lock()
        self._rules = RuleCache()
        self._snapshot = Snapshot(store, -1, self._rules)
        upgrade_layout(store)
        self.keys = KeyRing(store, signing_keys)

    @classmethod
    def open(cls, url: str, **options: Any) -> Realm:
        """A Realm on ``memory:``, ``sqlite:///relative.db``, ``sqlite:////abs.db`` or ``redis://…``."""
        return cls(open_store(url), **options)

    def __repr__(self) -> str:
        return f"<Realm store={type(self.store).__name__}>"

    def close(self) -> None:
        self.store.close()

    # -- keys -------------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _secret_key(self) -> bytes:
        return self.keys.secret_key

    def rotate_signing_key(self) -> str:
        """Make a new current signing key; tokens signed with older keys keep verifying."""
        return self.keys.rotate()

    def retire_signing_key(self, kid: str) -> None:
        """Drop a signing key: every token it signed stops working at once."""
        self.keys.retire(kid)

    # -- the snapshot of the directory ----------------------------------------------------------

    def _view(self, generation: int) -> Snapshot:
        snapshot = self._snapshot
        if snapshot.generation == generation:
            return snapshot
        with self._lock:
            if self._snapshot.generation != generation:
                if self.keys.configured is None:
                    self.keys.reload()
                self._snapshot = Snapshot(self.store, generation, self._rules)
            return self._snapshot

    def _fresh_view(self) -> Snapshot:
        return self._view(self.store.generation())

    # -- issuing --------------------------------------------------------------------------

    def _issue(
        self, record: rec.TokenRecord, ttl_ms: int | None, principal: Principal
    ) -> TokenGrant:
        self._fresh_view()  # keys rotated, retired or corrupted since: reloaded (or 503) first
        key = self.keys.current
        record.kid = key.kid
        record.created_ms = self._now_ms()
        record.expires_at_ms = expires_at(record.created_ms, ttl_ms)
        token, token_id = issue_token(key, expires_at_ms=record.expires_at_ms)
        self.store.put_token(
            token_id,
            rec.principal_key(record),
            rec.encode(record),
            created_ms=record.created_ms,
            expires_at_ms=record.expires_at_ms,
        )
        return TokenGrant(token, expires_in_seconds(ttl_ms), principal)

    def _app_ceiling(self, app: rec.AppRecord) -> int | None:
        if app.access_token_ttl_ms is None:
            return self.max_token_ttl_ms
        return app.access_token_ttl_ms or None  # accesstokenttl 0: user tokens never expire

    def password_token(
        self, org: str, app: str, username: str, password: str, *, ttl_ms: int | None = 0
    ) -> TokenGrant:
        """An app-user token for the password grant (``username`` may be an email or uuid).

        Raises:
            IllegalArgumentError: a bad ttl. TooManyRequestsError: the account is locked after
            failed grants (the password was not checked). InvalidGrantError: bad password,
            unknown, disabled or unactivated user. NotFoundError: no such app.
        """
        found = self._app(org, app)
        ttl = resolve_ttl_ms(ttl_ms, ceiling_ms=self._app_ceiling(found))
        user = self._find_or_none(lambda: self._user(found, username))
        scope = f"{found.org}/{found.name}"
        account = self._account_key(scope, username, None if user is None else user.uuid)
        self._check_password(account, password, None if user is None else user.password_hash)
        if user is None:  # never: _check_password refuses an unknown account
            raise InvalidGrantError()
        _check_usable(user.activated, user.disabled)
        self._rehash_if_needed(rec.user_key(found.org, found.name, user.uuid), user, password)
        principal = Principal(
            kind="app_user", org=found.org, app=found.name, uuid=user.uuid, username=user.username
        )
        record = rec.TokenRecord(
            "app_user", user.uuid, "", 0, None, found.org, found.name, user.username
        )
        return self._issue(record, ttl, principal)

    def admin_token(self, username: str, password: str, *, ttl_ms: int | None = 0) -> TokenGrant:
        """An admin-user token for the password grant on ``/management/token``."""
        ttl = resolve_ttl_ms(ttl_ms, ceiling_ms=self.max_token_ttl_ms)
        admin = self._find_or_none(lambda: self._admin(username))
        account = self._account_key("admin", username, None if admin is None else admin.uuid)
        self._check_password(account, password, None if admin is None else admin.password_hash)
        if admin is None:  # never: _check_password refuses an unknown account
            raise InvalidGrantError()
        _check_usable(True, admin.disabled)
        self._rehash_if_needed(rec.admin_key(admin.uuid), admin, password)
        principal = Principal(
            kind="admin_user", uuid=admin.uuid, username=admin.username, orgs=frozenset(admin.orgs)
        )
        record = rec.TokenRecord("admin_user", admin.uuid, "", 0, None, username=admin.username)
        return self._issue(record, ttl, principal)

    # -- passwords under attack (behaviour §6.2) ----------------------------------------------

    def _account_key(self, scope: str, name: object, account_uuid: str | None) -> str:
        """Where an account's failed grants are counted: under its uuid, however it was named;
        an unknown name under a keyed hash of it (it may be a password typed in the wrong box,
        and must not rest in the store as written)."""
        if account_uuid is not None:
            return f"throttle:{scope}:{account_uuid}"
        digest = keyed_digest(_text(name).lower(), self.keys.secret_key)
        return f"throttle:{scope}:#{digest}"

    def _check_password(self, account: str, password: object, stored_hash: str | None) -> None:
        """Refuse a locked account (429), then check the password, in the same time whether the
        account exists or not; an unknown account (``stored_hash`` None) always fails."""
        self._count_attempt(account)
        if not self.password_hasher.verify(_text(password), stored_hash) or stored_hash is None:
            raise InvalidGrantError()
        self._forget_attempts(account)

    def _count_attempt(self, account: str) -> None:
        throttle = self.login_throttle
        if throttle is None:
            return
        for _ in range(_SWAP_TRIES):
            now = self._now_ms()
            raw = self.store.get_transient(account)
            state = Attempts.decode(raw)
            wait_ms = throttle.locked_for_ms(state, now)
            if wait_ms:
                raise TooManyRequestsError(-(-wait_ms // 1000))
            counted = throttle.attempted(state, now).encode()
            keep = throttle.keep_until_ms(now)
            if self.store.swap_transient(account, raw, counted, expires_at_ms=keep):
                return
        # Other attempts on this account kept winning the race: it is under a burst.
        raise TooManyRequestsError(1)

    def _forget_attempts(self, account: str) -> None:
        if self.login_throttle is None:
            return
        keep = self.login_throttle.keep_until_ms(self._now_ms())
        for _ in range(_SWAP_TRIES):
            raw = self.store.get_transient(account)
            if raw is None or self.store.swap_transient(account, raw, None, expires_at_ms=keep):
                return

    def client_token(
        self,
        client_id: str,
        client_secret: str,
        *,
        ttl_ms: int | None = 0,
        for_app: tuple[str, str] | None = None,
    ) -> TokenGrant:
        """A client token for the client_credentials grant; its kind follows the client.

        With ``for_app=(org, app)``, credentials that do not cover that app are refused as
        ``InvalidClientError`` (the token endpoint of one app does not serve another's clients).
        """
        ttl = resolve_ttl_ms(ttl_ms, ceiling_ms=self.max_token_ttl_ms)
        principal = self.authenticate_client(client_id, client_secret)
        if for_app is not None and not principal.covers(for_app[0].lower(), for_app[1].lower()):
            raise InvalidClientError()
        kind: rec.TokenKind = "org_client" if principal.app is None else "app_client"
        record = rec.TokenRecord(kind, client_id, "", 0, None, principal.org, principal.app)
        return self._issue(record, ttl, principal)

    def _rehash_if_needed(
        self, key: str, record: rec.UserRecord | rec.AdminRecord, password: str
    ) -> None:
        """After a successful login, store the password again under the current scrypt cost
        when its hash was made with another one (hashes carry their parameters)."""
        if record.password_hash and self.password_hasher.needs_rehash(record.password_hash):
            record.password_hash = self.password_hasher.hash(password)
            self.store.put(key, rec.encode(record))

    @staticmethod
    def _find_or_none(find: Callable[[], R]) -> R | None:
        try:
            return find()
        except NotFoundError:
            return None

    # -- authenticating -------------------------------------------------------------------------

    def authenticate_client(self, client_id: str, client_secret: str) -> Principal:
        """The principal of org or app credentials, or InvalidClientError."""
        client = self._fresh_view().client(client_id) if rec.is_client_id(client_id) else None
        stored = _NO_SECRET_HASH if client is None else client.secret_hash
        if not secret_matches(_text(client_secret), stored, self.keys.secret_key) or client is None:
            raise InvalidClientError()
        kind: rec.TokenKind = "org_client" if client.app is None else "app_client"
        return Principal(
            kind=kind,
            org=client.org,
            app=client.app,
            uuid=client.client_id,
            username=client.client_id,
        )

    def authenticate_token(self, token: str) -> Principal:
        """The principal a token stands for.

        Raises:
            MalformedTokenError, ExpiredTokenError, RevokedTokenError (all InvalidTokenError).
            StoreError: the store failed; never a principal.
        """
        return self.token_info(token).principal

    def token_info(self, token: str) -> TokenInfo:
        """What a valid token is: its principal, issue time and expiry (errors as above)."""
        verified = self._verify(token, allow_expired=False)
        lookup = self.store.get_token(verified.token_id)
        view = self._view(lookup.generation)
        if verified.kid not in self.keys.kids:  # retired by another process since
            raise MalformedTokenError()
        if lookup.record is None:
            raise RevokedTokenError()
        info = view.token_info(verified.token_id, lookup.record, self._token_info)
        if info is None:
            raise RevokedTokenError()
        return info

    def _verify(self, token: str, *, allow_expired: bool) -> VerifiedToken:
        if not isinstance(token, str):
            raise MalformedTokenError()
        return self.keys.verify(token, now_ms=self._now_ms(), allow_expired=allow_expired)

    def _token_info(self, view: Snapshot, token_id: str, raw: bytes) -> TokenInfo | None:
        record = rec.decode(rec.TokenRecord, raw)
        principal = self._principal(view, record, token_id)
        if principal is None:
            return None
        return TokenInfo(principal, record.created_ms, record.expires_at_ms)

    def _principal(
        self, view: Snapshot, record: rec.TokenRecord, token_id: str
    ) -> Principal | None:
        if record.kind == "app_user":
            if view.user_policy(record.org or "", record.app or "", record.subject) is None:
                return None
            return Principal(
                kind="app_user",
                org=record.org,
                app=record.app,
                uuid=record.subject,
                username=record.username,
                token_id=token_id,
            )
        if record.kind == "admin_user":
            admin = view.admin(record.subject)
            if admin is None:
                return None
            return Principal(
                kind="admin_user",
                uuid=admin.uuid,
                username=admin.username,
                orgs=frozenset(admin.orgs),
                token_id=token_id,
            )
        client = view.client(record.subject)
        if client is None:
            return None
        return Principal(
            kind=record.kind,
            org=client.org,
            app=client.app,
            uuid=client.client_id,
            username=client.client_id,
            token_id=token_id,
        )

    def guest(self, org: str, app: str) -> Principal:
        """The anonymous principal of an application (check it with ``permits``)."""
        found = self._fresh_view().app(org.lower(), app.lower())
        if found is None:
            raise AuthenticationError(f"No application {org.lower()}/{app.lower()}")
        return Principal(kind="guest", org=found.org, app=found.name)

    # -- revoking -------------------------------------------------------------------------

    def _revoke_principal(self, principal_key: str) -> int:
        return self.store.delete_principal_tokens(principal_key)

    def revoke_token(self, token: str, *, owner: Principal | None = None) -> bool:
        """Revoke one token of any kind (expired ones too); False if it was already gone.

        With ``owner``, the token must have been issued to that app user or admin user
        (same kind, uuid, org and app), else ``BadRequestError`` and nothing is revoked.
        """
        verified = self._verify(token, allow_expired=True)
        if owner is not None:
            raw = self.store.get_token(verified.token_id).record
            if raw is None:
                return False
            if not _owned_by(rec.decode(rec.TokenRecord, raw), owner):
                raise BadRequestError("The token does not belong to that user")
        return self.store.delete_token(verified.token_id)

    def revoke_user_tokens(self, org: str, app: str, username: str) -> int:
        """Revoke every token of an app user; returns how many there were."""
        found = self._app(org, app)
        user = self._user(found, username)
        return self._revoke_principal(rec.user_principal_key(found.org, found.name, user.uuid))

    def revoke_admin_tokens(self, username: str) -> int:
        """Revoke every token of an admin user; returns how many there were."""
        return self._revoke_principal(rec.admin_principal_key(self._admin(username).uuid))

    # -- authorizing ----------------------------------------------------------------------

    def permits(
        self,
        principal: Principal,
        method: str,
        path: str,
        *,
        org: str,
        app: str,
        case_sensitive: bool = True,
    ) -> bool:
        """Whether ``principal`` may send ``method`` to the app-relative ``path`` of ``org/app``.

        Raises:
            BadRequestError: ``path`` is not a canonical route path (behaviour §5.2).
        """
        check_route_path(path, allow_trailing_slash=True)
        self._fresh_view()
        return self.allows(
            principal,
            method,
            rule_path(path),
            org=org.lower(),
            app=app.lower(),
            case_sensitive=case_sensitive,
        )

    def allows(
        self,
        principal: Principal,
        method: str,
        path: str,
        *,
        org: str,
        app: str,
        case_sensitive: bool = True,
    ) -> bool:
        """``permits`` for a caller that has just authenticated ``principal`` (so the cached
        directory is current) and has checked ``path``: lower-case names, no trailing slash."""
        verb = verb_for_method(method)
        if verb is None or not principal.covers(org, app):
            return False
        if principal.kind in _ALL_ACCESS_KINDS:
            return True
        view = self._snapshot
        if principal.kind == "guest":
            guest = view.guest_matcher(org, app, case_sensitive)
            return guest is not None and guest.permits(verb, path)
        policy = view.user_policy(org, app, principal.uuid or "")
        if policy is None:
            return False
        inactive = None
        if policy.has_timed_roles and principal.token_id is not None:
            inactive = self.store.touch_token(principal.token_id, self._now_ms())
            if inactive is None:  # revoked since it was authenticated
                return False
        matcher = policy.matcher(inactive, case_sensitive=case_sensitive)
        return matcher.permits(verb, path, (principal.uuid or "", principal.username or ""))

    def manages_org(self, principal: Principal, org: str) -> bool:
        """Whether ``principal`` is an admin user or org client of the organization named
        ``org`` (its name or uuid, ignoring case)."""
        if principal.kind == "admin_user":
            names: frozenset[str] = principal.orgs
        elif principal.kind == "org_client" and principal.org is not None:
            names = frozenset({principal.org})
        else:
            return False
        wanted = org.lower()
        if wanted in names:
            return True
        view = self._snapshot
        return any((found := view.org(name)) is not None and found.uuid == wanted for name in names)

    def is_self(self, principal: Principal, name: str) -> bool:
        """Whether ``name`` (``me``, a username, an email or a uuid) names the app user or admin
        user ``principal``: exactly one account has each of those (behaviour §1)."""
        if principal.kind not in ("app_user", "admin_user") or principal.uuid is None:
            return False
        lowered = name.lower()
        if lowered in ("me", principal.uuid, (principal.username or "").lower()):
            return True
        try:
            if principal.kind == "admin_user":
                return self._admin(name).uuid == principal.uuid
            found = self._app(principal.org or "", principal.app or "")
            return self._user(found, name).uuid == principal.uuid
        except NotFoundError:
            return False

    def knows_app(self, org: str, app: str) -> bool:
        """Whether ``org/app`` (lower-case) exists, per the cached directory (see ``allows``)."""
        return self._snapshot.app(org, app) is not None


def _check_store(store: object) -> None:
    if isinstance(store, str):
        raise ConfigError(f"Realm takes a store object; for a URL write Realm.open({store!r})")
    if not isinstance(store, Store):
        missing = [name for name in _STORE_METHODS if not callable(getattr(store, name, None))]
        raise ConfigError(
            f"{type(store).__name__} is not a baas_auth store (see baas_auth.stores.Store); "
            f"it lacks {', '.join(missing)}"
        )


def _check_options(
    max_token_ttl_ms: object,
    min_password_length: object,
    login_throttle: object,
    password_hasher: object,
) -> None:
    if not _whole(max_token_ttl_ms) or max_token_ttl_ms <= 0:
        raise ConfigError("max_token_ttl_ms is a whole number of milliseconds > 0")
    if not _whole(min_password_length) or not 1 <= min_password_length <= 1024:
        raise ConfigError("min_password_length is a whole number from 1 to 1024")
    if login_throttle is not None and not isinstance(login_throttle, LoginThrottle):
        raise ConfigError("login_throttle is a LoginThrottle(...) or None (no throttling)")
    if password_hasher is not None and not isinstance(password_hasher, PasswordHasher):
        raise ConfigError("password_hasher is a PasswordHasher(...)")


def _whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _owned_by(record: rec.TokenRecord, owner: Principal) -> bool:
    return (record.kind, record.subject) == (owner.kind, owner.uuid) and (
        owner.kind == "admin_user" or (record.org, record.app) == (owner.org, owner.app)
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _check_usable(activated: bool, disabled: bool) -> None:
    if disabled:
        raise InvalidGrantError("user disabled")
    if not activated:
        raise InvalidGrantError("user not activated")

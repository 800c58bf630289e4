"""``AsyncRealm``: the realm's operations run on an event loop over an ``AsyncStore``.

Each method awaits one flow, imported from the module that writes it (``directory``,
``token_flows``, ``flows`` for those that join several), under the event-loop driver; the KDF
runs on a worker pool, never on the loop. ``Realm`` (``sync.py``) is generated from this file by
``scripts/generate_sync_realm.py``: edit this one, then run the script.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from typing_extensions import Unpack

from baas_auth.core.hashing import PasswordHasher
from baas_auth.core.identity_providers import DEFAULT_ALGORITHMS, IdentityProvider
from baas_auth.core.throttle import LoginThrottle
from baas_auth.model import (
    AdminUser,
    App,
    ClientCredentials,
    ClientInfo,
    Explanation,
    Group,
    ImportReport,
    Org,
    Principal,
    RefreshSettings,
    Role,
    TokenGrant,
    TokenInfo,
    User,
)
from baas_auth.realm import (
    access_flows,
    account_directory,
    directory,
    explain,
    federated_check,
    flows,
    grants,
    health_flows,
    identity_provider_flows,
    introspection,
    lifecycle_flows,
    members,
    reads,
    refresh_flows,
    token_checks,
    token_flows,
)
from baas_auth.realm.async_drivers import AsyncDriver, Serve
from baas_auth.realm.keys import KeyRing
from baas_auth.realm.state import RealmOptions, RealmSettings, RealmState
from baas_auth.realm.store_check import check_store
from baas_auth.realm.store_commands import Flow
from baas_auth.stores.protocols import AsyncStore
from baas_auth.stores.urls import open_async_store

__all__ = ["AsyncRealm"]

T = TypeVar("T")


class AsyncRealm:
    """The security model of one deployment, kept in a store (see the package README).

    Args:
        store: where records live, an ``AsyncStore`` (``AsyncRedisStore``, your own).
        create: whether opening may set up a store that holds no realm (its signing keys and
            realm marker) at once; without it such a store is set up by the first write that
            creates something (the first org or admin user, an import), and nothing before.
            A store that held this realm and lost it is never set up again: ``RealmLostError``.
        **settings: the realm's options, each optional: see ``RealmOptions``.
    """

    def __init__(
        self, store: AsyncStore, *, create: bool = False, **settings: Unpack[RealmOptions]
    ) -> None:
        check_store(store, AsyncStore)
        self.store = store
        self.state = RealmState(RealmSettings.from_options(**settings), create=create)
        self._driver = AsyncDriver(store)

    @classmethod
    def open(
        cls, url: str, *, create: bool = False, **settings: Unpack[RealmOptions]
    ) -> AsyncRealm:
        """An AsyncRealm on ``redis://host:port/db``, ``rediss://…``, ``unix:///path/redis.sock``,
        ``redis+sentinel://h1:26379,h2:26379/SERVICE/db`` or ``redis+cluster://h1:7000,…``
        (memory and SQLite stores never wait on a network: open them with ``Realm.open``)."""
        return cls(open_async_store(url, create=create), create=create, **settings)

    async def _start(self) -> None:
        """Open the realm the store holds (its keys; a store written by 0.1 upgraded) before
        the first operation; while the store holds none, before each (another process may
        have set it up since: its keys, not those held in memory, sign and hash)."""
        if self.state.realm_id is None:
            await self._driver.run(flows.start(self.state))

    async def _run(self, flow: Flow[T]) -> T:
        await self._start()
        return await self._driver.run(flow)

    @property
    def serve(self) -> Serve:
        """``serve(served, key)``: answer one request of a middleware with this realm's own
        driver: the answer ``served`` remembers under the store's change stamp, else its flow
        (``served.flow``) run to the end. The adapters' one call per request (bound once, at
        construction); the flow starts the realm itself where it has not started."""
        return self._driver.serve

    def __repr__(self) -> str:
        return f"<{type(self).__name__} store={type(self.store).__name__}>"

    @property
    def clock(self) -> Callable[[], float]:
        return self.state.settings.clock

    @property
    def max_token_ttl_ms(self) -> int:
        return self.state.settings.max_token_ttl_ms

    @property
    def password_hasher(self) -> PasswordHasher:
        return self.state.settings.password_hasher

    @property
    def min_password_length(self) -> int:
        return self.state.settings.min_password_length

    @property
    def login_throttle(self) -> LoginThrottle | None:
        return self.state.settings.login_throttle

    @property
    def keys(self) -> KeyRing | None:
        """The key ring as last loaded (None before the first operation)."""
        return self.state.keys

    async def close(self) -> None:
        await self.store.close()

    async def ping(self) -> None:
        """Check that the store answers within its timeout (and, once this realm is served,
        still holds it): ``StoreError`` when it does not. What the middleware's health path
        checks (``health_path=``); starts nothing and writes nothing."""
        await self._driver.run(health_flows.ping(self.state))

    # -- keys -----------------------------------------------------------------------------

    async def rotate_signing_key(self) -> str:
        """Make a new current signing key; tokens signed with older keys keep verifying."""
        return await self._run(flows.rotate_signing_key(self.state))

    async def retire_signing_key(self, kid: str) -> None:
        """Drop a signing key: every token it signed stops working at once."""
        return await self._run(flows.retire_signing_key(self.state, kid))

    # -- tokens ---------------------------------------------------------------------------

    async def password_token(
        self, org: str, app: str, username: str, password: str, *, ttl_ms: int | None = 0
    ) -> TokenGrant:
        """An app-user token for the password grant (``username`` may be an email or uuid).

        Raises:
            IllegalArgumentError: a bad ttl.
            TooManyRequestsError: the account is locked after failed grants (the password was
                not checked).
            InvalidGrantError: bad password, unknown, disabled or unactivated user.
            NotFoundError: no such app.
        """
        return await self._run(
            token_flows.password_token(self.state, org, app, username, password, ttl_ms)
        )

    async def admin_token(
        self, username: str, password: str, *, ttl_ms: int | None = 0
    ) -> TokenGrant:
        """An admin-user token for the password grant on ``/management/token``."""
        return await self._run(token_flows.admin_token(self.state, username, password, ttl_ms))

    async def client_token(
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
        flow = token_flows.client_token(self.state, client_id, client_secret, ttl_ms, for_app)
        return await self._run(flow)

    async def authenticate_client(self, client_id: str, client_secret: str) -> Principal:
        """The principal of org or app credentials, or InvalidClientError."""
        return await self._run(
            token_checks.authenticate_client(self.state, client_id, client_secret)
        )

    async def authenticate_token(self, token: str) -> Principal:
        """The principal a token stands for.

        Raises:
            InvalidTokenError: the token does not verify (its subclasses MalformedTokenError,
                ExpiredTokenError and RevokedTokenError say why).
            StoreError: the store failed; never a principal.
        """
        return (await self._run(token_checks.token_info(self.state, token))).principal

    async def token_info(self, token: str) -> TokenInfo:
        """What a valid token is: its principal, issue time and expiry (errors as above)."""
        return await self._run(token_checks.token_info(self.state, token))

    async def refresh_token(
        self, org: str, app: str, refresh_token: str, *, ttl_ms: int | None = 0
    ) -> TokenGrant:
        """A new access token and a new refresh token for ``refresh_token``, which is spent
        (rotation). ``InvalidGrantError`` for any other: unknown, expired, of another app, of a
        family ended; a spent one presented again ends its whole family (behaviour §9)."""
        return await self._run(refresh_flows.refresh(self.state, org, app, refresh_token, ttl_ms))

    async def set_refresh_token_ttl(
        self, org: str, app: str, ttl_ms: int | None, *, grace_ms: int = 0
    ) -> App:
        """Switch refresh tokens on for the app (``ttl_ms`` > 0: how long a family lives from
        its password grant; rotation never extends it) or off (None or 0, the default).
        ``grace_ms`` (at most 60 000) lets the immediately previous refresh token be presented
        again that long after it was spent without ending its family (400 all the same)."""
        return await self._run(refresh_flows.set_refresh_token_ttl(org, app, ttl_ms, grace_ms))

    async def introspect_anywhere(self, token: str) -> dict[str, object]:
        """The RFC 7662 answer ``introspect`` gives for ``token`` in the app or org it
        belongs to, whichever that is (the operator's view; ``baas-auth token-info``)."""
        return await self._run(introspection.introspect_anywhere(self.state, token))

    async def refresh_admin_token(
        self, refresh_token: str, *, ttl_ms: int | None = 0
    ) -> TokenGrant:
        """As ``refresh_token``, for an admin user's refresh token (``/management/token``);
        an app user's is ``InvalidGrantError`` here, as an admin's is at an app."""
        return await self._run(refresh_flows.refresh_admin(self.state, refresh_token, ttl_ms))

    async def set_admin_refresh_token_ttl(
        self, ttl_ms: int | None, *, grace_ms: int = 0
    ) -> RefreshSettings:
        """As ``set_refresh_token_ttl``, for the realm's admin users: their password grant on
        ``/management/token`` then answers a refresh token too (off by default)."""
        flow = refresh_flows.set_admin_refresh_token_ttl(self.state, ttl_ms, grace_ms)
        return await self._run(flow)

    async def admin_refresh_settings(self) -> RefreshSettings:
        """The realm's refresh-token setting for admin users."""
        return await self._run(refresh_flows.admin_refresh_settings())

    async def introspect(
        self, token: str, *, org: str | None = None, app: str | None = None
    ) -> dict[str, object]:
        """The RFC 7662 answer for ``token`` in the app ``org``/``app`` (or, with ``app``
        None, the management tokens of ``org``: its admins' and its org clients'; with neither,
        every management token): ``{"active": False}`` and nothing else for a token that is
        malformed, unknown, expired, revoked, of a disabled or deleted account, or of another
        app or org. The caller is trusted here: the endpoints check the client asking."""
        return await self._run(introspection.introspect(self.state, token, org, app))

    async def revoke_token(self, token: str, *, owner: Principal | None = None) -> bool:
        """Revoke one token of any kind (expired ones too); False if it was already gone.

        With ``owner``, the token must have been issued to that app user or admin user
        (same kind, uuid, org and app), else ``BadRequestError`` and nothing is revoked.
        """
        return await self._run(token_checks.revoke_token(self.state, token, owner))

    async def issue_user_token(
        self, org: str, app: str, username: str, *, ttl_ms: int | None = 0
    ) -> TokenGrant:
        """An app-user token minted on the server, without the user's password (social login,
        SSO, activate-then-sign-in): the password grant's TTL rules (the app's accesstokenttl
        is default and ceiling).

        Raises:
            IllegalArgumentError: a bad ttl.
            InvalidGrantError: a disabled or unactivated user.
            NotFoundError: no such app or user.
        """
        return await self._run(token_flows.user_token(self.state, org, app, username, ttl_ms))

    async def revoke_user_tokens(self, org: str, app: str, username: str) -> int:
        """Revoke every token of an app user; returns how many there were."""
        return await self._run(token_checks.revoke_user_tokens(self.state, org, app, username))

    async def revoke_admin_tokens(self, username: str) -> int:
        """Revoke every token of an admin user; returns how many there were."""
        return await self._run(token_checks.revoke_admin_tokens(self.state, username))

    async def purge_expired(self) -> int:
        """Collect expired token records now (housekeeping; validity never depends on it)."""
        return await self._run(flows.purge_expired(self.state))

    # -- authorizing ----------------------------------------------------------------------

    async def guest(self, org: str, app: str) -> Principal:
        """The anonymous principal of an application (check it with ``permits``)."""
        return await self._run(access_flows.guest(self.state, org, app))

    async def permits(
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
        flow = access_flows.permits(self.state, principal, method, path, org, app, case_sensitive)
        return await self._run(flow)

    async def explain(
        self,
        principal: Principal,
        method: str,
        path: str,
        *,
        org: str,
        app: str,
        case_sensitive: bool = True,
    ) -> Explanation:
        """Why ``permits`` answers as it does: the decision, the rule that allowed it and where
        that rule came from (a role, a group, the user, the own entity), or the rules considered
        when none did. Slower than ``permits``, for people and tools (``docs/observability.md``).

        Like ``permits``, it counts as a use of the principal's token.

        Raises:
            BadRequestError: ``path`` is not a canonical route path (behaviour §5.2).
        """
        flow = explain.explain(self.state, principal, method, path, org, app, case_sensitive)
        return await self._run(flow)

    async def check_provider_token(
        self,
        token: str,
        method: str,
        path: str,
        *,
        org: str,
        app: str,
        case_sensitive: bool = True,
    ) -> federated_check.ProviderTokenCheck:
        """Why an identity provider's token is accepted or refused for ``org/app``: the
        provider its ``iss`` picks (the app's, else the org's, for admin users), the checks it
        passed and the one that refused it, whom it stands for and how, and ``explain``'s
        answer for ``method path``. For people and tools (``baas-auth check``); it fetches the
        provider's keys itself and creates nothing."""
        flow = federated_check.check_provider_token(
            self.state, token, org, app, method, path, case_sensitive
        )
        return await self._run(flow)

    async def manages_org(self, principal: Principal, org: str) -> bool:
        """Whether ``principal`` is an admin user or org client of ``org`` (name or uuid)."""
        return await self._run(flows.manages_org(self.state, principal, org))

    async def is_self(self, principal: Principal, name: str) -> bool:
        """Whether ``name`` (``me``, a username, an email or a uuid) names ``principal``."""
        return await self._run(access_flows.is_self(principal, name))

    # -- orgs and apps --------------------------------------------------------------------

    async def create_org(self, name: str) -> Org:
        """Create an organization and its ``sandbox`` app, whose guest may do anything."""
        return await self._run(flows.create_org(self.state, name))

    async def get_org(self, name: str) -> Org:
        return await self._run(directory.get_org(name))

    async def create_app(
        self,
        org: str,
        name: str,
        *,
        roles: directory.RolesPreset = "locked",
        access_token_ttl_ms: int | None = None,
    ) -> App:
        """Create an application with the roles admin, default and guest (behaviour §5.4).

        ``roles="locked"`` (the default) gives them no rules: a signed-in user may only read
        its own entity and a guest nothing, until rules are granted. ``roles="usergrid"`` gives
        the original system's rules (``default`` may do anything); ``"sandbox"`` opens the app
        to everyone.
        """
        return await self._run(directory.create_app(org, name, roles, access_token_ttl_ms))

    async def get_app(self, org: str, app: str) -> App:
        return await self._run(directory.get_app(org, app))

    async def list_apps(self, org: str) -> list[App]:
        return await self._run(directory.list_apps(org))

    async def delete_org(self, org: str) -> int:
        """Delete an organization and everything in it: its apps with their roles, groups,
        users and credentials, and its own credentials; every token of theirs stops working
        at once. Its admin users stay (they may administer other orgs), no longer admins of
        it. Returns how many records went."""
        return await self._run(lifecycle_flows.delete_org(org))

    async def delete_app(self, org: str, app: str) -> int:
        """Delete an application with its roles, groups, users and credentials; their tokens
        stop working at once. Returns how many records went."""
        return await self._run(lifecycle_flows.delete_app(org, app))

    async def set_access_token_ttl(self, org: str, app: str, ttl_ms: int | None) -> App:
        """Set the app's ``accesstokenttl`` (ms; 0 = user tokens never expire; None removes it)."""
        return await self._run(directory.set_access_token_ttl(org, app, ttl_ms))

    # -- identity providers (behaviour §8) -------------------------------------------------

    async def add_identity_provider(
        self,
        org: str,
        app: str | None,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        jwks: Mapping[str, object] | None = None,
        algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
        username_claim: str = "sub",
        roles_claim: str | None = None,
        groups_claim: str | None = None,
        role_map: Mapping[str, str] | None = None,
        provision: bool = False,
        leeway_s: int = 30,
        cooldown_s: float = 30,
        timeout_s: float = 5,
    ) -> IdentityProvider:
        """Trust the JWTs ``issuer`` signs for the app (``app=None``: the org's admin users,
        by their email claim). Kept in the store: every process sees it from its next
        request. ``ConfigError`` for a bad setting, ``ConflictError`` for an issuer already
        trusted there."""
        settings = {
            "issuer": issuer,
            "audience": audience,
            "jwks_url": jwks_url,
            "jwks": jwks,
            "algorithms": tuple(algorithms),
            "username_claim": username_claim,
            "roles_claim": roles_claim,
            "groups_claim": groups_claim,
            "role_map": role_map,
            "provision": provision,
            "leeway_s": leeway_s,
            "cooldown_s": cooldown_s,
            "timeout_s": timeout_s,
        }
        flow = identity_provider_flows.add_identity_provider(org, app, settings)
        return await self._run(flow)

    async def identity_providers(self, org: str, app: str | None) -> list[IdentityProvider]:
        """The providers the app (``app=None``: the org's admin users) trusts, by issuer."""
        return await self._run(identity_provider_flows.identity_providers(org, app))

    async def remove_identity_provider(self, org: str, app: str | None, issuer: str) -> None:
        """Stop trusting ``issuer`` there, from every process's next request."""
        return await self._run(identity_provider_flows.remove_identity_provider(org, app, issuer))

    # -- client credentials ---------------------------------------------------------------

    async def create_credentials(self, org: str, app: str | None = None) -> ClientCredentials:
        """New org credentials (``app`` None) or app credentials; the secret is shown only here."""
        return await self._run(directory.create_credentials(self.state, org, app))

    async def regenerate_credentials(
        self, client_id: str, *, revoke_tokens: bool = True
    ) -> ClientCredentials:
        """A new secret for ``client_id``; by default its tokens stop working."""
        return await self._run(
            directory.regenerate_credentials(self.state, client_id, revoke_tokens)
        )

    async def delete_credentials(self, client_id: str) -> None:
        """Delete the credentials and revoke every token issued to them."""
        return await self._run(directory.delete_credentials(client_id))

    # -- app users ------------------------------------------------------------------------

    async def create_user(
        self,
        org: str,
        app: str,
        username: str,
        *,
        password: str | None = None,
        email: str | None = None,
        activated: bool = True,
    ) -> User:
        """Create an app user.

        Usernames, emails and uuids of an app's users form one namespace (ignoring case), so
        a username or email that is any other user's username or email is a ConflictError, and
        a username may not look like a uuid. A user created with ``activated=False`` cannot
        sign in until activated; its activation token goes to the ``on_user_token`` hook, if
        the realm has one.
        """
        flow = account_directory.create_user(
            self.state, org, app, username, password, email, activated
        )
        return await self._run(flow)

    async def get_user(self, org: str, app: str, username: str) -> User:
        """The user named ``username`` (or with that email or uuid)."""
        return await self._run(account_directory.get_user(org, app, username))

    async def update_user(
        self,
        org: str,
        app: str,
        username: str,
        *,
        password: str | None = None,
        disabled: bool | None = None,
        activated: bool | None = None,
    ) -> User:
        """Change a user; disabling or deactivating revokes all of its tokens at once."""
        flow = account_directory.update_user(
            self.state, org, app, username, password, disabled, activated
        )
        return await self._run(flow)

    async def delete_user(self, org: str, app: str, username: str) -> None:
        """Delete a user; its tokens stop working at once."""
        return await self._run(account_directory.delete_user(self.state, org, app, username))

    async def set_user_email(self, org: str, app: str, username: str, email: str | None) -> User:
        """Give a user a new email (None: no email). The old email stops naming it and the
        new one names it in the same write; an email another user has (as username or email)
        is a ConflictError. Its tokens keep working."""
        return await self._run(lifecycle_flows.set_user_email(org, app, username, email))

    # -- admin users ----------------------------------------------------------------------

    async def create_admin(
        self,
        username: str,
        *,
        password: str | None = None,
        orgs: Sequence[str] = (),
        email: str | None = None,
        activated: bool = True,
        confirmed: bool = True,
    ) -> AdminUser:
        """Create an admin user, org admin of each of ``orgs``.

        Admin usernames, emails and uuids form one namespace, as those of an app's users do.
        An unconfirmed or unactivated admin cannot sign in; it gets its confirmation token
        (then, once confirmed, its activation token) through the ``on_user_token`` hook.
        """
        flow = flows.create_admin(self.state, username, password, orgs, email, activated, confirmed)
        return await self._run(flow)

    async def get_admin(self, username: str) -> AdminUser:
        return await self._run(account_directory.get_admin(username))

    async def add_admin_to_org(self, username: str, org: str) -> AdminUser:
        return await self._run(account_directory.add_admin_to_org(username, org))

    async def update_admin(
        self,
        username: str,
        *,
        password: str | None = None,
        disabled: bool | None = None,
        activated: bool | None = None,
        confirmed: bool | None = None,
    ) -> AdminUser:
        """Change an admin user; disabling, deactivating or unconfirming revokes all of its
        tokens."""
        flow = account_directory.update_admin(
            self.state, username, password, disabled, activated, confirmed
        )
        return await self._run(flow)

    async def set_admin_email(self, username: str, email: str | None) -> AdminUser:
        """Give an admin user a new email (None: none), as ``set_user_email`` does a user."""
        return await self._run(lifecycle_flows.set_admin_email(self.state, username, email))

    async def delete_admin(self, username: str) -> None:
        """Delete an admin user; its tokens stop working at once, in every process."""
        return await self._run(lifecycle_flows.delete_admin(self.state, username))

    # -- passwords, activation and confirmation -------------------------------------------

    async def change_user_password(
        self,
        org: str,
        app: str,
        username: str,
        new_password: str,
        *,
        old_password: str | None = None,
    ) -> User:
        """Set an app user's password; with ``old_password``, only if it is the current one.

        The old password is checked as a password grant checks it (same KDF, same throttle
        of failed attempts). The user's tokens are revoked unless the realm keeps them.

        Raises:
            ConfigError: the new password is too short.
            InvalidGrantError: a wrong old password.
            TooManyRequestsError: the account is locked by failed attempts.
        """
        flow = flows.change_user_password(
            self.state, org, app, username, new_password, old_password
        )
        return await self._run(flow)

    async def change_admin_password(
        self, username: str, new_password: str, *, old_password: str | None = None
    ) -> AdminUser:
        """Set an admin user's password, as ``change_user_password`` does an app user's."""
        flow = flows.change_admin_password(self.state, username, new_password, old_password)
        return await self._run(flow)

    async def request_password_reset(self, org: str, app: str, username: str) -> None:
        """Hand a single-use reset token for the user to the ``on_user_token`` hook.

        Raises:
            NotFoundError: no such user (say nothing of it to strangers).
            ConfigError: the realm has no hook.
        """
        return await self._run(flows.request_password_reset(self.state, org, app, username))

    async def request_admin_password_reset(self, username: str) -> None:
        """Hand a single-use reset token for the admin user to the ``on_user_token`` hook."""
        return await self._run(flows.request_admin_password_reset(self.state, username))

    async def reset_password(
        self, org: str, app: str, username: str, token: str, new_password: str
    ) -> None:
        """Set the user's password with a reset token, which is then used up.

        Raises:
            ConfigError: the new password is too short (the token is kept).
            InvalidGrantError: the token is unknown, used, expired, of another kind or
                another user, or older than the current password; or there is no such user.
        """
        flow = flows.reset_password(self.state, org, app, username, token, new_password)
        return await self._run(flow)

    async def reset_admin_password(self, username: str, token: str, new_password: str) -> None:
        """Set an admin user's password with a reset token, as ``reset_password`` does."""
        flow = flows.reset_admin_password(self.state, username, token, new_password)
        return await self._run(flow)

    async def send_activation(self, org: str, app: str, username: str) -> bool:
        """Hand a new activation token to the hook; False (and none) if the user is active."""
        return await self._run(flows.send_activation(self.state, org, app, username))

    async def activate_user(self, org: str, app: str, username: str, token: str) -> User:
        """Activate a user with its activation token (InvalidGrantError for a bad one)."""
        return await self._run(flows.activate_user(self.state, org, app, username, token))

    async def send_admin_activation(self, username: str) -> bool:
        """Hand the token an admin user lacks to the hook: its confirmation token while it is
        unconfirmed, else its activation token while unactivated; False if it lacks none."""
        return await self._run(flows.send_admin_activation(self.state, username))

    async def confirm_admin(self, username: str, token: str) -> AdminUser:
        """Confirm an admin user with its confirmation token; one still unactivated then gets
        its activation token through the hook (for whoever approves new admins)."""
        return await self._run(flows.confirm_admin(self.state, username, token))

    async def activate_admin(self, username: str, token: str) -> AdminUser:
        """Activate an admin user with its activation token."""
        return await self._run(flows.activate_admin(self.state, username, token))

    # -- importing ------------------------------------------------------------------------

    async def import_identities(
        self,
        document: Mapping[str, object],
        *,
        dry_run: bool = False,
        require_strong_hashes: bool = False,
    ) -> ImportReport:
        """Bring in orgs, apps, client credentials, roles, groups, users and admins exported
        from API BaaS (Usergrid), keeping their uuids, client secrets and password hashes
        (format: docs/migration.md). Idempotent: what exists is never changed.

        Args:
            document: the import document, as parsed JSON.
            dry_run: read and report, write nothing.
            require_strong_hashes: skip accounts whose password hash is md5 or sha-1.

        Returns:
            Each item created, unchanged or skipped (with the reason).

        Raises:
            ImportDocumentError: the document's shape is wrong, or it holds bcrypt hashes
                without the bcrypt package; nothing was written.
        """
        flow = flows.import_identities(self.state, document, dry_run, require_strong_hashes)
        return await self._run(flow)

    # -- roles, groups and grants ---------------------------------------------------------

    async def create_role(self, org: str, app: str, name: str, *, inactivity_ms: int = 0) -> Role:
        """Create a role; with ``inactivity_ms > 0`` it leaves tokens idle for longer than that."""
        return await self._run(grants.create_role(org, app, name, inactivity_ms))

    async def delete_role(self, org: str, app: str, name: str) -> None:
        """Delete a role; deleting ``guest`` makes the app refuse anonymous requests."""
        return await self._run(grants.delete_role(org, app, name))

    async def get_role(self, org: str, app: str, name: str) -> Role:
        """A role by its name or its uuid (of this app only), as every method taking a role."""
        return await self._run(grants.get_role(org, app, name))

    async def list_roles(self, org: str, app: str) -> list[Role]:
        return await self._run(grants.list_roles(org, app))

    async def grant(
        self,
        org: str,
        app: str,
        rule: str,
        *,
        role: str | None = None,
        user: str | None = None,
        group: str | None = None,
    ) -> str:
        """Grant a rule such as ``get,put:/books/**``; returns its canonical text."""
        flow = grants.change_rules(org, app, rule, add=True, role=role, user=user, group=group)
        return (await self._run(flow))[0]

    async def revoke_grant(
        self,
        org: str,
        app: str,
        rule: str,
        *,
        role: str | None = None,
        user: str | None = None,
        group: str | None = None,
    ) -> bool:
        """Take a rule back (compared in canonical form); False if it was not granted."""
        flow = grants.change_rules(org, app, rule, add=False, role=role, user=user, group=group)
        return (await self._run(flow))[1]

    async def assign_role(
        self, org: str, app: str, role: str, *, user: str | None = None, group: str | None = None
    ) -> None:
        """Give a role to a user or a group."""
        await self._run(grants.change_roles(org, app, role, add=True, user=user, group=group))

    async def unassign_role(
        self, org: str, app: str, role: str, *, user: str | None = None, group: str | None = None
    ) -> bool:
        """Take a role from a user or a group; False if it did not have it."""
        return await self._run(
            grants.change_roles(org, app, role, add=False, user=user, group=group)
        )

    async def create_group(self, org: str, app: str, path: str) -> Group:
        """Create a group named by a path such as ``/staff`` (unique ignoring case)."""
        return await self._run(grants.create_group(org, app, path))

    async def delete_group(self, org: str, app: str, path: str) -> None:
        return await self._run(grants.delete_group(org, app, path))

    async def add_to_group(self, org: str, app: str, path: str, username: str) -> None:
        """Make a user a member of a group: it gains the group's rules and roles."""
        await self._run(grants.change_membership(org, app, path, username, add=True))

    async def remove_from_group(self, org: str, app: str, path: str, username: str) -> bool:
        return await self._run(grants.change_membership(org, app, path, username, add=False))

    # -- reading the model ----------------------------------------------------------------

    async def holds_role(self, principal: Principal, role: str, *, org: str, app: str) -> bool:
        """Whether ``principal`` is an active app user of ``org/app`` holding ``role``: given to
        it, through one of its groups, or ``default``; a role that no longer exists is no one's,
        and one that lapses for inactivity counts for this token only while it is live (which,
        like ``permits``, counts as a use of the token). Clients and admin users hold no roles."""
        return await self._run(reads.holds_role(self.state, principal, org, app, role))

    async def list_orgs(self) -> list[Org]:
        """Every organization, by name."""
        return await self._run(reads.list_orgs())

    async def list_users(
        self,
        org: str,
        app: str,
        *,
        prefix: str | None = None,
        state: lifecycle_flows.UserState | None = None,
    ) -> list[User]:
        """Every user of an app, by username; only those whose username or email starts with
        ``prefix`` (ignoring case), only those in ``state`` (``"active"``, ``"disabled"``,
        ``"unactivated"``), when given."""
        if prefix is None and state is None:
            return await self._run(reads.list_users(org, app))
        users, _ = await self._run(lifecycle_flows.users_page(org, app, None, None, prefix, state))
        return users

    async def list_users_page(
        self,
        org: str,
        app: str,
        *,
        limit: int = 100,
        cursor: str | None = None,
        prefix: str | None = None,
        state: lifecycle_flows.UserState | None = None,
    ) -> tuple[list[User], str | None]:
        """One page of ``list_users`` (as the original's ``limit`` and ``cursor``): at most
        ``limit`` users (1 to 1000) after ``cursor``, and the cursor of the next page, None on
        the last. A cursor is opaque; a user created or deleted between pages is seen or not,
        never twice."""
        flow = lifecycle_flows.users_page(org, app, limit, cursor, prefix, state)
        return await self._run(flow)

    async def list_groups(self, org: str, app: str) -> list[Group]:
        """Every group of an app with its rules and roles, by path."""
        return await self._run(reads.list_groups(org, app))

    async def get_group(self, org: str, app: str, path: str) -> Group:
        """A group by its path (``/staff/managers``) or its uuid (of this app only), as every
        method taking a group."""
        return await self._run(reads.get_group(org, app, path))

    async def role_users(self, org: str, app: str, role: str) -> list[User]:
        """The users the role is given to directly (not through a group), by username."""
        return await self._run(members.role_users(org, app, role))

    async def role_groups(self, org: str, app: str, role: str) -> list[Group]:
        """The groups the role is given to, by path."""
        return await self._run(members.role_groups(org, app, role))

    async def group_users(self, org: str, app: str, path: str) -> list[User]:
        """The members of a group, by username."""
        return await self._run(members.group_users(org, app, path))

    async def list_admins(self) -> list[AdminUser]:
        """Every admin user, by username."""
        return await self._run(reads.list_admins())

    async def list_credentials(self, org: str, app: str | None = None) -> list[ClientInfo]:
        """The client_ids of an org and of all its apps (``app`` None), or of one app; never
        a secret."""
        return await self._run(reads.list_credentials(org, app))

    async def user_roles(self, org: str, app: str, username: str) -> tuple[str, ...]:
        """The roles given to the user itself (not through its groups)."""
        return await self._run(reads.user_roles(org, app, username))

    async def user_groups(self, org: str, app: str, username: str) -> tuple[str, ...]:
        """The paths of the groups the user is a member of."""
        return await self._run(reads.user_groups(org, app, username))

    async def user_rules(self, org: str, app: str, username: str) -> tuple[str, ...]:
        """The rules granted to the user itself."""
        return await self._run(reads.user_rules(org, app, username))

    async def effective_rules(
        self, org: str, app: str, username: str, *, inactive_ms: int | None = None
    ) -> tuple[str, ...]:
        """Every rule that applies to the user: ``get:/users/me``, its own rules, its groups'
        rules, and the rules of ``default``, of its roles and of its groups' roles.

        A role other than ``default`` with ``inactivity_ms > 0`` lapses for a token idle for
        longer: with ``inactive_ms`` (a token's longest idle gap) the rules of the roles lapsed
        by then are left out; by default all are listed. Disabled or unactivated users get
        the same answer, though they can get no token.
        """
        flow = reads.effective_rules(self.state, org, app, username, inactive_ms)
        return await self._run(flow)

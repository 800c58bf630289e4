"""baas_auth: the API BaaS (Apache Usergrid) security model as WSGI/ASGI middleware.

Start with :class:`Realm`; wrap an app with ``baas_auth.wsgi.AuthMiddleware`` or
``baas_auth.asgi.AuthMiddleware``.
"""

from __future__ import annotations

from baas_auth import _moved
from baas_auth.core.hashing import PasswordHasher
from baas_auth.core.permissions import Rule
from baas_auth.core.throttle import LoginThrottle
from baas_auth.core.tokens import SigningKey
from baas_auth.errors import (
    AuthError,
    BaasAuthError,
    ConfigError,
    InvalidTokenError,
    StoreError,
)
from baas_auth.middleware.decisions import DecisionEvent
from baas_auth.model import (
    AdminUser,
    App,
    ClientCredentials,
    ClientInfo,
    Explanation,
    Group,
    ImportEntry,
    ImportReport,
    Org,
    Principal,
    Role,
    SourcedRule,
    TokenGrant,
    TokenInfo,
    User,
    UserToken,
)
from baas_auth.realm import AsyncRealm, LayoutUpgradeWarning, Realm
from baas_auth.realm.state import RealmOptions
from baas_auth.redaction import RedactSecretsFilter
from baas_auth.stores.memory import MemoryStore
from baas_auth.stores.protocols import AsyncStore, Store
from baas_auth.stores.sqlite import SQLiteStore

__version__ = "0.1.0"

_moved.install()  # old module paths keep working, with a DeprecationWarning, for one release

__all__ = [
    "AdminUser",
    "App",
    "AsyncRealm",
    "AsyncStore",
    "AuthError",
    "BaasAuthError",
    "ClientCredentials",
    "ClientInfo",
    "ConfigError",
    "DecisionEvent",
    "Explanation",
    "Group",
    "ImportEntry",
    "ImportReport",
    "InvalidTokenError",
    "LayoutUpgradeWarning",
    "LoginThrottle",
    "MemoryStore",
    "Org",
    "PasswordHasher",
    "Principal",
    "Realm",
    "RealmOptions",
    "RedactSecretsFilter",
    "Role",
    "Rule",
    "SQLiteStore",
    "SigningKey",
    "SourcedRule",
    "Store",
    "StoreError",
    "TokenGrant",
    "TokenInfo",
    "User",
    "UserToken",
    "__version__",
]

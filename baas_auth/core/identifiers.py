"""Name rules of the directory, written once: which org, app, role, group and user names are
valid, which are reserved, and how a name is *folded* into the key of its claim.

A claim's key is the name folded (``fold``: NFKC and case folding, invisible characters removed),
so two names that look alike (a fullwidth full stop and ``.``, the ligature fi and ``fi``) are one
claim; an ASCII name folds to its lower case, the key earlier versions wrote. Pure.
"""

from __future__ import annotations

import re
import unicodedata
import uuid as uuid_module

from baas_auth.errors import ConfigError

_ORG_APP_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")
_ROLE_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_GROUP_PATH = re.compile(r"(/[A-Za-z0-9][A-Za-z0-9._-]{0,63}){1,8}")
_EMAIL = re.compile(r"[^\s@]{1,64}@[^\s@]{1,255}")
# Any spelling Python's uuid.UUID() accepts as a whole, so no username can pass for a uuid.
_UUID_LIKE = re.compile(
    r"(?i)(?:urn:uuid:)?\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?"
)
_CLIENT_ID = re.compile(r"[\x21-\x7e]{1,256}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
RESERVED_ORGS = frozenset({"management"})
RESERVED_USERNAMES = frozenset({"me"})


# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): characters that show
# nothing, which NFKC_Casefold removes, so that "ca\u00adrol" is "carol".
_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
_FOLD_ROUNDS = 3  # NFKC and case folding settle in one or two rounds; a bound all the same


def fold(name: str) -> str:
    """The form in which usernames and emails are compared (behaviour §1): Unicode's
    NFKC_Casefold, as Python spells it — invisible characters removed, NFKC, case folded,
    NFKC again, until nothing changes. ``CAROL@X\uff0eIO`` (a fullwidth full stop),
    ``carol@x\u2024io`` (a dot leader) and ``carol@x.io`` fold alike, as do the ligature
    ``\ufb01`` and ``fi``, the Kelvin sign and ``k``, ``\u00df`` and ``ss``. An ASCII name folds
    to its lower case."""
    if name.isascii():
        return name.lower()
    folded = name
    for _ in range(_FOLD_ROUNDS):
        again = unicodedata.normalize("NFKC", _IGNORABLE.sub("", folded))
        again = unicodedata.normalize("NFKC", again.casefold())
        if again == folded:
            break
        folded = again
    return folded


def org_or_app_name(name: str, what: str) -> str:
    """The canonical (lower-case) org or app name, or ConfigError."""
    lowered = name.lower() if isinstance(name, str) else ""
    if not _ORG_APP_NAME.fullmatch(lowered):
        raise ConfigError(f"{what} names match [a-z0-9][a-z0-9_.-]* (up to 64 characters)")
    return lowered


def new_org_name(name: str) -> str:
    lowered = new_app_name(name, "organization")
    if lowered in RESERVED_ORGS:
        raise ConfigError(f"the organization name {lowered!r} is reserved")
    return lowered


def new_app_name(name: str, what: str = "application") -> str:
    """The name of a new org or app; never the form of a uuid, which addresses one in a path
    (``/{org-uuid}/{app-uuid}/…``), so a segment is a name or a uuid without doubt."""
    lowered = org_or_app_name(name, what)
    if looks_like_uuid(lowered):
        raise ConfigError(f"the {what} name {lowered!r} has the form of a uuid, which names one")
    return lowered


def username(name: str) -> str:
    """A valid username as given (case kept), or ConfigError; wildcards can never pass, and
    neither can the form of a uuid (a uuid names exactly one user, its own)."""
    if not isinstance(name, str) or not _USERNAME.fullmatch(name):
        raise ConfigError("usernames match [A-Za-z0-9][A-Za-z0-9._@+-]* (up to 128 characters)")
    if name.lower() in RESERVED_USERNAMES:
        raise ConfigError(f"the username {name!r} is reserved")
    if looks_like_uuid(name):
        raise ConfigError(f"the username {name!r} has the form of a uuid, which names users")
    return name


def looks_like_uuid(text: str) -> bool:
    """Whether ``text`` is any spelling of a uuid (hyphens or not, braces, ``urn:uuid:``)."""
    return _UUID_LIKE.fullmatch(text) is not None


def is_uuid(text: str) -> bool:
    """Whether ``text`` is a uuid as this library writes them (lower-case, hyphenated)."""
    return _UUID.fullmatch(text) is not None


def derived_uuid(app_uuid: str, kind: str, name: str) -> str:
    """The uuid of a role or group whose record has none (``kind`` ``role`` or ``group``; a
    record of an earlier version): a version-5 uuid of its app's uuid and its lower-cased
    name, so every process and every store reads the same one without it being written."""
    try:
        namespace = uuid_module.UUID(app_uuid)
    except ValueError:  # an app record always holds a uuid; a foreign one still gets a name
        namespace = uuid_module.uuid5(uuid_module.NAMESPACE_URL, app_uuid)
    return str(uuid_module.uuid5(namespace, f"{kind}:{name.lower()}"))


def identifier(text: object) -> str | None:
    """``text`` folded (``fold``) if it could name an account (a username, an email or a
    uuid), else None: a value no account can have is never sent to the store."""
    if not isinstance(text, str) or not text.isprintable() or len(text) > 321:
        return None
    if _USERNAME.fullmatch(text) or _EMAIL.fullmatch(text) or _UUID.fullmatch(text.lower()):
        return fold(text)
    return None


def is_text(value: str) -> bool:
    """Whether ``value`` is Unicode text that UTF-8 can carry: JSON's ``"\\ud800"`` decodes to a
    lone surrogate, which no store, hash or log line can take as it is."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_client_id(text: object) -> bool:
    """Whether ``text`` could be a client_id (visible ASCII): anything else is unknown at once,
    without a store read."""
    return isinstance(text, str) and _CLIENT_ID.fullmatch(text) is not None


def role_name(name: str) -> str:
    lowered = name.lower() if isinstance(name, str) else ""
    if not _ROLE_NAME.fullmatch(lowered):
        raise ConfigError("role names match [a-z0-9][a-z0-9_.-]* (up to 64 characters)")
    return lowered


def group_path(path: str) -> str:
    if not isinstance(path, str) or not _GROUP_PATH.fullmatch(path):
        raise ConfigError("group paths look like /staff or /staff/editors")
    return path


def email(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _EMAIL.fullmatch(value):
        raise ConfigError("not an email address")
    return value



def text_or_empty(value: object) -> str:
    """``value`` if it is text, else the empty string: a name or secret of the wrong type then
    fails the check it meets like a wrong one, in the same time."""
    return value if isinstance(value, str) else ""

"""Users, argon2id passwords and API tokens; the `Principal` a credential stands for.

Service functions take the session and never commit. Passwords are hashed with argon2id
(argon2-cffi's defaults, RFC 9106's second recommendation); API tokens are random 256-bit
secrets stored only as their SHA-256, shown once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from catalog.auth_models import UserSession
from catalog.errors import ConflictError, InvalidQueryError, NotFoundError
from catalog.models import ApiToken, User
from catalog.schemas import Principal, Role

USER_ROLES = (Role.PI, Role.STAFF, Role.ADMIN)
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
TOKEN_PREFIX = "fct_"  # noqa: S105 - a prefix, not a secret
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
_LAST_USED_RESOLUTION = timedelta(minutes=5)


@cache
def password_hasher() -> PasswordHasher:
    """The argon2id hasher (built on first use, not at import)."""
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    return password_hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An argon2id hash of `password` after checking its length."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidQueryError(
            f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )
    return password_hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash` (spends the same time when there is none)."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return password_hasher().verify(password_hash or _dummy_hash(), password) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def hash_token(token: str) -> str:
    """The stored form of a bearer secret (tokens are random, so a fast hash suffices)."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_username(username: str) -> str:
    """The stored form of a user name (lower case), or an `InvalidQueryError`."""
    name = username.strip().lower()
    if not _USERNAME.match(name):
        raise InvalidQueryError(
            "a user name has 1 to 64 characters: letters, digits, '.', '_', '@', '-'"
        )
    return name


def get_user(session: Session, username: str) -> User:
    """The user named `username`, or `NotFoundError`."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    return user


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str | None = None,
    now: datetime | None = None,
) -> User:
    """Add a user (PI, staff or admin) with an argon2id password hash."""
    role = Role(role)
    if role not in USER_ROLES:
        raise InvalidQueryError("a user's role is pi, staff or admin")
    name = normalise_username(username)
    if session.scalar(select(User.id).where(User.username == name)) is not None:
        raise ConflictError(f"user {name!r} exists already")
    user = User(
        username=name,
        display_name=display_name or name,
        role=role.value,
        password_hash=hash_password(password),
        active=True,
        created_at=now or datetime.now(UTC),
    )
    session.add(user)
    session.flush()
    return user


def list_users(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.scalars(select(User).order_by(User.username)))


def set_password(session: Session, user: User, password: str) -> None:
    """Change a user's password and end their web sessions."""
    user.password_hash = hash_password(password)
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))


def set_role(session: Session, user: User, role: Role) -> None:
    """Change a user's role."""
    if Role(role) not in USER_ROLES:
        raise InvalidQueryError("a user's role is pi, staff or admin")
    user.role = Role(role).value


def set_active(session: Session, user: User, active: bool) -> None:
    """Enable or disable a user; disabling ends their sessions."""
    user.active = active
    if not active:
        session.execute(delete(UserSession).where(UserSession.user_id == user.id))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user whose name and password match, else None (argon2id, constant effort)."""
    try:
        name = normalise_username(username)
    except InvalidQueryError:
        verify_password(None, password)
        return None
    user = session.scalar(select(User).where(User.username == name))
    if user is None or not user.active:
        verify_password(None, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    assert user.password_hash is not None
    if password_hasher().check_needs_rehash(user.password_hash):
        user.password_hash = password_hasher().hash(password)
    return user


def issue_api_token(
    session: Session,
    user: User,
    *,
    name: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> str:
    """A new API token of `user`; the plaintext is returned once and stored only hashed."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id,
            name=name[:100],
            token_hash=hash_token(token),
            created_at=now,
            expires_at=expires_at,
            revoked=False,
        )
    )
    session.flush()
    return token


def list_api_tokens(session: Session, user: User) -> list[ApiToken]:
    """The tokens of `user`, newest first (hashes only)."""
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    return list(session.scalars(query))


def revoke_api_token(session: Session, user: User, token_id: int) -> None:
    """Revoke one of `user`'s tokens, or `NotFoundError`."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFoundError(f"no token {token_id} of {user.username!r}")
    token.revoked = True


def principal_for_user(user: User) -> Principal:
    """The principal a signed-in user acts as."""
    return Principal(user_id=user.id, username=user.username, role=Role(user.role))


def principal_for_token(session: Session, token: str, now: datetime) -> Principal | None:
    """The principal of a valid, unexpired, unrevoked API token of an active user, else None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(token))
    ).first()
    if row is None:
        return None
    api_token, user = row
    if api_token.revoked or not user.active:
        return None
    if api_token.expires_at is not None and api_token.expires_at <= now:
        return None
    if api_token.last_used_at is None or now - api_token.last_used_at > _LAST_USED_RESOLUTION:
        api_token.last_used_at = now
    return principal_for_user(user)

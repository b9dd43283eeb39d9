"""Accounts: users with roles, Argon2 passwords, API tokens, and login throttling."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.accounts.models import (
    ApiToken,
    LoginAttempt,
    Role,
    User,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from meetings.core.errors import Conflict, FieldProblem, Invalid, NotFound, TooManyAttempts
from meetings.core.store import bump_version, id_of, utcnow

_hasher = PasswordHasher()
TOKEN_PREFIX = "gb_"  # noqa: S105 (a visible prefix, so leaked tokens are recognisable)


@cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so timing does not reveal user names."""
    return _hasher.hash("not-a-real-password-but-a-timing-equaliser")


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int
    max_failures_per_address: int
    window: timedelta


async def hash_password(password: str) -> str:
    """Argon2 takes ~0.2 s of CPU: run it off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, _hasher.hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.get_running_loop().run_in_executor(None, check)


async def create_user(session: AsyncSession, data: UserCreate) -> UserPublic:
    if (
        await session.scalar(select(col(User.id)).where(col(User.username) == data.username))
        is not None
    ):
        raise Conflict(f"user {data.username!r} already exists", field="username")
    user = User.model_validate(
        data.model_dump(exclude={"password"}),
        update={"password_hash": await hash_password(data.password)},
    )
    session.add(user)
    await session.flush()
    return UserPublic.model_validate(user)


async def list_users(session: AsyncSession) -> list[UserPublic]:
    users = await session.scalars(select(User).order_by(col(User.username)))
    return [UserPublic.model_validate(u) for u in users]


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    return user


async def user_by_name(session: AsyncSession, username: str) -> User:
    user = await session.scalar(select(User).where(col(User.username) == username))
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


async def update_user(session: AsyncSession, user_id: int, data: UserUpdate) -> UserPublic:
    user = await get_user(session, user_id)
    changes = data.model_dump(exclude_unset=True, exclude={"version", "password"})
    if changes.get("role", user.role) != Role.admin or changes.get("is_active") is False:
        await _keep_one_admin(session, user)
    await bump_version(session, user, data.version)
    for key, value in changes.items():
        setattr(user, key, value)
    if data.password:
        user.password_hash = await hash_password(data.password)
    await session.flush()
    return UserPublic.model_validate(user)


async def _keep_one_admin(session: AsyncSession, user: User) -> None:
    """Refuse to demote or deactivate the last active admin: nobody could manage users."""
    if user.role != Role.admin or not user.is_active:
        return
    admins = await session.scalar(
        select(func.count()).where(col(User.role) == Role.admin, col(User.is_active).is_(True))
    )
    if (admins or 0) <= 1:
        raise Invalid(
            "last admin", [FieldProblem("role", "the last active admin must stay an admin")]
        )


async def authenticate(
    session: AsyncSession, *, username: str, password: str, address: str, policy: LoginPolicy
) -> User | None:
    """The active user with these credentials, or None; throttled per name and per address.

    Failures are rows, not process memory, so several workers share one count.
    """
    since = utcnow() - policy.window
    by_name = await session.scalar(
        select(func.count()).where(
            col(LoginAttempt.username) == username, col(LoginAttempt.at) >= since
        )
    )
    by_address = await session.scalar(
        select(func.count()).where(
            col(LoginAttempt.address) == address, col(LoginAttempt.at) >= since
        )
    )
    if (by_name or 0) >= policy.max_failures or (
        by_address or 0
    ) >= policy.max_failures_per_address:
        raise TooManyAttempts(
            "too many failed logins; wait before trying again",
            retry_after_seconds=int(policy.window.total_seconds()),
        )
    user = await session.scalar(select(User).where(col(User.username) == username))
    ok = await _verify(user.password_hash if user else _dummy_hash(), password)
    if not ok or user is None or not user.is_active:
        session.add(LoginAttempt(username=username[:64], address=address[:64]))
        return None
    await session.execute(delete(LoginAttempt).where(col(LoginAttempt.username) == username))
    user.last_login_at = utcnow()
    return user


def _token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough to make a stolen table useless.
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(session: AsyncSession, *, username: str, name: str = "") -> str:
    """A new bearer token for the user; the plain value is shown once and never stored."""
    user = await user_by_name(session, username)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=id_of(user), name=name[:100], token_hash=_token_hash(token)))
    await session.flush()
    return token


async def user_for_token(session: AsyncSession, token: str) -> User | None:
    row = await session.scalar(
        select(ApiToken).where(
            col(ApiToken.token_hash) == _token_hash(token),
            col(ApiToken.revoked_at).is_(None),
        )
    )
    if row is None:
        return None
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    row.last_used_at = utcnow()
    return user


async def revoke_tokens(session: AsyncSession, *, username: str) -> int:
    user = await user_by_name(session, username)
    rows = (
        await session.scalars(
            select(ApiToken).where(
                col(ApiToken.user_id) == user.id, col(ApiToken.revoked_at).is_(None)
            )
        )
    ).all()
    for row in rows:
        row.revoked_at = utcnow()
    return len(rows)

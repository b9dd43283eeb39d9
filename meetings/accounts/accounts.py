"""Accounts: users with roles, Argon2 passwords, API tokens, and login throttling."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select, update
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
from meetings.accounts.throttle import LoginPolicy, LoginTurn, refuse_if_throttled
from meetings.core.errors import Conflict, FieldProblem, Invalid, NotFound
from meetings.core.labels import N_
from meetings.core.store import bump_version, id_of, key_col, utcnow
from meetings.register.models import Cluster

_hasher = PasswordHasher()
#: A token's last use is recorded at most this often: a read with a token must not write.
TOKEN_USE_EVERY = timedelta(minutes=1)
TOKEN_PREFIX = "gb_"  # noqa: S105 (a visible prefix, so leaked tokens are recognisable)


@cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so timing does not reveal user names."""
    return _hasher.hash("not-a-real-password-but-a-timing-equaliser")


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
        raise Conflict.at(
            "username", N_("user {username} already exists"), username=repr(data.username)
        )
    cluster_id = await _leader_cluster(session, data.role, data.cluster_id)
    user = User.model_validate(
        data.model_dump(exclude={"password", "cluster_id"}),
        update={"password_hash": await hash_password(data.password), "cluster_id": cluster_id},
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
        raise NotFound.of(N_("no user with id {user_id}"), user_id=user_id)
    return user


async def user_by_name(session: AsyncSession, username: str) -> User:
    user = await session.scalar(select(User).where(col(User.username) == username))
    if user is None:
        raise NotFound.of(N_("no user named {username}"), username=repr(username))
    return user


async def update_user(session: AsyncSession, user_id: int, data: UserUpdate) -> UserPublic:
    user = await get_user(session, user_id)
    changes = data.model_dump(exclude_unset=True, exclude={"version", "password"})
    if changes.get("role", user.role) != Role.admin or changes.get("is_active") is False:
        await _keep_one_admin(session, user)
    changes["cluster_id"] = await _leader_cluster(
        session, changes.get("role", user.role), changes.get("cluster_id", user.cluster_id)
    )
    await bump_version(session, user, data.version)
    for key, value in changes.items():
        setattr(user, key, value)
    if data.password:
        user.password_hash = await hash_password(data.password)
    if data.password or not user.is_active:
        user.session_generation += 1  # whoever held the old password or account is out
    await session.flush()
    return UserPublic.model_validate(user)


async def _leader_cluster(session: AsyncSession, role: Role, cluster_id: int | None) -> int | None:
    """A cluster leader's account names an existing cluster; other roles have none."""
    if role != Role.cluster_leader:
        return None
    if cluster_id is None:
        raise Invalid(
            "no cluster",
            [FieldProblem("cluster_id", N_("a cluster leader needs its cluster"))],
        )
    if await session.get(Cluster, cluster_id) is None:
        raise Invalid(
            "unknown cluster",
            [FieldProblem.of("cluster_id", N_("no cluster {cluster_id}"), cluster_id=cluster_id)],
        )
    return cluster_id


async def _keep_one_admin(session: AsyncSession, user: User) -> None:
    """Refuse to demote or deactivate the last active admin: nobody could manage users."""
    if user.role != Role.admin or not user.is_active:
        return
    admins = await session.scalar(
        select(func.count()).where(col(User.role) == Role.admin, col(User.is_active).is_(True))
    )
    if (admins or 0) <= 1:
        raise Invalid(
            "last admin", [FieldProblem("role", N_("the last active admin must stay an admin"))]
        )


async def authenticate(
    session: AsyncSession, *, turn: LoginTurn, password: str, policy: LoginPolicy
) -> User | None:
    """The active user with these credentials, or None; a throttled name or address is
    refused (TooManyAttempts) before any hash is computed."""
    await refuse_if_throttled(session, turn=turn, policy=policy)
    user = await session.scalar(select(User).where(col(User.username) == turn.username))
    ok = await _verify(user.password_hash if user else _dummy_hash(), password)
    if not ok or user is None or not user.is_active:
        session.add(LoginAttempt(username=turn.username[:64], address=turn.address[:64]))
        return None
    await session.execute(delete(LoginAttempt).where(col(LoginAttempt.username) == turn.username))
    user.last_login_at = utcnow()
    return user


async def end_sessions(session: AsyncSession, *, user_id: int) -> None:
    """Every login cookie of the user stops working (logout: a copied cookie is dead too)."""
    await session.execute(
        update(User)
        .where(col(User.id) == user_id)
        .values(session_generation=col(User.session_generation) + 1)
    )


def token_hash(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough to make a stolen table useless.
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(session: AsyncSession, *, username: str, name: str = "") -> str:
    """A new bearer token for the user; the plain value is shown once and never stored."""
    user = await user_by_name(session, username)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=id_of(user), name=name[:100], token_hash=token_hash(token)))
    await session.flush()
    return token


@dataclass(frozen=True)
class TokenCaller:
    """Whom a bearer token speaks for, and when its use was last recorded."""

    user: User
    token_id: int
    last_used_at: datetime | None

    def use_is_news(self, now: datetime) -> bool:
        """Worth recording: use is kept coarsely, so reading with a token writes nothing."""
        return self.last_used_at is None or now - self.last_used_at >= TOKEN_USE_EVERY


async def token_caller(session: AsyncSession, token: str) -> TokenCaller | None:
    """The active user a live token belongs to; reads only (see record_token_use)."""
    found = (
        await session.execute(
            select(User, key_col(ApiToken.id), col(ApiToken.last_used_at))
            .join(ApiToken, col(ApiToken.user_id) == col(User.id))
            .where(
                col(ApiToken.token_hash) == token_hash(token),
                col(ApiToken.revoked_at).is_(None),
                col(User.is_active),
            )
        )
    ).first()
    if found is None:
        return None
    user, token_id, last_used_at = found
    return TokenCaller(user, token_id, last_used_at)


async def record_token_use(session: AsyncSession, *, token_id: int, at: datetime) -> None:
    """Note the token's use unless it was noted less than TOKEN_USE_EVERY ago (by any worker)."""
    await session.execute(
        update(ApiToken)
        .where(
            col(ApiToken.id) == token_id,
            or_(
                col(ApiToken.last_used_at).is_(None),
                col(ApiToken.last_used_at) <= at - TOKEN_USE_EVERY,
            ),
        )
        .values(last_used_at=at)
    )


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

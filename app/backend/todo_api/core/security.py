"""Password hashing (Argon2 via pwdlib) and HS256 access tokens (PyJWT)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from pwdlib import PasswordHash

ALGORITHM = "HS256"

_hasher = PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher.verify(password, password_hash)


@dataclass(frozen=True)
class TokenSigner:
    """Issues and checks access tokens whose `sub` is the user id."""

    secret: str
    ttl: timedelta

    def __repr__(self) -> str:  # never show the secret
        return f"TokenSigner(ttl={self.ttl!r})"

    def issue(self, user_id: int, now: datetime | None = None) -> str:
        issued = now or datetime.now(UTC)
        claims = {"sub": str(user_id), "iat": issued, "exp": issued + self.ttl}
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def user_id(self, token: str) -> int | None:
        """The user id in a valid, unexpired token; None for anything else."""
        try:
            claims = jwt.decode(token, self.secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
            return int(claims["sub"])
        except (jwt.PyJWTError, ValueError, TypeError):
            return None

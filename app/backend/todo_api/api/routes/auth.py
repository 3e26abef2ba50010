"""Register, log in, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from todo_api.api.deps import CurrentUser, SessionDep
from todo_api.api.schemas import Credentials, LoginBody, TokenOut, UserOut
from todo_api.core.security import hash_password, verify_password
from todo_api.models import User

router = APIRouter(prefix="/api/auth", tags=["auth"])

# Checked when the email is unknown, so both failures take about as long.
_DUMMY_HASH = hash_password("not-a-real-password")


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserOut)
def register(body: Credentials, session: SessionDep) -> User:
    if session.exec(select(User).where(User.email == body.email)).first() is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="Email already registered")
    user = User(email=body.email, password_hash=hash_password(body.password))
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, detail="Email already registered") from None
    session.refresh(user)
    return user


@router.post("/login", response_model=TokenOut)
def login(body: LoginBody, session: SessionDep, request: Request) -> TokenOut:
    user = session.exec(select(User).where(User.email == body.email)).first()
    valid = verify_password(body.password, user.password_hash if user else _DUMMY_HASH)
    if user is None or not valid:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect email or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return TokenOut(access_token=request.app.state.signer.issue(user.id))


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> User:
    return user

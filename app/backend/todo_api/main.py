"""The application factory.

create_app(settings)            -> FastAPI   (raises InvalidSettings when unfit to run)
uvicorn todo_api.main:app       builds the app from the environment on first access
python -m todo_api              the same, served on HOST:PORT with graceful shutdown
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from todo_api import __version__
from todo_api.access_log import AccessLogMiddleware
from todo_api.api.routes import auth, chat, health, tasks
from todo_api.chat.cohere import CohereClient
from todo_api.core.config import InvalidSettings, Settings, check_settings, effective_jwt_secret
from todo_api.core.security import TokenSigner
from todo_api.db import Database
from todo_api.logging_json import REDACTOR, configure_logging

log = logging.getLogger("todo_api")


def _register_secrets(settings: Settings) -> None:
    """Tell the log redactor every secret value this process knows."""
    raw_url = settings.database_url.get_secret_value()
    try:
        password = make_url(raw_url).password
    except Exception:  # noqa: BLE001 - an unparseable URL has no password to find
        password = None
    REDACTOR.register(
        settings.jwt_secret.get_secret_value(),
        settings.cohere_api_key.get_secret_value(),
        str(password) if password else None,
    )


def create_app(
    settings: Settings | None = None,
    *,
    enforce_config: bool = True,
    cohere_transport: httpx.BaseTransport | None = None,
) -> FastAPI:
    """Build the app. With `enforce_config` (the default) unfit settings raise InvalidSettings;
    without it the app starts and /ready reports the problem instead."""
    settings = settings or Settings()
    _register_secrets(settings)
    problems = check_settings(settings)
    if problems and enforce_config:
        raise InvalidSettings(problems)

    db = Database(settings.database_url.get_secret_value())
    cohere = (
        CohereClient(
            api_key=settings.cohere_api_key.get_secret_value(),
            model=settings.cohere_model,
            base_url=settings.cohere_base_url,
            timeout_seconds=settings.cohere_timeout_seconds,
            transport=cohere_transport,
        )
        if settings.cohere_enabled
        else None
    )
    jwt_secret = effective_jwt_secret(settings)
    REDACTOR.register(jwt_secret)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.jwt_secret.get_secret_value():
            log.warning("JWT_SECRET is not set: tokens are signed with a per-process secret")
        for problem in problems:
            log.error("invalid configuration", extra={"key": problem.key, "reason": problem.reason})
        await run_in_threadpool(db.ensure_schema)
        log.info(
            "started",
            extra={
                "version": __version__,
                "environment": settings.environment.value,
                "database": db.redacted_url,
                "chat_engine": "cohere" if cohere else "local",
                "feature_flags": sorted(settings.flags),
            },
        )
        try:
            yield
        finally:
            db.dispose()
            log.info("stopped")

    app = FastAPI(title="Todo AI Chatbot API", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.config_problems = problems
    app.state.db = db
    app.state.cohere = cohere
    app.state.signer = TokenSigner(jwt_secret, timedelta(minutes=settings.jwt_expire_minutes))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the input back; a password must not travel back in a response.
        errors = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
            for err in exc.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": errors})

    @app.exception_handler(SQLAlchemyError)
    async def database_error(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        orig = getattr(exc, "orig", None) or exc
        log.error("database error", extra={"path": request.url.path, "error": type(orig).__name__})
        return JSONResponse(status_code=503, content={"detail": "Database unavailable"})

    for router in (health.router, auth.router, tasks.router, chat.router):
        app.include_router(router)
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(AccessLogMiddleware)
    return app


def app_from_environment() -> FastAPI:
    """Settings from the environment, JSON logging, the app; exit 2 naming the keys if unfit."""
    settings = Settings()
    configure_logging(settings.log_level.value)
    try:
        return create_app(settings)
    except InvalidSettings as exc:
        log.critical("refusing to start: %s", exc, extra={"keys": [p.key for p in exc.problems]})
        raise SystemExit(2) from None


def __getattr__(name: str) -> FastAPI:
    # `uvicorn todo_api.main:app` reads this attribute; importing the module alone builds nothing.
    if name == "app":
        built = app_from_environment()
        globals()["app"] = built
        return built
    raise AttributeError(name)

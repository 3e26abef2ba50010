"""Liveness (/health: no dependencies) and readiness (/ready: config valid and SELECT 1 works)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
def ready(request: Request) -> JSONResponse:
    problems = request.app.state.config_problems
    if problems:
        keys = ", ".join(sorted({p.key for p in problems}))
        return JSONResponse(status_code=503, content={"status": "not ready", "reason": f"invalid config: {keys}"})
    reason = request.app.state.db.ping()
    if reason is not None:
        return JSONResponse(status_code=503, content={"status": "not ready", "reason": reason})
    return JSONResponse(status_code=200, content={"status": "ready"})

"""`python -m todo_api`: serve on HOST:PORT (default 0.0.0.0:8000) until SIGTERM or SIGINT."""

from __future__ import annotations

import json
import sys

import uvicorn
from pydantic import ValidationError

from todo_api.core.config import Settings
from todo_api.main import app_from_environment


def main() -> int:
    try:
        settings = Settings()
    except ValidationError as exc:
        keys = sorted({str(err["loc"][0]).upper() for err in exc.errors() if err.get("loc")})
        print(json.dumps({"level": "CRITICAL", "msg": "invalid settings", "keys": keys}))
        return 2
    app = app_from_environment()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
    )
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())

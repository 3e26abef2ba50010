# The backend image: the FastAPI todo API (app/backend), served on port 8000.
#   docker build -f docker/backend.Dockerfile app/backend     (context: app/backend, see its .dockerignore)
# Classic-builder syntax only (docker-py builds it): no `# syntax=`, no RUN --mount, no COPY --chmod.
# Runs as 10001:10001 on a read-only root filesystem; the only writable path it needs is /tmp.

ARG PYTHON_IMAGE=python:3.11-slim

# --- dependencies: a virtual environment with the pinned requirements, nothing else -------------
FROM ${PYTHON_IMAGE} AS deps
# A build stage never runs as a container.
HEALTHCHECK NONE
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /build
COPY requirements.txt .
# Wheels only (the runtime has no compiler); pip and setuptools leave the venv once it is filled,
# and everything is compiled to bytecode now because the running container cannot write it.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --only-binary=:all: --no-compile -r requirements.txt \
 && /opt/venv/bin/pip uninstall --yes pip setuptools \
 && find /opt/venv -depth -name '__pycache__' -type d -exec rm -rf {} + \
 && python -m compileall -q -j 0 /opt/venv/lib

# --- runtime: the venv and the application source ---------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
WORKDIR /app
COPY --from=deps /opt/venv /opt/venv
COPY todo_api ./todo_api
RUN python -m compileall -q /app/todo_api
USER 10001:10001
EXPOSE 8000
# Liveness (/health has no dependencies); python's own urllib, no curl in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"]
# `python -m todo_api` is uvicorn on HOST:PORT with a graceful SIGTERM shutdown (app/backend/README.md).
CMD ["python", "-m", "todo_api"]

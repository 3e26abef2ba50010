# The frontend image: the Next.js 15 app (app/frontend) as a standalone server on port 3000.
#   docker build -f docker/frontend.Dockerfile app/frontend   (context: app/frontend, see its .dockerignore)
# Classic-builder syntax only (docker-py builds it): no `# syntax=`, no RUN --mount, no COPY --chmod.
# Runs as 10001:10001 on a read-only root filesystem; writable: /tmp and /app/.next/cache.

ARG NODE_IMAGE=node:22-slim

# --- build: the lock file's packages (own layer, cached while package*.json are unchanged), then
# `next build` with output "standalone". One stage: copying node_modules between stages costs more
# than it saves, and nothing of it reaches the runtime stage except what Next traced.
FROM ${NODE_IMAGE} AS build
# A build stage never runs as a container.
HEALTHCHECK NONE
ENV NEXT_TELEMETRY_DISABLED=1
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
RUN npm run build

# --- runtime: the standalone server, its traced node_modules and the static assets -------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NEXT_TELEMETRY_DISABLED=1 \
    PORT=3000 \
    HOSTNAME=0.0.0.0 \
    HOME=/tmp
WORKDIR /app
COPY --from=build /app/public ./public
COPY --from=build /app/.next/standalone ./
COPY --from=build /app/.next/static ./.next/static
USER 10001:10001
EXPOSE 3000
# Liveness (/api/health answers without the backend); node's own fetch, no curl in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/api/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "server.js"]

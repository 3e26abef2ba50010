/**
 * Server-side access to the backend API. Only route handlers import this module.
 *
 * BACKEND_URL is read from the environment on every request (never inlined at build time), so
 * one image works wherever the backend lives: a Kubernetes Service name set by a ConfigMap, or
 * a local port in development.
 */

export const DEFAULT_BACKEND_URL = "http://localhost:8000";

/** Request headers passed on to the backend; everything else stays at the frontend. */
const FORWARDED_REQUEST_HEADERS = ["authorization", "content-type", "accept", "x-request-id"];

/** Response headers passed back to the browser (the body is re-encoded, so no length/encoding). */
const FORWARDED_RESPONSE_HEADERS = ["content-type", "www-authenticate", "retry-after", "x-request-id"];

const HEALTH_TIMEOUT_MS = 5_000;
const API_TIMEOUT_MS = 60_000;

export function backendUrl(env: NodeJS.ProcessEnv = process.env): string {
  const raw = (env.BACKEND_URL ?? "").trim();
  return (raw === "" ? DEFAULT_BACKEND_URL : raw).replace(/\/+$/, "");
}

/**
 * The backend path for the segments of `/api/[...path]`, or null when a segment could escape
 * the `/api` prefix. Each segment is re-encoded so it stays one path segment upstream.
 */
export function apiPath(segments: readonly string[]): string | null {
  if (segments.length === 0) return null;
  for (const segment of segments) {
    if (segment === "" || segment === "." || segment === "..") return null;
  }
  return "/api/" + segments.map(encodeURIComponent).join("/");
}

function pick(headers: Headers, names: readonly string[]): Headers {
  const out = new Headers();
  for (const name of names) {
    const value = headers.get(name);
    if (value !== null) out.set(name, value);
  }
  return out;
}

function jsonError(status: number, detail: string): Response {
  return Response.json({ detail }, { status, headers: { "cache-control": "no-store" } });
}

function hasNoBody(status: number): boolean {
  return status === 204 || status === 205 || status === 304;
}

async function relay(upstream: Response): Promise<Response> {
  const headers = pick(upstream.headers, FORWARDED_RESPONSE_HEADERS);
  headers.set("cache-control", "no-store");
  const body = hasNoBody(upstream.status) ? null : await upstream.arrayBuffer();
  return new Response(body, { status: upstream.status, headers });
}

/** Forward one browser request to `${BACKEND_URL}${path}` and relay the answer. */
export async function proxyToBackend(request: Request, path: string): Promise<Response> {
  const search = new URL(request.url).search;
  const target = `${backendUrl()}${path}${search}`;
  const method = request.method.toUpperCase();
  const body = method === "GET" || method === "HEAD" ? undefined : await request.arrayBuffer();
  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method,
      headers: pick(request.headers, FORWARDED_REQUEST_HEADERS),
      body: body && body.byteLength > 0 ? body : undefined,
      cache: "no-store",
      redirect: "manual",
      signal: AbortSignal.timeout(API_TIMEOUT_MS),
    });
  } catch {
    return jsonError(502, "The backend is unreachable.");
  }
  return relay(upstream);
}

/** The backend's own /health answer (status and body), or 502 when it cannot be reached. */
export async function backendHealth(): Promise<Response> {
  let upstream: Response;
  try {
    upstream = await fetch(`${backendUrl()}/health`, {
      cache: "no-store",
      redirect: "manual",
      signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
    });
  } catch {
    return Response.json(
      { status: "unavailable", detail: "The backend is unreachable." },
      { status: 502, headers: { "cache-control": "no-store" } },
    );
  }
  return relay(upstream);
}

/**
 * Browser-side calls to the frontend's own /api/* routes (which proxy to the backend).
 * Every call sends the bearer token when there is one; a 401 raises UnauthorizedError so the
 * page can sign the user out.
 */
import { getToken } from "./session";
import type { ChatResponse, Task, TokenResponse, User } from "./types";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export class UnauthorizedError extends ApiError {
  constructor(message: string) {
    super(message, 401);
    this.name = "UnauthorizedError";
  }
}

/** A readable message from a FastAPI error body ({"detail": str | [{msg}]}) or the status. */
export function errorMessage(body: unknown, status: number): string {
  if (body && typeof body === "object" && "detail" in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      const messages = detail
        .map((item) => (item && typeof item === "object" && "msg" in item ? String(item.msg) : ""))
        .filter(Boolean);
      if (messages.length > 0) return messages.join("; ");
    }
  }
  return `Request failed (HTTP ${status}).`;
}

/** The task list, whether the backend answers with a bare array or wraps it in an object. */
export function taskArray(body: unknown): Task[] {
  if (Array.isArray(body)) return body as Task[];
  if (body && typeof body === "object") {
    for (const key of ["tasks", "items"]) {
      const value = (body as Record<string, unknown>)[key];
      if (Array.isArray(value)) return value as Task[];
    }
  }
  return [];
}

async function request<T>(method: string, path: string, payload?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (payload !== undefined) headers["content-type"] = "application/json";

  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: payload === undefined ? undefined : JSON.stringify(payload),
      cache: "no-store",
    });
  } catch {
    throw new ApiError("Cannot reach the server. Check your connection and try again.", 0);
  }

  const text = await response.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (response.status === 401) throw new UnauthorizedError(errorMessage(body, 401));
  if (!response.ok) throw new ApiError(errorMessage(body, response.status), response.status);
  return body as T;
}

export const api = {
  register: (email: string, password: string) =>
    request<User>("POST", "/api/auth/register", { email, password }),
  login: (email: string, password: string) =>
    request<TokenResponse>("POST", "/api/auth/login", { email, password }),
  me: () => request<User>("GET", "/api/auth/me"),
  listTasks: async () => taskArray(await request<unknown>("GET", "/api/tasks")),
  addTask: (title: string) => request<Task>("POST", "/api/tasks", { title }),
  setCompleted: (id: number, completed: boolean) =>
    request<Task>("PATCH", `/api/tasks/${encodeURIComponent(String(id))}`, { completed }),
  deleteTask: (id: number) =>
    request<null>("DELETE", `/api/tasks/${encodeURIComponent(String(id))}`),
  chat: (message: string, conversationId: ChatResponse["conversation_id"] | null) =>
    request<ChatResponse>(
      "POST",
      "/api/chat",
      conversationId === null ? { message } : { message, conversation_id: conversationId },
    ),
};

/** Shapes of the backend API (see the backend's OpenAPI document). */

export type User = { id: number | string; email: string };

export type Task = {
  id: number;
  title: string;
  completed: boolean;
  created_at: string;
};

export type TokenResponse = { access_token: string; token_type: string };

export type ChatResponse = {
  conversation_id: number | string;
  reply: string;
  actions: unknown[];
};

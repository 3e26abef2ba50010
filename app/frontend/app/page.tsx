"use client";

import { useRouter } from "next/navigation";
import { useCallback, useEffect, useState } from "react";
import Chat, { type ChatEntry } from "@/components/Chat";
import TaskList from "@/components/TaskList";
import { api, ApiError, UnauthorizedError } from "@/lib/api";
import { clearToken, getToken } from "@/lib/session";
import type { ChatResponse, Task, User } from "@/lib/types";

export default function HomePage() {
  const router = useRouter();
  const [signedIn, setSignedIn] = useState(false);
  const [user, setUser] = useState<User | null>(null);
  const [tasks, setTasks] = useState<Task[]>([]);
  const [loading, setLoading] = useState(true);
  const [taskError, setTaskError] = useState<string | null>(null);
  const [savingIds, setSavingIds] = useState<ReadonlySet<number>>(new Set());
  const [entries, setEntries] = useState<ChatEntry[]>([]);
  const [conversationId, setConversationId] = useState<ChatResponse["conversation_id"] | null>(null);
  const [sending, setSending] = useState(false);
  const [chatError, setChatError] = useState<string | null>(null);

  const signOut = useCallback(() => {
    clearToken();
    router.replace("/login");
  }, [router]);

  /** Runs an API call; a 401 signs out, other errors are returned as a message. */
  const guarded = useCallback(
    async <T,>(call: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; message: string }> => {
      try {
        return { ok: true, value: await call() };
      } catch (err) {
        if (err instanceof UnauthorizedError) signOut();
        return { ok: false, message: err instanceof ApiError ? err.message : "Something went wrong." };
      }
    },
    [signOut],
  );

  const refreshTasks = useCallback(async () => {
    const result = await guarded(api.listTasks);
    if (result.ok) {
      setTasks(result.value);
      setTaskError(null);
    } else {
      setTaskError(result.message);
    }
    setLoading(false);
  }, [guarded]);

  useEffect(() => {
    if (!getToken()) {
      router.replace("/login");
      return;
    }
    setSignedIn(true);
    void guarded(api.me).then((result) => {
      if (result.ok) setUser(result.value);
    });
    void refreshTasks();
  }, [router, guarded, refreshTasks]);

  async function addTask(title: string): Promise<boolean> {
    const result = await guarded(() => api.addTask(title));
    if (!result.ok) {
      setTaskError(result.message);
      return false;
    }
    await refreshTasks();
    return true;
  }

  function markSaving(id: number, saving: boolean) {
    setSavingIds((prev) => {
      const next = new Set(prev);
      if (saving) next.add(id);
      else next.delete(id);
      return next;
    });
  }

  async function toggleTask(task: Task) {
    const completed = !task.completed;
    // Show the change at once; the refresh below puts back the server's state if it failed.
    markSaving(task.id, true);
    setTasks((prev) => prev.map((t) => (t.id === task.id ? { ...t, completed } : t)));
    const result = await guarded(() => api.setCompleted(task.id, completed));
    if (!result.ok) setTaskError(result.message);
    await refreshTasks();
    markSaving(task.id, false);
  }

  async function deleteTask(task: Task) {
    const result = await guarded(() => api.deleteTask(task.id));
    if (!result.ok) setTaskError(result.message);
    await refreshTasks();
  }

  async function send(message: string): Promise<boolean> {
    setSending(true);
    setChatError(null);
    setEntries((prev) => [...prev, { role: "user", text: message }]);
    const result = await guarded(() => api.chat(message, conversationId));
    setSending(false);
    if (!result.ok) {
      setChatError(result.message);
      return false;
    }
    setConversationId(result.value.conversation_id);
    setEntries((prev) => [...prev, { role: "assistant", text: result.value.reply }]);
    // The assistant may have added, completed or deleted tasks: show the current list.
    await refreshTasks();
    return true;
  }

  // Nothing to show until the browser's session is known (the page is prerendered without it).
  if (!signedIn) return null;

  return (
    <div className="shell">
      <header className="topbar">
        <strong>Todo AI Chatbot</strong>
        <span className="spacer" />
        <span className="muted" data-testid="user-email">
          {user?.email ?? ""}
        </span>
        <button type="button" className="ghost" onClick={signOut} data-testid="sign-out">
          Sign out
        </button>
      </header>
      {taskError && (
        <p className="error banner" role="alert" data-testid="task-error">
          {taskError}
        </p>
      )}
      <main className="grid">
        <TaskList
          tasks={tasks}
          loading={loading}
          savingIds={savingIds}
          onAdd={addTask}
          onToggle={toggleTask}
          onDelete={deleteTask}
        />
        <Chat entries={entries} sending={sending} error={chatError} onSend={send} />
      </main>
    </div>
  );
}

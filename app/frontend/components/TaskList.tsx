"use client";

import { useState, type FormEvent } from "react";
import type { Task } from "@/lib/types";

type Props = {
  tasks: Task[];
  loading: boolean;
  /** Tasks with a change on its way to the server. */
  savingIds: ReadonlySet<number>;
  onAdd: (title: string) => Promise<boolean>;
  onToggle: (task: Task) => void;
  onDelete: (task: Task) => void;
};

export default function TaskList({ tasks, loading, savingIds, onAdd, onToggle, onDelete }: Props) {
  const [title, setTitle] = useState("");
  const [adding, setAdding] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const trimmed = title.trim();
    if (!trimmed) return;
    setAdding(true);
    setTitle("");
    // On failure give the title back, unless the user has started typing another one.
    if (!(await onAdd(trimmed))) setTitle((current) => current || trimmed);
    setAdding(false);
  }

  const open = tasks.filter((t) => !t.completed).length;
  return (
    <section className="card tasks" aria-labelledby="tasks-heading">
      <header className="section-head">
        <h2 id="tasks-heading">Tasks</h2>
        <span className="muted" data-testid="task-count">
          {open} open · {tasks.length} total
        </span>
      </header>
      <form className="row" onSubmit={submit}>
        <input
          type="text"
          placeholder="What needs doing?"
          aria-label="New task title"
          value={title}
          maxLength={500}
          onChange={(e) => setTitle(e.target.value)}
          data-testid="task-new-title"
        />
        <button type="submit" className="primary" disabled={adding || !title.trim()} data-testid="task-add">
          Add
        </button>
      </form>
      {tasks.length === 0 ? (
        <p className="muted empty" data-testid="task-empty">
          {loading ? "Loading…" : "No tasks yet. Add one above or ask the assistant."}
        </p>
      ) : (
        <ul className="task-list" data-testid="task-list">
          {tasks.map((task) => {
            const saving = savingIds.has(task.id);
            return (
              <li
                key={task.id}
                className={task.completed ? "task done" : "task"}
                data-testid="task-item"
                data-task-id={task.id}
                data-completed={task.completed ? "true" : "false"}
                data-saving={saving ? "true" : "false"}
                aria-busy={saving}
              >
                <label>
                  <input
                    type="checkbox"
                    checked={task.completed}
                    disabled={saving}
                    onChange={() => onToggle(task)}
                    aria-label={`Mark "${task.title}" as ${task.completed ? "not done" : "done"}`}
                    data-testid="task-toggle"
                  />
                  <span className="task-id">#{task.id}</span>
                  <span className="task-title" data-testid="task-title">
                    {task.title}
                  </span>
                </label>
                <button
                  type="button"
                  className="ghost"
                  disabled={saving}
                  onClick={() => onDelete(task)}
                  aria-label={`Delete "${task.title}"`}
                  data-testid="task-delete"
                >
                  Delete
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

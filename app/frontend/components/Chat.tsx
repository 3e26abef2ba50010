"use client";

import { useEffect, useRef, useState, type FormEvent } from "react";

export type ChatEntry = { role: "user" | "assistant"; text: string };

type Props = {
  entries: ChatEntry[];
  sending: boolean;
  error: string | null;
  onSend: (message: string) => Promise<boolean>;
};

const EXAMPLES = ["add buy milk", "list my tasks", "complete task 1", "delete task 1"];

export default function Chat({ entries, sending, error, onSend }: Props) {
  const [message, setMessage] = useState("");
  const logRef = useRef<HTMLOListElement>(null);

  useEffect(() => {
    const log = logRef.current;
    if (log) log.scrollTop = log.scrollHeight;
  }, [entries, sending]);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const trimmed = message.trim();
    if (!trimmed || sending) return;
    setMessage("");
    // On failure give the message back, unless the user has started typing another one.
    if (!(await onSend(trimmed))) setMessage((current) => current || trimmed);
  }

  return (
    <section className="card chat" aria-labelledby="chat-heading">
      <header className="section-head">
        <h2 id="chat-heading">Assistant</h2>
        <span className="muted">Try: {EXAMPLES.map((e) => `“${e}”`).join(", ")}</span>
      </header>
      <ol className="chat-log" ref={logRef} data-testid="chat-log" aria-live="polite">
        {entries.length === 0 && <li className="muted empty">Ask me to add, list, complete or delete tasks.</li>}
        {entries.map((entry, index) => (
          <li key={index} className={`bubble ${entry.role}`} data-testid="chat-message" data-role={entry.role}>
            {entry.text}
          </li>
        ))}
        {sending && (
          <li className="bubble assistant pending" data-testid="chat-pending">
            Thinking…
          </li>
        )}
      </ol>
      {error && (
        <p className="error" role="alert" data-testid="chat-error">
          {error}
        </p>
      )}
      <form className="row" onSubmit={submit}>
        <input
          type="text"
          placeholder="Message the assistant"
          aria-label="Message"
          value={message}
          maxLength={2000}
          onChange={(e) => setMessage(e.target.value)}
          data-testid="chat-input"
        />
        <button type="submit" className="primary" disabled={sending || !message.trim()} data-testid="chat-send">
          Send
        </button>
      </form>
    </section>
  );
}

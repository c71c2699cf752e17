// Shared view pieces: the error box (an RPC's code and message, never swallowed), a two-step
// confirmation button, and a labelled progress bar.
import { useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "./api.js";

export function ErrorBox({ error, what }) {
  if (!error) return null;
  const { code, message } = describeError(error);
  return (
    <p class="error" role="alert">
      {what ? `${what} failed: ` : ""}
      <code>{code}</code> {message}
    </p>
  );
}

/** A button that asks "Really?" in place before running onConfirm (no window.confirm). */
export function ConfirmButton({ label, confirmLabel, question, onConfirm, disabled }) {
  const [asking, setAsking] = useState(false);
  const cancelRef = useRef(null);
  const askRef = useRef(null);
  const wasAsking = useRef(false);
  // Focus follows the step: Cancel when asking (Enter cancels), the first button after.
  useEffect(() => {
    if (asking) cancelRef.current?.focus();
    else if (wasAsking.current) askRef.current?.focus();
    wasAsking.current = asking;
  }, [asking]);
  if (!asking) {
    return (
      <button type="button" class="danger" disabled={disabled} onClick={() => setAsking(true)} ref={askRef}>
        {label}
      </button>
    );
  }
  return (
    <span class="confirm" role="group" aria-label={question}>
      <span>{question}</span>
      <button
        type="button"
        class="danger"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" onClick={() => setAsking(false)} ref={cancelRef}>
        Cancel
      </button>
    </span>
  );
}

export function Progress({ value, max, label }) {
  const pct = max > 0 ? Math.min(100, (100 * value) / max) : 0;
  return (
    <span class="progress">
      <progress value={pct} max={100} aria-label={label}>
        {pct.toFixed(0)}%
      </progress>
      <span class="pct">{pct.toFixed(0)}%</span>
    </span>
  );
}

export function Updated({ at }) {
  if (!at) return null;
  return <p class="muted small">Updated {new Date(at).toLocaleTimeString()} · every 2 s</p>;
}

/**
 * A table with a screen-reader caption, column headers (th scope=col) and a one-cell row saying
 * `empty` when there are no rows. columns: [{label, class?, hidden?}] (hidden: sr-only label).
 */
export function DataTable({ caption, columns, empty, rows, ...rest }) {
  return (
    <table {...rest}>
      <caption class="sr-only">{caption}</caption>
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c.label} scope="col" class={c.class}>
              {c.hidden ? <span class="sr-only">{c.label}</span> : c.label}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 ? (
          <tr>
            <td colSpan={columns.length} class="muted">
              {empty}
            </td>
          </tr>
        ) : (
          rows
        )}
      </tbody>
    </table>
  );
}

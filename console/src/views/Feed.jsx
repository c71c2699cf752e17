// Live feed: a Subscribe stream from the browser (Connect over fetch) with the filters the proto
// allows (collections; one field compared eq / lt / gt with a JSON value), newest first, capped at
// MAX_ROWS, pause/resume (events keep arriving and wait while paused), each row expandable to its
// JSON. When the stream ends or fails it reconnects with exponential backoff; after a reconnect
// the snapshot's copies of states already shown are skipped.
import { Component } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { rpc, isCode } from "../api.js";
import { DataTable, ErrorBox } from "../components.jsx";
import { formatTime, prettyJson } from "../format.js";

const MAX_ROWS = 500;
const MAX_KNOWN = 50_000;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
const CHANGE_UPSERT = 1;
const CHANGE_DELETE = 2;
const FEED_COLUMNS = [{ label: "Time" }, { label: "Op" }, { label: "Collection" }, { label: "Document" }];

/** The form's filter as a SubscribeRequest, or an error message. */
function buildRequest(f) {
  const collections = f.collections.split(/[\s,]+/).filter(Boolean);
  const req = { collections };
  if (f.field.trim()) {
    let value = f.value.trim();
    try {
      JSON.parse(value);
    } catch {
      value = JSON.stringify(f.value); // plain text is compared as a JSON string
    }
    req.query = { q: { case: f.op, value: { field: f.field.trim(), value } } };
  }
  return req;
}

function describeFilter(req) {
  const cols = req.collections.length ? req.collections.join(", ") : "all collections";
  const q = req.query ? ` where ${req.query.q.value.field} ${{ eq: "=", lt: "<", gt: ">" }[req.query.q.case]} ${req.query.q.value.value}` : "";
  return cols + q;
}

/** One change; rows never change once shown, so only a new row or a toggle re-renders. */
class FeedRow extends Component {
  state = { open: false };
  shouldComponentUpdate(next, nextState) {
    return next.ev !== this.props.ev || nextState.open !== this.state.open;
  }
  render({ ev }, { open }) {
    return (
      <tr data-doc={ev.docId} data-collection={ev.collection} data-op={ev.op}>
        <td class="time">{formatTime(ev.time)}</td>
        <td>
          <span class={`badge ${ev.op === "delete" ? "off" : "ok"}`}>{ev.op}</span>
        </td>
        <td>{ev.collection}</td>
        <td class="doc">
          {ev.json === undefined ? (
            <span>{ev.docId}</span>
          ) : (
            <details onToggle={(e) => this.setState({ open: e.currentTarget.open })}>
              <summary>{ev.docId}</summary>
              {open && <pre>{prettyJson(ev.json)}</pre>}
            </details>
          )}
        </td>
      </tr>
    );
  }
}

export function Feed() {
  const [form, setForm] = useState({ collections: "", field: "", op: "eq", value: "" });
  const [request, setRequest] = useState(() => buildRequest(form));
  const [rows, setRows] = useState([]);
  const [paused, setPaused] = useState(false);
  const [held, setHeld] = useState(0);
  const [state, setState] = useState({ phase: "connecting", error: null, retryIn: 0 });
  const pending = useRef([]); // events not yet rendered (batched, or held while paused)
  const pausedRef = useRef(false);
  const flushTimer = useRef(null);
  const seq = useRef(0);

  const flush = () => {
    flushTimer.current = null;
    if (pausedRef.current) {
      setHeld(pending.current.length);
      return;
    }
    const fresh = pending.current.reverse();
    pending.current = [];
    setHeld(0);
    setRows((old) => fresh.concat(old).slice(0, MAX_ROWS));
  };
  const schedule = () => {
    if (!flushTimer.current) flushTimer.current = setTimeout(flush, 30);
  };

  useEffect(() => {
    const ctl = new AbortController();
    const known = new Map(); // collection\0docId -> last JSON shown (null: deleted)
    let attempt = 0;
    let timer = null;
    let stopped = false;

    const run = async (resumed) => {
      setState({ phase: resumed ? "reconnecting" : "connecting", error: null, retryIn: 0 });
      let failure = null;
      try {
        const stream = rpc.subscribe(request, {
          signal: ctl.signal,
          onHeader: () => setState({ phase: "live", error: null, retryIn: 0 }),
        });
        for await (const ch of stream) {
          attempt = 0;
          const key = `${ch.collection}\0${ch.docId}`;
          const json = ch.changeType === CHANGE_DELETE ? null : (ch.jsonData ?? null);
          if (resumed && known.has(key) && known.get(key) === json) continue;
          if (known.size >= MAX_KNOWN) known.clear();
          known.set(key, json);
          pending.current.push({
            key: ++seq.current,
            time: new Date(),
            op: ch.changeType === CHANGE_DELETE ? "delete" : ch.changeType === CHANGE_UPSERT ? "upsert" : "unknown",
            collection: ch.collection,
            docId: ch.docId,
            json: ch.jsonData,
          });
          if (pending.current.length > MAX_ROWS) pending.current.splice(0, pending.current.length - MAX_ROWS);
          schedule();
        }
      } catch (e) {
        failure = e;
      }
      if (stopped || ctl.signal.aborted) return;
      if (failure && isCode(failure, "invalid_argument")) {
        setState({ phase: "stopped", error: failure, retryIn: 0 });
        return;
      }
      const delay = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
      attempt++;
      setState({ phase: "waiting", error: failure || { code: "ended", message: "the stream ended" }, retryIn: delay });
      timer = setTimeout(() => run(true), delay);
    };
    run(false);
    return () => {
      stopped = true;
      clearTimeout(timer);
      ctl.abort();
    };
  }, [request]);

  useEffect(() => () => clearTimeout(flushTimer.current), []);

  const [formError, setFormError] = useState("");
  const apply = (e) => {
    e.preventDefault();
    if (form.field.trim() === "" && form.value.trim() !== "") {
      setFormError("Give a field to compare the value with.");
      return;
    }
    setFormError("");
    pending.current = [];
    setRows([]);
    setRequest(buildRequest(form));
  };
  const togglePause = () => {
    pausedRef.current = !paused;
    setPaused(!paused);
    if (paused) flush();
  };
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const phaseText = {
    connecting: "Connecting…",
    reconnecting: "Reconnecting…",
    live: "Live",
    waiting: `Stream ended; retrying in ${(state.retryIn / 1000).toFixed(1)} s`,
    stopped: "Stopped: fix the filter",
  }[state.phase];
  const err = state.error && state.error.code === "ended" ? null : state.error;

  return (
    <section aria-labelledby="feed-h">
      <h1 id="feed-h">Live feed</h1>
      <form class="inline-form" onSubmit={apply} aria-label="Feed filter">
        <div class="fields">
          <label>
            Collections
            <input value={form.collections} onInput={set("collections")} placeholder="all" autoComplete="off" name="collections" />
          </label>
          <label>
            Field
            <input value={form.field} onInput={set("field")} placeholder="e.g. type or pos.lat" autoComplete="off" name="field" />
          </label>
          <label>
            Comparison
            <select value={form.op} onChange={set("op")} name="op">
              <option value="eq">= equals</option>
              <option value="lt">&lt; less than</option>
              <option value="gt">&gt; greater than</option>
            </select>
          </label>
          <label>
            Value (JSON)
            <input value={form.value} onInput={set("value")} placeholder={'"truck", 42, true'} autoComplete="off" name="value" />
          </label>
          <button type="submit">Apply</button>
        </div>
        {formError && (
          <p class="error" role="alert">
            {formError}
          </p>
        )}
      </form>
      <div class="toolbar">
        <p role="status" class={`feed-state ${state.phase}`} data-testid="feed-state">
          <span class={`dot ${state.phase}`} aria-hidden="true" />
          {phaseText} · {describeFilter(request)}
        </p>
        <button type="button" onClick={togglePause} aria-pressed={paused}>
          {paused ? `Resume${held ? ` (${held} waiting)` : ""}` : "Pause"}
        </button>
        <button type="button" onClick={() => setRows([])}>
          Clear
        </button>
      </div>
      <ErrorBox error={err} what="Subscribe" />
      <p class="muted small">
        Subscribe first sends the current state of every matching document, then each change as it is committed.
        Newest first, at most {MAX_ROWS} rows.
      </p>
      <div class="table-wrap">
        <DataTable
          class="feed"
          data-testid="feed"
          caption="Document changes, newest first"
          columns={FEED_COLUMNS}
          empty="No changes yet."
          rows={rows.map((ev) => (
            <FeedRow key={ev.key} ev={ev} />
          ))}
        />
      </div>
    </section>
  );
}

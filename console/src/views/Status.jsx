// Status: the node's identity, phase and sync counters (GetStatus + GetSyncStats, every 2 s), in
// proto3 JSON over plain fetch (api.js callJson): the first view renders without waiting for the
// typed client's chunk. JSON omits defaults (false, 0) and names enums ("NODE_PHASE_READY").
import { useLayoutEffect } from "preact/hooks";
import { callJson, num } from "../api.js";
import { usePoll } from "../hooks.js";
import { ErrorBox, Updated } from "../components.jsx";
import { formatBytes } from "../format.js";

// "NODE_PHASE_SHUTTING_DOWN" → "shutting down"; a missing phase is the default, unspecified.
const phaseName = (p) => (p ?? "NODE_PHASE_UNSPECIFIED").replace(/^NODE_PHASE_/, "").toLowerCase();
const phaseLabel = (p) => phaseName(p).replace(/_/g, " ");

let firstRenderMarked = false;

export function Status() {
  const { data, error, at } = usePoll(async (signal) => {
    const [status, stats] = await Promise.all([
      callJson("GetStatus", {}, signal),
      callJson("GetSyncStats", {}, signal),
    ]);
    return { status, stats };
  }, 2000);

  // Marked as the DOM shows the data (a plain effect would wait for the next frame).
  useLayoutEffect(() => {
    if (data && !firstRenderMarked) {
      firstRenderMarked = true;
      performance.mark("peat-first-render");
    }
  }, [data]);

  return (
    <section aria-labelledby="status-h">
      <h1 id="status-h">Node status</h1>
      <ErrorBox error={error} what="GetStatus / GetSyncStats" />
      {!data && !error && <p class="muted">Loading…</p>}
      {data && (
        <dl class="facts" data-testid="status">
          <dt>Node id</dt>
          <dd>
            <code class="wrap">{data.status.nodeId}</code>
          </dd>
          <dt>Endpoint address</dt>
          <dd>
            <code class="wrap">{data.status.endpointAddr || "—"}</code>
          </dd>
          <dt>Phase</dt>
          <dd>
            <span class={`badge phase-${phaseName(data.status.phase)}`}>{phaseLabel(data.status.phase)}</span>
          </dd>
          <dt>Sync</dt>
          <dd>{data.stats.syncActive ? "active" : "stopped"}</dd>
          <dt>Connected peers</dt>
          <dd>{data.stats.connectedPeers ?? 0}</dd>
          <dt>Bytes sent</dt>
          <dd>{formatBytes(num(data.stats.bytesSent ?? 0))}</dd>
          <dt>Bytes received</dt>
          <dd>{formatBytes(num(data.stats.bytesReceived ?? 0))}</dd>
        </dl>
      )}
      <Updated at={at} />
    </section>
  );
}

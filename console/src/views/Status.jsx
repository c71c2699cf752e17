// Status: the node's identity, phase and sync counters (GetStatus + GetSyncStats, every 2 s).
import { useLayoutEffect } from "preact/hooks";
import { rpc, num } from "../api.js";
import { usePoll } from "../hooks.js";
import { ErrorBox, Updated } from "../components.jsx";
import { formatBytes } from "../format.js";

const phaseLabel = (p) =>
  ({ 0: "unspecified", 1: "initializing", 2: "ready", 3: "syncing", 4: "shutting down" })[p] ?? String(p);

let firstRenderMarked = false;

export function Status() {
  const { data, error, at } = usePoll(async () => {
    const [status, stats] = await Promise.all([rpc.getStatus({}), rpc.getSyncStats({})]);
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
            <span class={`badge phase-${data.status.phase}`}>{phaseLabel(data.status.phase)}</span>
          </dd>
          <dt>Sync</dt>
          <dd>{data.stats.syncActive ? "active" : "stopped"}</dd>
          <dt>Connected peers</dt>
          <dd>{data.stats.connectedPeers}</dd>
          <dt>Bytes sent</dt>
          <dd>{formatBytes(num(data.stats.bytesSent))}</dd>
          <dt>Bytes received</dt>
          <dd>{formatBytes(num(data.stats.bytesReceived))}</dd>
        </dl>
      )}
      <Updated at={at} />
    </section>
  );
}

// Attachments: the file distributions this node knows (the replicated documents in
// `file_distributions`), each with its per-node progress. GetAttachmentDistribution answers on the
// sender (a node with --attachment-root); elsewhere the page reads the targets' own status
// documents (`file_distribution_status/<distribution id>:<short id>`) and says so.
import { ApiError, rpc, num, isCode, fetchMesh } from "../api.js";
import { useAction, usePoll } from "../hooks.js";
import { ConfirmButton, DataTable, ErrorBox, Progress, Updated } from "../components.jsx";
import { formatBytes, shortId } from "../format.js";

const MAX_SHOWN = 100;
const NODE_COLUMNS = [{ label: "Node" }, { label: "Status" }, { label: "Progress" }];
const STATUS = ["unspecified", "pending", "in progress", "completed", "partial", "failed", "cancelled"];

const ACTIVE = new Set(["pending", "in progress"]);
const badgeClass = (status) =>
  ({ completed: "ok", finished: "ok", failed: "bad", cancelled: "bad", partial: "bad" })[status] || "";

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

async function readDoc(collection, docId) {
  const r = await rpc.getDocument({ collection, docId });
  return r.jsonData === undefined ? null : parse(r.jsonData);
}

/** Per-node rows from the status documents (any node can read them). */
async function fromStatusDocs(distId, statusIds) {
  const mine = statusIds.filter((id) => id.startsWith(`${distId}:`));
  const docs = await Promise.all(mine.map((id) => readDoc("file_distribution_status", id)));
  return docs.filter(Boolean).map((d) => ({
    nodeId: d.node_id,
    status: String(d.status || "pending").replace(/_/g, " "),
    done: Number(d.progress_bytes || 0),
    total: Number(d.total_bytes || 0),
  }));
}

async function loadAll(signal) {
  const [mesh, dists, statuses] = await Promise.all([
    fetchMesh(signal),
    rpc.listDocuments({ collection: "file_distributions" }),
    rpc.listDocuments({ collection: "file_distribution_status" }),
  ]);
  const ids = [...dists.docIds].sort();
  const shown = ids.slice(0, MAX_SHOWN);
  const rows = await Promise.all(
    shown.map(async (id) => {
      const doc = await readDoc("file_distributions", id);
      const size = doc && doc.blob ? Number(doc.blob.size) : 0;
      // Only the sender answers GetAttachmentDistribution: ask it there, and read the status
      // documents elsewhere (an error response would be noise in the browser's console).
      const mineToSend = doc && doc.sender && doc.sender.endpoint_id === mesh.node_id;
      try {
        if (!mineToSend) throw new ApiError("unimplemented", "not the sender");
        const d = await rpc.getAttachmentDistribution({ distributionId: id });
        return {
          id,
          doc,
          status: STATUS[d.status] || String(d.status),
          done: num(d.bytesTransferred),
          total: num(d.bytesTotal),
          error: d.error,
          sender: true,
          nodes: d.perNode.map((n) => ({
            nodeId: n.nodeId,
            status: STATUS[n.status] || String(n.status),
            done: num(n.bytesTransferred),
            total: size,
          })),
        };
      } catch (e) {
        if (!isCode(e, "unimplemented") && !isCode(e, "not_found")) throw e;
        const nodes = await fromStatusDocs(id, statuses.docIds);
        return {
          id,
          doc,
          status: doc ? String(doc.status || "") : "",
          done: nodes.reduce((a, n) => a + n.done, 0),
          total: nodes.reduce((a, n) => a + n.total, 0),
          sender: false,
          nodes,
        };
      }
    }),
  );
  return { total: ids.length, rows };
}

function Distribution({ row, onCancel }) {
  const d = row.doc || {};
  return (
    <article class="panel dist" aria-labelledby={`dist-${row.id}`} data-distribution={row.id}>
      <h2 id={`dist-${row.id}`}>
        {d.name || row.id} <span class={`badge ${badgeClass(row.status)}`}>{row.status || "unknown"}</span>
      </h2>
      <p class="muted small">
        Distribution <code title={row.id}>{shortId(row.id)}</code>
        {d.bundle_id && <> · bundle {d.bundle_id}</>}
        {d.blob && <> · {formatBytes(Number(d.blob.size))}</>}
        {d.priority && <> · priority {d.priority}</>}
        {d.sender && <> · from {d.sender.node_id || shortId(d.sender.short_id)}</>}
        {!row.sender && <> · progress from the targets' status documents (this node is not the sender)</>}
      </p>
      {row.error && (
        <p class="error" role="alert">
          {row.error}
        </p>
      )}
      <p>
        Overall <Progress value={row.done} max={row.total} label={`Overall progress of ${d.name || row.id}`} />{" "}
        {formatBytes(row.done)} of {formatBytes(row.total)}
      </p>
      <DataTable
        caption="Per-node progress"
        columns={NODE_COLUMNS}
        empty="No target has reported yet."
        rows={row.nodes.map((n) => (
          <tr key={n.nodeId}>
            <th scope="row">
              <code>{n.nodeId}</code>
            </th>
            <td>
              <span class={`badge ${badgeClass(n.status)}`}>{n.status}</span>
            </td>
            <td>
              <Progress value={n.done} max={n.total} label={`Progress of ${n.nodeId}`} /> {formatBytes(n.done)}
            </td>
          </tr>
        ))}
      />
      {row.sender && ACTIVE.has(row.status) && (
        <p>
          <ConfirmButton label="Cancel distribution…" confirmLabel="Cancel distribution" question="Stop sending this file?" onConfirm={() => onCancel(row.id)} />
        </p>
      )}
    </article>
  );
}

export function Attachments() {
  const { data, error, at, refresh } = usePoll(loadAll, 2000);
  const [cancel, actionError] = useAction((distributionId) => rpc.cancelAttachmentDistribution({ distributionId }), refresh);
  return (
    <section aria-labelledby="att-h">
      <h1 id="att-h">Attachments</h1>
      <ErrorBox error={error} what="Attachment distributions" />
      <ErrorBox error={actionError} what="CancelAttachmentDistribution" />
      {!data && !error && <p class="muted">Loading…</p>}
      {data && data.total === 0 && (
        <p class="muted">No file distributions on this node. Send one with <code>peat attach send</code>.</p>
      )}
      {data && data.total > data.rows.length && (
        <p class="muted">
          Showing {data.rows.length} of {data.total} distributions.
        </p>
      )}
      {data && data.rows.map((r) => <Distribution key={r.id} row={r} onCancel={cancel} />)}
      <Updated at={at} />
    </section>
  );
}

// Peers: every known peer from ./api/mesh (every 2 s) with its connected state, addresses,
// replication lag (both ways), last contact, RTT and bytes; a form to ConnectPeer and a confirmed DisconnectPeer.
import { useState } from "preact/hooks";
import { rpc, fetchMesh } from "../api.js";
import { useAction, usePoll } from "../hooks.js";
import { ConfirmButton, DataTable, ErrorBox, Updated } from "../components.jsx";
import { formatBytes, formatMs, shortId } from "../format.js";

const PEER_COLUMNS = [
  { label: "Endpoint id" },
  { label: "Addresses" },
  { label: "State" },
  { label: "Lag (changes)", class: "num" },
  { label: "Behind (changes)", class: "num" },
  { label: "Last contact", class: "num" },
  { label: "RTT", class: "num" },
  { label: "Sent", class: "num" },
  { label: "Received", class: "num" },
  { label: "Actions", hidden: true },
];

function ConnectForm({ onDone }) {
  const [id, setId] = useState("");
  const [addr, setAddr] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [note, setNote] = useState("");
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setNote("");
    try {
      const addresses = addr.split(/[\s,]+/).filter(Boolean);
      await rpc.connectPeer({ endpointId: id.trim(), addresses });
      setNote(`Connecting to ${shortId(id.trim())}…`);
      setId("");
      setAddr("");
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-labelledby="connect-h">
      <h2 id="connect-h">Connect a peer</h2>
      <div class="fields">
        <label>
          Endpoint id
          <input
            name="endpointId"
            value={id}
            onInput={(e) => setId(e.currentTarget.value)}
            required
            pattern="[0-9a-fA-F]{64}"
            title="64 hex digits"
            autoComplete="off"
            spellcheck={false}
            size={40}
          />
        </label>
        <label>
          Addresses
          <input
            name="addresses"
            value={addr}
            onInput={(e) => setAddr(e.currentTarget.value)}
            placeholder="127.0.0.1:7001"
            autoComplete="off"
            spellcheck={false}
          />
        </label>
        <button type="submit" disabled={busy}>
          Connect
        </button>
      </div>
      <ErrorBox error={error} what="ConnectPeer" />
      {note && <p role="status">{note}</p>}
    </form>
  );
}

export function Peers() {
  const { data, error, at, refresh } = usePoll((signal) => fetchMesh(signal), 2000);
  const [disconnect, actionError] = useAction((endpointId) => rpc.disconnectPeer({ endpointId }), refresh);
  const peers = data ? data.peers : [];
  return (
    <section aria-labelledby="peers-h">
      <h1 id="peers-h">Peers</h1>
      <ErrorBox error={error} what="Mesh summary" />
      <ErrorBox error={actionError} what="DisconnectPeer" />
      {data && (
        <p class="muted">
          This node <code title={data.node_id}>{shortId(data.node_id)}</code> · feed sequence {data.feed_seq} ·{" "}
          {peers.filter((p) => p.connected).length} of {peers.length} connected
        </p>
      )}
      <div class="table-wrap">
        <DataTable
          data-testid="peers"
          caption="Known peers"
          columns={PEER_COLUMNS}
          empty={data ? "No peers yet." : "Loading…"}
          rows={peers.map((p) => (
            <tr key={p.endpoint_id} data-endpoint={p.endpoint_id} data-connected={String(p.connected)}>
              <th scope="row">
                <code title={p.endpoint_id}>{shortId(p.endpoint_id)}</code>
              </th>
              <td>{(p.addresses || []).join(", ") || "—"}</td>
              <td>
                <span class={`badge ${p.connected ? "ok" : "off"}`}>{p.connected ? "connected" : "disconnected"}</span>
              </td>
              <td class="num lag" title="changes of this node the peer has not acknowledged yet">
                {p.lag_changes ?? "—"}
              </td>
              <td class="num behind" title="changes of the peer this node has not merged yet">
                {p.behind_changes ?? "—"}
              </td>
              <td class="num">{p.last_contact_ms == null ? "never" : `${formatMs(p.last_contact_ms)} ago`}</td>
              <td class="num">{formatMs(p.rtt_ms)}</td>
              <td class="num">{formatBytes(p.bytes_sent)}</td>
              <td class="num">{formatBytes(p.bytes_received)}</td>
              <td>
                <ConfirmButton
                  label="Disconnect"
                  confirmLabel="Disconnect"
                  question={`Disconnect ${shortId(p.endpoint_id)}?`}
                  onConfirm={() => disconnect(p.endpoint_id)}
                />
              </td>
            </tr>
          ))}
        />
      </div>
      <Updated at={at} />
      <ConnectForm onDone={refresh} />
    </section>
  );
}

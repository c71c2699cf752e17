// The console's only door to the node: Connect RPCs to peat.sidecar.v1.PeatSidecar on the page's
// own origin (so it works directly on the API port and behind `peat console`'s port forward) and
// the JSON mesh summary at ./api/mesh (relative to the page, so any prefix works).
// Every failure becomes an ApiError with a code and a message for the page to show.
import { createClient, ConnectError, Code } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { PeatSidecar } from "../gen/peat/sidecar/v1/sidecar_pb.js";

const transport = createConnectTransport({ baseUrl: location.origin, useBinaryFormat: true });

/** The typed client: `await rpc.getStatus({})`, `for await (const ev of rpc.subscribe(req))`. */
export const rpc = createClient(PeatSidecar, transport);

export class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** Any thrown value as {code, message}: Connect codes by their wire name ("not_found"). */
export function describeError(e) {
  if (e instanceof ApiError) return { code: e.code, message: e.message };
  if (e instanceof ConnectError) {
    const name = Code[e.code] || String(e.code);
    return { code: name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase(), message: e.rawMessage };
  }
  return { code: "client", message: e && e.message ? e.message : String(e) };
}

export function isCode(e, wire) {
  return describeError(e).code === wire;
}

/** GET ./api/mesh: node id, feed sequence, peers with lag/RTT/bytes, collections with counts. */
export async function fetchMesh(signal) {
  let res;
  try {
    res = await fetch(new URL("api/mesh", document.baseURI), { signal, headers: { Accept: "application/json" } });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError("unavailable", `mesh summary: ${e.message}`);
  }
  if (!res.ok) throw new ApiError(`http_${res.status}`, `mesh summary: ${(await res.text()).slice(0, 200)}`);
  return res.json();
}

/** Number from a protobuf-es uint64 (bigint) or a JSON number; null stays null. */
export const num = (v) => (v === null || v === undefined ? null : Number(v));

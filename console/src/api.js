// The console's only door to the node: Connect RPCs to peat.sidecar.v1.PeatSidecar on the page's
// own origin (so it works directly on the API port and behind `peat console`'s port forward) and
// the JSON mesh summary at ./api/mesh (relative to the page, so any prefix works).
// Two ways in:
//   - `rpc`: the typed Connect-Web client (rpc_client.js), loaded lazily in its own chunk:
//     `await rpc.getDocument(req)`, `for await (const ev of rpc.subscribe(req, {signal}))`;
//   - `callJson(method, request)`: one Connect unary call with proto3 JSON and plain fetch, for the
//     first view (Status), so the first render needs neither the client nor the protobuf runtime.
// Every failure becomes {code, message} for the page to show (describeError).

export class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

let clientPromise = null;
/** The Connect client, loading its chunk once. */
export const loadClient = () => (clientPromise ??= import("./rpc_client.js").then((m) => m.client));

const STREAMING = new Set(["subscribe", "subscribeAttachmentBundle"]);

/** The typed client's methods, each loading the client on first use. */
export const rpc = new Proxy(
  {},
  {
    get(_, name) {
      if (typeof name !== "string") return undefined;
      if (STREAMING.has(name)) {
        return (...args) =>
          (async function* () {
            const client = await loadClient();
            yield* client[name](...args);
          })();
      }
      return async (...args) => (await loadClient())[name](...args);
    },
  },
);

/** One Connect unary call in JSON: resolves with the proto3 JSON answer (defaults omitted). */
export async function callJson(method, request = {}, signal) {
  let res;
  try {
    res = await fetch(`${location.origin}/peat.sidecar.v1.PeatSidecar/${method}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Connect-Protocol-Version": "1" },
      body: JSON.stringify(request),
      signal,
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError("unavailable", `${method}: ${e.message}`);
  }
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    // not JSON: reported below
  }
  if (!res.ok) throw new ApiError(body?.code ?? `http_${res.status}`, body?.message ?? text.slice(0, 200));
  if (body === null) throw new ApiError("internal", `${method}: the answer is not JSON`);
  return body;
}

// Connect's codes by number (ConnectError.code), as their wire names.
const CODE_NAMES = [
  "ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists",
  "permission_denied", "resource_exhausted", "failed_precondition", "aborted", "out_of_range",
  "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated",
];

/** Any thrown value as {code, message}: Connect codes by their wire name ("not_found"). */
export function describeError(e) {
  if (e instanceof ApiError) return { code: e.code, message: e.message };
  if (e && typeof e.code === "number" && "rawMessage" in e) {
    return { code: CODE_NAMES[e.code] ?? String(e.code), message: e.rawMessage };  // a ConnectError
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

/** Number from a protobuf-es uint64 (bigint), a proto3 JSON uint64 (string) or a number; null stays null. */
export const num = (v) => (v === null || v === undefined ? null : Number(v));

// The typed Connect client (Connect-Web over protobuf-es, binary format), in a chunk of its own:
// api.js loads it on first use and after the first render, so the Status view's first paint
// never waits for the protobuf runtime to be parsed.
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { PeatSidecar } from "../gen/peat/sidecar/v1/sidecar_pb.js";

const transport = createConnectTransport({ baseUrl: location.origin, useBinaryFormat: true });

export const client = createClient(PeatSidecar, transport);

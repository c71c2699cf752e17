// Single entry point for the integration tests (tests/integration) to the npm client toolchain
// installed here, so modules outside tests/clients resolve these packages from this node_modules.
// Requires `scripts/install-npm-deps.sh` (npm ci + buf generate into ./gen).
import path from "node:path";
import { fileURLToPath } from "node:url";
import grpcJs from "@grpc/grpc-js";
import protoLoaderPkg from "@grpc/proto-loader";

export * as connect from "@connectrpc/connect";
export * as connectNode from "@connectrpc/connect-node";
export * as protobuf from "@bufbuild/protobuf";
export * as sidecarPb from "./gen/peat/sidecar/v1/sidecar_pb.js";
export * as healthPb from "./gen/grpc/health/v1/health_pb.js";

export const grpc = grpcJs;
export const protoLoader = protoLoaderPkg;

const here = path.dirname(fileURLToPath(import.meta.url));
/** The buf CLI (buf curl / lint / breaking) from @bufbuild/buf. */
export const BUF_BIN = path.join(here, "node_modules", ".bin", "buf");

// Single entry point for the integration tests (tests/integration) to the npm client toolchain
// installed here, so modules outside tests/clients resolve these packages from this node_modules.
// Requires `scripts/install-npm-deps.sh` (npm ci + buf generate into ./gen).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import grpcJs from "@grpc/grpc-js";
import protoLoaderPkg from "@grpc/proto-loader";
import reflectionClientPkg from "grpc-js-reflection-client";

export * as connect from "@connectrpc/connect";
export * as connectNode from "@connectrpc/connect-node";
export * as protobuf from "@bufbuild/protobuf";
export * as sidecarPb from "./gen/peat/sidecar/v1/sidecar_pb.js";
export * as healthPb from "./gen/grpc/health/v1/health_pb.js";

export const grpc = grpcJs;
export const protoLoader = protoLoaderPkg;
/** gRPC server reflection client (v1 or v1alpha) on @grpc/grpc-js. */
export const GrpcReflection = reflectionClientPkg.GrpcReflection;

const here = path.dirname(fileURLToPath(import.meta.url));

// @bufbuild/buf ships the Go binary in a per-platform optional package; calling it directly saves
// the ~150 ms node shim start per `buf curl` (tests spawn hundreds). Fall back to the shim.
const bufPlatformPkg = {
  "linux-x64": "buf-linux-x64",
  "linux-arm64": "buf-linux-aarch64",
  "linux-arm": "buf-linux-armv7",
  "darwin-x64": "buf-darwin-x64",
  "darwin-arm64": "buf-darwin-arm64",
}[`${process.platform}-${process.arch}`];
const nativeBuf = bufPlatformPkg && path.join(here, "node_modules", "@bufbuild", bufPlatformPkg, "bin", "buf");

/** The buf CLI (buf curl / lint / breaking / build) from @bufbuild/buf. */
export const BUF_BIN = nativeBuf && fs.existsSync(nativeBuf) ? nativeBuf : path.join(here, "node_modules", ".bin", "buf");

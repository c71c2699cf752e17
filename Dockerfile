# peat-node container image (docs/DEPLOYMENT.md "Plain container (podman, docker)").
#
# Build stage: Debian 12 with the build dependencies (scripts/install-deps.sh, PEAT_DEPS=build), a
# CMake Release build of peat-node, strip, then scripts/package/stage-rootfs.sh /rootfs: that script
# is the single source of the image's content; CI runs it without a container engine
# (scripts/package/check-image.sh). Final stage: FROM scratch + that tree; no shell, curl or tini.
#
#   make image        # podman, base imported from mmdebstrap as localhost/debian:bookworm
#   podman build --format docker --build-arg BASE=localhost/debian:bookworm -t peat-node .
#
# The web console's bundle is built on the host first (it needs Node.js and the npm registry, which
# the build stage has neither of): make image runs `bash scripts/build-console.sh console/dist`,
# and the build embeds that directory (-DPEAT_CONSOLE_DIST). A plain `podman build` needs that
# step first, or fails naming it.
#
# BASE is pinned by digest (the official image); where no registry is reachable the build passes
# --build-arg BASE=localhost/debian:bookworm, a local mmdebstrap import (docs/DEPLOYMENT.md).
# Build with --format docker (podman/buildah): the OCI image format has no HEALTHCHECK.
ARG BASE=docker.io/library/debian:bookworm@sha256:8a8cd02c5912770b4980228a54d4aff9e4f986f1eb2525d2d371dec5232cefcc

FROM ${BASE} AS build
ENV DEBIAN_FRONTEND=noninteractive \
    CCACHE_DIR=/var/cache/ccache
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN PEAT_DEPS=build bash scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
ARG SOURCE_DATE_EPOCH=0
# The ccache directory is a build cache mount: it survives between builds on one machine, never
# lands in a layer, and turns a rebuild after a small change into minutes instead of ~15.
# Release at -O2, the level every test build uses (RelWithDebInfo without -g): g++ 12 at -O3 reports
# false -Wrestrict errors in std::string concatenation (GCC bug 105651) and -Werror is on.
RUN --mount=type=cache,target=/var/cache/ccache,id=peat-node-ccache \
    cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
          -DPEAT_BUILD_TESTS=OFF -DPEAT_CONSOLE_DIST=/src/console/dist \
 && cmake --build /build --target peat-node peat -j "$(nproc)" \
 && strip --strip-all /build/peat-node \
 && /build/peat-node --version \
 && SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" bash scripts/package/stage-rootfs.sh /rootfs /build/peat-node

FROM scratch
ARG VERSION=unknown
ARG REVISION=unknown
ARG SOURCE=unknown
COPY --from=build /rootfs /
USER 65532:65532
VOLUME ["/data/peat-node"]
# 50051: the API (Connect, gRPC, gRPC-Web, /livez, /readyz, /metrics).
# 4433: the mesh (TLS over TCP). Not enabled by default: a non-loopback mesh listener needs a
# formation key, so set both, e.g. PEAT_NODE_SHARED_KEY=... PEAT_NODE_MESH_LISTEN=tcp://0.0.0.0:4433.
EXPOSE 50051/tcp 4433/tcp
ENTRYPOINT ["/usr/bin/peat-node"]
CMD ["--listen=tcp://0.0.0.0:50051", "--data-dir=/data/peat-node"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/usr/bin/peat-node", "healthcheck"]
STOPSIGNAL SIGTERM
LABEL org.opencontainers.image.title="peat-node" \
      org.opencontainers.image.description="Sidecar peer of a leaderless document mesh (Connect, gRPC, gRPC-Web API)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"

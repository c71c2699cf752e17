#!/usr/bin/env bash
# `make image`: builds localhost/peat-node:<version> from the Dockerfile with podman (no daemon, no
# registry: the build stage's base is the mmdebstrap bookworm tarball of debian-base.sh, imported
# as localhost/debian:bookworm when missing). Skips when the image exists unless FORCE=1. Prints
# the image's size, uncompressed and as gzip layers.
#
#   scripts/package/build-image.sh            # FORCE=1 to rebuild
#
# IMAGE_FROM_BINARY=build/peat-node: the fast form CI uses (seconds, not ~15 min): the same final
# stage (the Dockerfile's `FROM scratch` part, read from the Dockerfile itself) over a rootfs that
# stage-rootfs.sh makes from an already built binary. Such an image carries the label
# peat.image.from=binary, and a plain `make image` rebuilds it from the Dockerfile.
set -euo pipefail
log_prefix=build-image
# shellcheck source=scripts/package/image-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/image-lib.sh"

ensure_packages podman buildah runc skopeo

from_binary="${IMAGE_FROM_BINARY:-}"
if [[ ${FORCE:-0} != 1 ]] && podman_cmd image exists "$image"; then
  made_from="$(podman_cmd image inspect --format '{{index .Labels "peat.image.from"}}' "$image")"
  if [[ -n $from_binary || $made_from != binary ]]; then
    log "$image exists (FORCE=1 rebuilds)"
    exit 0
  fi
fi

revision="$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)"
if [[ $revision != unknown ]] && [[ -n $(git -C "$repo" status --porcelain --untracked-files=no) ]]; then
  revision+="-dirty"
fi
epoch="$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 0)"
source_url="$(git -C "$repo" remote get-url origin 2>/dev/null || echo unknown)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if [[ -n $from_binary ]]; then
  [[ -x $from_binary ]] || die "IMAGE_FROM_BINARY=$from_binary is not an executable"
  SOURCE_DATE_EPOCH="$epoch" bash "$repo/scripts/package/stage-rootfs.sh" "$tmp/rootfs" "$from_binary" >&2
  # A tar keeps the owners (65532 for the data dir); a COPY of a context dir would make them root.
  tar --numeric-owner --sort=name -C "$tmp/rootfs" -cf "$tmp/rootfs.tar" .
  { sed -n '/^FROM scratch/,$p' "$repo/Dockerfile" |
      sed 's|^COPY --from=build /rootfs /$|ADD rootfs.tar /|'
    echo 'LABEL peat.image.from="binary"'; } >"$tmp/Containerfile"
  grep -q '^ADD rootfs.tar /$' "$tmp/Containerfile" || die "the Dockerfile's final stage no longer copies /rootfs"
  podman_cmd build --quiet --format docker \
    --build-arg VERSION="$version" --build-arg REVISION="$revision" \
    --build-arg SOURCE="$source_url" \
    --tag "$image" --file "$tmp/Containerfile" "$tmp" >/dev/null
  log "built $image from $from_binary (the Dockerfile's final stage over stage-rootfs.sh)"
  exit 0
fi

base=localhost/debian:bookworm
if ! podman_cmd image exists "$base"; then
  tarball="$(bash "$repo/scripts/package/debian-base.sh")"
  log "importing $tarball as $base"
  podman_cmd import --quiet "$tarball" "$base" >/dev/null
fi

# The console's bundle, which the build stage embeds as is (-DPEAT_CONSOLE_DIST=/src/console/dist).
bash "$repo/scripts/build-console.sh" "$repo/console/dist" >&2
log "building $image (revision $revision; a cold build compiles the whole node: ~15+ min on 2 cores)"
start=$SECONDS
podman_cmd build --format docker --layers \
  --build-arg BASE="$base" \
  --build-arg VERSION="$version" \
  --build-arg REVISION="$revision" \
  --build-arg SOURCE="$source_url" \
  --build-arg SOURCE_DATE_EPOCH="$epoch" \
  --tag "$image" --file "$repo/Dockerfile" "$repo"
log "built $image in $((SECONDS - start)) s"

# Sizes: uncompressed (what podman stores) and compressed (the gzip layer a registry would hold).
size="$(podman_cmd image inspect --format '{{.Size}}' "$image")"
podman_cmd push --quiet --compression-format gzip "$image" "oci:$tmp/layout:$version" >/dev/null
compressed="$(skopeo inspect --raw "oci:$tmp/layout:$version" | jq '[.layers[].size] | add')"
log "$image: $size bytes uncompressed ($((size / 1024)) KiB), $compressed bytes compressed ($((compressed / 1024)) KiB)"

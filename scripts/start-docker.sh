#!/usr/bin/env bash
# Start what the container tests need, all on 127.0.0.1 and idempotent:
#  - a Docker engine (dockerd without bridge networking: containers use --network none/host)
#  - two OCI registries (Debian's docker-registry): open on :5000, htpasswd auth on :5001
#  - a local base image with Python (debootstrap minbase + docker import), nothing pulled
# Prints `export ...` lines for the tests.
set -euo pipefail
STATE=${RELAUNCH_DOCKER_STATE:-/var/tmp/relaunch-docker}
BASE_IMAGE=${RELAUNCH_BASE_IMAGE:-relaunch/python:bookworm}
REG_USER=relaunch REG_PASSWORD=${RELAUNCH_TEST_REGISTRY_PASSWORD:-relaunch-test-pw}
mkdir -p "$STATE"

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v htpasswd >/dev/null || need+=(apache2-utils)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
fi

if ! docker info >/dev/null 2>&1; then
  setsid dockerd --iptables=false --ip-masq=false --bridge=none \
    >"$STATE/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -20 "$STATE/dockerd.log" >&2; exit 1; }
fi

start_registry() {  # name port [auth]
  local dir="$STATE/registry-$1"
  mkdir -p "$dir/data"
  if curl -s -o /dev/null "http://127.0.0.1:$2/v2/"; then return; fi
  {
    echo "version: 0.1"
    echo "storage: {filesystem: {rootdirectory: $dir/data}, delete: {enabled: true}}"
    echo "http: {addr: 127.0.0.1:$2}"
    if [ "${3:-}" = auth ]; then
      htpasswd -Bbn "$REG_USER" "$REG_PASSWORD" > "$dir/htpasswd"
      echo "auth: {htpasswd: {realm: relaunch-test, path: $dir/htpasswd}}"
    fi
  } > "$dir/config.yml"
  setsid docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 < /dev/null &
  for _ in $(seq 1 30); do
    curl -s -o /dev/null "http://127.0.0.1:$2/v2/" && return
    sleep 0.5
  done
  tail -20 "$dir/registry.log" >&2; exit 1
}
start_registry open 5000
start_registry auth 5001 auth

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  rootfs="$STATE/rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include=python3,python3-venv bookworm "$rootfs" \
    http://deb.debian.org/debian >"$STATE/debootstrap.log" 2>&1 \
    || { tail -20 "$STATE/debootstrap.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import -c 'CMD ["python3"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
fi

echo "export RELAUNCH_TEST_DOCKER=1"
echo "export RELAUNCH_TEST_REGISTRY=127.0.0.1:5000"
echo "export RELAUNCH_TEST_AUTH_REGISTRY=127.0.0.1:5001"
echo "export RELAUNCH_TEST_REGISTRY_USER=$REG_USER"
echo "export RELAUNCH_TEST_REGISTRY_PASSWORD=$REG_PASSWORD"
echo "export RELAUNCH_TEST_BASE_IMAGE=$BASE_IMAGE"

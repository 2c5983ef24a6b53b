#!/usr/bin/env bash
# Create .venv and install the locked dependencies (requirements.txt, made by scripts/lock.sh);
# skips pip when the lock is unchanged.
#   scripts/install.sh          app dependencies
#   scripts/install.sh --test   also the deploy checks' venv, the browser for the end-to-end test
#                               (Debian chromium) and axe-core (npm) for its accessibility audit
# torch: PyPI's build carries the CUDA libraries (about 4.3 GB installed), used only with an NVIDIA
# GPU. Without one, torch and torchvision come from PyTorch's CPU index when it answers, else from
# PyPI. TORCH_INDEX_URL chooses instead (a PyTorch index URL, or empty for PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
CPU_INDEX=https://download.pytorch.org/whl/cpu

has_nvidia_gpu() {
  command -v nvidia-smi >/dev/null 2>&1 || [ -e /proc/driver/nvidia ]
}

answers() {  # a short probe: an unreachable index must not hold up the install
  .venv/bin/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5).close()' \
    "$1" 2>/dev/null
}

locked() {  # the pin of one package in the lock: locked torch -> 2.14.1
  sed -n "s/^$1==\([^ ]*\).*/\1/p" requirements.txt
}

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  if [ -n "${TORCH_INDEX_URL+set}" ]; then
    index=$TORCH_INDEX_URL why="TORCH_INDEX_URL"
  elif has_nvidia_gpu; then
    index="" why="an NVIDIA GPU is here"
  elif answers "$CPU_INDEX/torch/"; then
    index=$CPU_INDEX why="no NVIDIA GPU here"
  else
    index="" why="no NVIDIA GPU here, but $CPU_INDEX does not answer: PyPI's build brings 4.3 GB of unused CUDA libraries"
  fi
  echo "torch: from ${index:-PyPI} ($why)"
  if [ -n "$index" ]; then
    # The index's builds carry a local label (2.14.1+cpu) that also satisfies the lock's ==2.14.1
    # below; naming it replaces a PyPI build installed before. --no-deps: the lock brings the rest.
    label=${index%/}
    label=${label##*/}
    .venv/bin/python -m pip install --quiet --no-deps --index-url "$index" \
      "torch==$(locked torch)+$label" "torchvision==$(locked torchvision)+$label"
  fi
  .venv/bin/python -m pip install --quiet -r requirements.txt
  echo "$want" > "$stamp"
fi
# Deploy checks (kustomize, Kubernetes schemas, checkov) in their own venv: checkov pins older
# versions of packages the app uses. Skipped when deploy/requirements-checks.txt is unchanged.
if [ "${1:-}" = "--test" ]; then
  checks_want=$(sha256sum deploy/requirements-checks.txt | cut -d' ' -f1)
  if [ "$(cat .venv-checks/.requirements.sha256 2>/dev/null)" != "$checks_want" ]; then
    [ -x .venv-checks/bin/python ] || "$PYTHON" -m venv .venv-checks
    .venv-checks/bin/python -m pip install --quiet -r deploy/requirements-checks.txt
    echo "$checks_want" > .venv-checks/.requirements.sha256
  fi
fi
# Test-only system tools: Chromium for the browser test, docker-compose 1.29 to check the compose file
# (it needs no Docker daemon), and Docker's engine with debootstrap for the image test (a private
# dockerd, a stand-in base image). All come from Debian's packages.
if [ "${1:-}" = "--test" ] && ! { command -v chromium && command -v docker-compose && command -v dockerd \
    && command -v debootstrap; } >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium docker-compose \
      docker.io debootstrap >/dev/null
  else
    echo "note: chromium/docker-compose missing; their tests will be skipped (apt-get install them)" >&2
  fi
fi
# axe-core, injected into pages by the browser test for its WCAG A/AA audit (pinned; npm only).
AXE_VERSION=4.14.1
if [ "${1:-}" = "--test" ] && [ "$(cat .npm-test/axe-version 2>/dev/null)" != "$AXE_VERSION" ]; then
  if command -v npm >/dev/null 2>&1; then
    npm install --silent --no-save --no-audit --no-fund --prefix .npm-test "axe-core@$AXE_VERSION" >/dev/null
    echo "$AXE_VERSION" > .npm-test/axe-version
  else
    echo "note: npm missing; the browser test's accessibility audit will be skipped" >&2
  fi
fi

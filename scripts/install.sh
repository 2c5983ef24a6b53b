#!/usr/bin/env bash
# Create .venv and install the locked dependencies (requirements.txt, made by scripts/lock.sh);
# skips pip when the lock is unchanged.
#   scripts/install.sh          app dependencies
#   scripts/install.sh --test   also the deploy checks' venv, the browser for the end-to-end test
#                               (Debian chromium) and axe-core (npm) for its accessibility audit
# torch: PyPI's build carries the CUDA libraries (about 4.3 GB installed), used only with an NVIDIA
# GPU. Without one, torch and torchvision come from PyTorch's CPU index when it answers, else from
# PyPI (deploy/install_torch.sh). TORCH_INDEX_URL chooses instead: a CPU index, or empty for PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  bash deploy/install_torch.sh .venv/bin/python requirements.txt "${TORCH_INDEX_URL-auto}"
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

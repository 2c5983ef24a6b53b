#!/usr/bin/env bash
# Pin pyproject.toml's dependencies from PyPI, for Linux x86_64 and CPython 3.11:
#   requirements.txt                   every group: the development venv (scripts/install.sh)
#   deploy/requirements-<service>.txt  one service's group, for its image (deploy/Dockerfile)
#   deploy/requirements-checks.txt     the deploy checks' venv (.venv-checks)
# The service locks are resolved under requirements.txt as a constraint, so every lock agrees on
# every version. Existing pins are kept unless pyproject.toml no longer allows them; to move one:
#   scripts/lock.sh --upgrade-package fastapi      (or --upgrade for everything)
#   scripts/lock.sh --check                        exit 1 when a lock is not what pyproject.toml gives
set -euo pipefail
cd "$(dirname "$0")/.."
SERVICES=(encoder search auth enricher ui)
# The CUDA runtime is left out of every lock: the PyPI torch pins it in its own metadata (so pip
# still installs exactly those versions with it), and the CPU torch needs none of it.
CUDA_RUNTIME=(
  cuda-bindings cuda-pathfinder cuda-toolkit triton
  nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft
  nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13 nvidia-nccl-cu13
  nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx
)
UV=${UV:-$(command -v "$PWD/.venv/bin/uv" || command -v uv || true)}
[ -n "$UV" ] || { echo "uv not found: run scripts/install.sh (uv is in the dev group)" >&2; exit 2; }
# Package downloads may pass a TLS proxy whose CA is only in the system bundle.
export UV_NATIVE_TLS=1 UV_CUSTOM_COMPILE_COMMAND="scripts/lock.sh"

compile_all() {  # extra uv arguments (--upgrade...) pass through
  local common=(--quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 "$@")
  local no_cuda=()
  for name in "${CUDA_RUNTIME[@]}"; do no_cuda+=(--no-emit-package "$name"); done
  "$UV" pip compile pyproject.toml --all-extras "${no_cuda[@]}" "${common[@]}" -o requirements.txt
  for service in "${SERVICES[@]}"; do
    "$UV" pip compile pyproject.toml --extra "$service" -c requirements.txt "${no_cuda[@]}" "${common[@]}" \
      -o "deploy/requirements-$service.txt"
  done
  "$UV" pip compile --group pyproject.toml:checks "${common[@]}" -o deploy/requirements-checks.txt
}

if [ "${1:-}" = "--check" ]; then
  # Lock again in a copy (the current pins as preferences) and compare.
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  mkdir -p "$scratch/deploy"
  cp pyproject.toml requirements.txt "$scratch/"
  cp deploy/requirements-*.txt "$scratch/deploy/"
  (cd "$scratch" && compile_all)
  stale=0
  for lock in requirements.txt deploy/requirements-*.txt; do
    if ! diff -u "$lock" "$scratch/$lock" >&2; then
      echo "stale: $lock" >&2
      stale=1
    fi
  done
  [ "$stale" = 0 ] || { echo "run scripts/lock.sh" >&2; exit 1; }
  exit 0
fi
compile_all "$@"

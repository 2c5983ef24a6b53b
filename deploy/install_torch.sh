#!/usr/bin/env bash
# Put a lock's torch and torchvision into a venv from a PyTorch CPU wheel index, before the lock
# itself is installed: the index's 2.14.1+cpu satisfies the lock's torch==2.14.1, so pip keeps it
# and never fetches PyPI's build with its CUDA libraries (4.3 GB installed, used only by a GPU).
#   deploy/install_torch.sh VENV_PYTHON LOCK INDEX_URL
# INDEX_URL "auto": PyTorch's CPU index on a machine without an NVIDIA GPU, else PyPI. Empty: PyPI.
# Does nothing when the lock has no torch. When the index does not answer (short timeout), says so
# and leaves torch to PyPI. Used by scripts/install.sh and deploy/Dockerfile.
set -euo pipefail
python=$1 lock=$2 index=${3:-}

locked() {  # the lock's version of one package: locked torch -> 2.14.1
  sed -n "s/^$1==\([^ ;]*\).*/\1/p" "$lock"
}

torch=$(locked torch)
[ -n "$torch" ] || exit 0
if [ "$index" = auto ]; then
  if command -v nvidia-smi >/dev/null 2>&1 || [ -e /proc/driver/nvidia ]; then
    echo "torch $torch: from PyPI, with its CUDA libraries (an NVIDIA GPU is here)"
    exit 0
  fi
  index=https://download.pytorch.org/whl/cpu
fi
if [ -z "$index" ]; then
  echo "torch $torch: from PyPI (with its CUDA libraries)"
  exit 0
fi
if ! "$python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5).close()' \
    "${index%/}/torch/" 2>/dev/null; then
  echo "torch $torch: from PyPI, with 4.3 GB of CUDA libraries: $index does not answer" >&2
  exit 0
fi
echo "torch $torch: from $index"
label=${index%/}
label=${label##*/}  # the index's local version label: .../whl/cpu -> +cpu
pip=("$python" -m pip)
"$python" -m pip --version >/dev/null 2>&1 || pip=(pip --python "$python")  # a venv without pip
# --no-deps: the lock brings torch's own dependencies, at the versions every image agrees on.
"${pip[@]}" install --no-cache-dir --no-deps --index-url "$index" \
  "torch==$torch+$label" "torchvision==$(locked torchvision)+$label"

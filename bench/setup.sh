#!/usr/bin/env bash
# Installs the PyTorch anchor for the benchmarks (Debian packages, no pip).
# libopenblas0-pthread matters: without it Debian's torch links the reference BLAS (~30x slower).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  apt-get -o DPkg::Lock::Timeout=900 update -qq
  apt-get -o DPkg::Lock::Timeout=900 install -y -qq python3-torch libopenblas0-pthread >/dev/null
fi
/usr/bin/python3 -c 'import torch; print("torch", torch.__version__)'

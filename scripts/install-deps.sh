#!/usr/bin/env bash
# Installs Citadel's build and test dependencies from Debian 12's archive.
# Usage: scripts/install-deps.sh [--test]   (--test adds what the tests need)
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libssl-dev                                   # OpenSSL 3: TLS, ECDSA, AES-GCM, HKDF
  libonnx-dev libprotobuf-dev protobuf-compiler # ONNX model format
  libdnnl-dev ocl-icd-opencl-dev opencl-c-headers # oneDNN (its CMake config needs OpenCL)
  libcpp-httplib-dev                           # HTTP over TLS
  nlohmann-json3-dev libcli11-dev              # JSON, command line
  libgtest-dev libgmock-dev libbenchmark-dev
  libcbor-dev pybind11-dev python3-numpy
  libxmlsec1-dev libxmlsec1-openssl            # XML-DSig of NVIDIA SWID RIMs (with libxml2)
  python3-dev                                  # headers for the Python client (python/)
)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(libonnx-testdata python3-pytest python3-onnx
             python3-torch python3-torchvision             # real architectures vs PyTorch (tests/engine/architectures_test.cc)
             clang libclang-rt-14-dev)             # ASan+UBSan build and libFuzzer (scripts/sanitize.sh)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "== dependencies: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "== installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

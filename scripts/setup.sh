# Sourced by scripts/test.sh and scripts/demo.sh: installs what is missing on a
# Debian 12 machine (apt as root or through sudo), creates .venv and builds the
# package into it incrementally (ccache, no build isolation, build/ci).
# Safe to rerun. SKIP_APT=1 skips the apt step.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
BUILD_DIR=${BUILD_DIR:-$ROOT/build/ci}
PYTHON=${PYTHON:-python3}

APT_PACKAGES=(g++ cmake ninja-build pkg-config ccache python3-dev python3-venv
  libsodium-dev libboost-dev libsimdjson-dev libhiredis-dev libxxhash-dev libb2-dev libutf8proc-dev catch2
  redis-server nats-server libnats-dev clang libclang-rt-14-dev clang-format iproute2 nftables)

install_system_packages() {
  [[ "${SKIP_APT:-0}" == 1 ]] && return
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  local sudo=
  [[ $EUID -ne 0 ]] && sudo=sudo
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

create_venv() {
  [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    "scikit-build-core>=0.10,<2" "nanobind>=2.4,<4" "pytest>=7" "hypothesis>=6" xxhash "redis>=5" hiredis ruff==0.17.6 2>&1 |
    grep -v "^WARNING: Location" || true
}

build_package() {
  if command -v ccache >/dev/null; then
    export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
    export CCACHE_BASEDIR="$ROOT"  # relative paths: cache hits across checkouts
  fi
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-build-isolation \
    --config-settings=build-dir="$BUILD_DIR" \
    --config-settings=cmake.define.NET_BUILD_TESTS=ON \
    --config-settings=cmake.define.NET_WERROR=ON "$ROOT" 2>&1 | grep -v "^WARNING: Location" || true
  "$VENV/bin/python" -c "import net._net" # fails loudly if the extension was not built
}

install_system_packages
create_venv
build_package

#!/usr/bin/env bash
# Every test: builds (see setup.sh), runs the C++ tests (ctest), the C++ tests
# again under ASan+UBSan and under TSan, then the Python tests (pytest).
# Usage: scripts/test.sh [pytest args...]   SKIP_SANITIZERS=1 skips the two sanitizer builds.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"

ctest --test-dir "$BUILD_DIR" --output-on-failure -j2

sanitized_ctest() {  # $1: build folder name, $2: sanitizers
  local dir="$ROOT/build/$1"
  cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNET_BUILD_TESTS=ON \
    -DNET_WERROR=ON -DNET_SANITIZE="$2" >/dev/null
  cmake --build "$dir"
  ctest --test-dir "$dir" --output-on-failure -j2
}
if [[ "${SKIP_SANITIZERS:-0}" != 1 ]]; then
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 sanitized_ctest asan address,undefined
  TSAN_OPTIONS=halt_on_error=1 sanitized_ctest tsan thread
fi

"$VENV/bin/python" -m pytest -q "$@"

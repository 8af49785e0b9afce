#!/usr/bin/env bash
# Every test: builds (see setup.sh), runs the C++ tests (ctest), the C++ tests
# again under ASan+UBSan and under TSan, each libFuzzer target for a few
# seconds (Clang build), then the Python tests (pytest).
# Usage: scripts/test.sh [pytest args...]
# clang-format and ruff (pinned in setup.sh) check the style before pytest.
# SKIP_SANITIZERS=1 skips the sanitizer and fuzz builds; FUZZ_SECONDS (default 5) per target.
# PY_SANITIZE=1 also runs tests/python against an ASan+UBSan build of the extension (~8 min more with a cold ccache).
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
run_fuzzers() {  # new inputs go to a scratch folder, not to the committed seeds
  local dir="$ROOT/build/fuzz" target name scratch
  CC=clang CXX=clang++ cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DNET_BUILD_FUZZERS=ON -DNET_WERROR=ON >/dev/null
  cmake --build "$dir"
  for target in "$dir"/tests/fuzz/fuzz_*; do
    name=${target##*/fuzz_}
    scratch=$(mktemp -d)
    if ! "$target" -max_total_time="${FUZZ_SECONDS:-5}" -print_final_stats=1 "$scratch" \
      "$ROOT/tests/fuzz/corpus/$name" >"$scratch.log" 2>&1; then
      tail -40 "$scratch.log"
      echo "fuzz: $name FAILED"
      exit 1
    fi
    echo "fuzz: $name: $(grep -o 'number_of_executed_units: *[0-9]*' "$scratch.log" | grep -o '[0-9]*$') runs, ok"
    rm -rf "$scratch" "$scratch.log"
  done
}

if [[ "${SKIP_SANITIZERS:-0}" != 1 ]]; then
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 sanitized_ctest asan address,undefined
  TSAN_OPTIONS=halt_on_error=1 sanitized_ctest tsan thread
  run_fuzzers
fi

# Style gates: clang-format (.clang-format) on C++, ruff on Python.
clang-format --dry-run --Werror $(git ls-files '*.hpp' '*.cpp')
"$VENV/bin/ruff" check --quiet . && "$VENV/bin/ruff" format --check --quiet .
"$VENV/bin/python" -m pytest -q "$@"

# The extension built with ASan+UBSan (build/pyasan, installed into it) and the Python tests run
# against it, the sanitizer runtimes preloaded into the uninstrumented interpreter. The interop
# tests and the benchmarks are left out: they start the original's interpreter, which must not
# import this build.
if [[ "${PY_SANITIZE:-0}" == 1 ]]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps \
    --target "$ROOT/build/pyasan/site" --upgrade --config-settings=build-dir="$ROOT/build/pyasan" \
    --config-settings=cmake.build-type=RelWithDebInfo --config-settings=install.strip=false \
    --config-settings=cmake.define.NET_SANITIZE=address,undefined "$ROOT" 2>&1 |
    grep -v "^WARNING: Location" || true
  LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
    ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 PYTHONPATH="$ROOT/build/pyasan/site" \
    "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/python --deselect tests/python/test_bench_runs.py
fi

#!/usr/bin/env bash
# Builds the C ABI library, compiles the C (gcc, C11) and C++ (g++, C++17)
# tests against ffi/include/coselect.h, runs each, then runs each under
# valgrind memcheck, which must report zero errors. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
cargo build -p coselect-ffi --release
lib="$target/release"
out="$target/ffi-tests"
mkdir -p "$out"
gcc -std=c11 -Wall -Wextra -Werror -pedantic -Iffi/include ffi/tests/c/test_coselect.c \
  -L"$lib" -lcoselect_ffi -Wl,-rpath,"$(cd "$lib" && pwd)" -lm -o "$out/test_c"
g++ -std=c++17 -Wall -Wextra -Werror -pedantic -Iffi/include ffi/tests/cpp/test_coselect.cpp \
  -L"$lib" -lcoselect_ffi -Wl,-rpath,"$(cd "$lib" && pwd)" -o "$out/test_cpp"
for t in test_c test_cpp; do
  "$out/$t"
  # Thread stacks of the worker pool that are still exiting when main
  # returns show up as "possibly lost"; only errors and definite leaks fail.
  # Valgrind 3.19 (Debian 12) cannot decode some VEX instructions of the
  # AVX2 scoring loop; COSELECT_NO_AVX2 runs the baseline copy of the same
  # loop under it (the run above used the AVX2 copy where the CPU has it).
  COSELECT_NO_AVX2=1 valgrind --tool=memcheck --error-exitcode=1 --leak-check=full \
    --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    "$out/$t" 2>&1 | tee "$out/$t.valgrind.log" | grep -E "ERROR SUMMARY|definitely lost|passed"
  grep -q "ERROR SUMMARY: 0 errors" "$out/$t.valgrind.log"
done

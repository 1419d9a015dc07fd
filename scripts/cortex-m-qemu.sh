#!/usr/bin/env bash
# Builds the Cortex-M example (examples/cortex-m), prints its flash and RAM
# use, runs it on QEMU's mps2-an386 board and checks the picks it prints
# against the same round on the host (core/tests/cortex_m.rs).
# Needs scripts/install-qemu-arm.sh and the thumbv7em-none-eabihf target.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fw_target="${CORTEX_M_TARGET_DIR:-$root/examples/cortex-m/target}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
(
    cd "$root/examples/cortex-m"
    CARGO_TARGET_DIR="$fw_target" cargo clippy --release -- -D warnings
    CARGO_TARGET_DIR="$fw_target" cargo build --release
)
elf="$fw_target/thumbv7em-none-eabihf/release/coselect-cortex-m"
echo "--- size (flash = text + data, RAM = data + bss; the stack is extra)"
arm-none-eabi-size "$elf"
arm-none-eabi-size -A "$elf" | grep -E '^(section|\.vector_table|\.text|\.rodata|\.data|\.bss|\.uninit) '
echo "--- QEMU mps2-an386"
timeout 120 qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
    -semihosting-config enable=on,target=native -kernel "$elf" | tee "$out"
echo "--- host comparison"
COSELECT_QEMU_OUTPUT="$out" cargo test -p coselect-core --test cortex_m

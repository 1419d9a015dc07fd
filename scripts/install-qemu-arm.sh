#!/usr/bin/env bash
# Installs what the Cortex-M example needs on Debian: QEMU's Arm system
# emulator (runs the firmware on an emulated mps2-an386 board) and Arm
# binutils (arm-none-eabi-size for the flash and RAM report).
set -euo pipefail
if command -v qemu-system-arm >/dev/null && command -v arm-none-eabi-size >/dev/null; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends qemu-system-arm binutils-arm-none-eabi

#!/usr/bin/env bash
# Installs QEMU when it is missing and we are root; otherwise says how.
set -euo pipefail
command -v qemu-system-x86_64 >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing qemu-system-x86 (apt-get)..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-x86 >/dev/null
  exit 0
fi
echo "qemu-system-x86_64 not found: run 'sudo apt-get install qemu-system-x86'" >&2
exit 1

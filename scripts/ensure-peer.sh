#!/usr/bin/env bash
# Installs what `llconform bench` needs to build its peer, the kernel's own
# Landlock selftests, statically for the guest architectures asked for:
# the C compiler (Debian's cross compiler for a foreign architecture) and
# the static libcap of that architecture. The busybox the selftests call
# as /bin/sh and ip comes from apt-get download at build time, so a
# foreign architecture must be known to dpkg (added here).
#
#   ensure-peer.sh [amd64|arm64|all]   (default: $ARCH, else amd64)
#
# As root it runs apt-get; as another user it uses sudo when sudo needs
# no password; otherwise it prints the commands to run.
set -euo pipefail

arch=${1:-${ARCH:-amd64}}
case "$arch" in
amd64 | arm64) arches=("$arch") ;;
all) arches=(amd64 arm64) ;;
*)
  echo "ensure-peer.sh: architecture '$arch': want amd64, arm64 or all" >&2
  exit 2
  ;;
esac

if ! command -v dpkg >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-peer.sh: no dpkg/apt-get: install a C compiler for each guest architecture (${arches[*]}) with its static libcap, and busybox-static, with this system's package manager" >&2
  exit 1
fi

native=$(dpkg --print-architecture)
pkgs=()
foreign=()
for a in "${arches[@]}"; do
  if [ "$a" = "$native" ]; then
    command -v gcc >/dev/null 2>&1 || pkgs+=(gcc libc6-dev)
    dpkg -s "libcap-dev:$a" >/dev/null 2>&1 || pkgs+=(libcap-dev)
    continue
  fi
  case "$a" in
  amd64) triplet=x86_64-linux-gnu cross=(gcc-x86-64-linux-gnu libc6-dev-amd64-cross) ;;
  arm64) triplet=aarch64-linux-gnu cross=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross) ;;
  esac
  command -v "$triplet-gcc" >/dev/null 2>&1 || pkgs+=("${cross[@]}")
  dpkg -s "libcap-dev:$a" >/dev/null 2>&1 || pkgs+=("libcap-dev:$a")
  dpkg --print-foreign-architectures | grep -qx "$a" || foreign+=("$a")
done

[ ${#pkgs[@]} -eq 0 ] && [ ${#foreign[@]} -eq 0 ] && exit 0
sudo=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    for a in "${foreign[@]}"; do
      echo "missing: run 'sudo dpkg --add-architecture $a'" >&2
    done
    echo "missing ${pkgs[*]}: run 'sudo apt-get update && sudo apt-get install ${pkgs[*]}'" >&2
    exit 1
  fi
fi
for a in "${foreign[@]}"; do
  echo "adding the $a architecture to dpkg (for libcap-dev:$a and busybox-static:$a)..." >&2
  "${sudo[@]}" dpkg --add-architecture "$a"
done
echo "installing ${pkgs[*]} (${sudo[*]:+${sudo[*]} }apt-get)..." >&2
"${sudo[@]}" apt-get update -qq
[ ${#pkgs[@]} -eq 0 ] || "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null

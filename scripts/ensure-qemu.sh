#!/usr/bin/env bash
# Installs what a VM run needs when it is missing: QEMU (qemu-system-x86) and
# the Debian archive keyring that verifies the kernels' index
# (debian-archive-keyring; Ubuntu has the package too). As root it runs
# apt-get; as another user it uses sudo when sudo needs no password (sudo -n,
# as on hosted CI runners); otherwise it prints the command to run.
set -euo pipefail

keyring=${LLCONFORM_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
pkgs=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || pkgs+=(qemu-system-x86)
[ -e "$keyring" ] || [ -e "${keyring%.gpg}.pgp" ] || pkgs+=(debian-archive-keyring)

# KVM is used when this user can open /dev/kvm (llconform probes it); TCG
# otherwise, several times slower. Say so rather than leave it to be guessed.
if [ -e /dev/kvm ] && ! { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
  echo "note: $(id -un) cannot open /dev/kvm: QEMU will use TCG (see README, Nightly CI, for the udev rule)" >&2
fi

[ ${#pkgs[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "missing ${pkgs[*]}: install QEMU (qemu-system-x86_64) and the Debian archive keyring with this system's package manager" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "missing ${pkgs[*]}: run 'sudo apt-get install ${pkgs[*]}'" >&2
    exit 1
  fi
fi
echo "installing ${pkgs[*]} (${sudo[*]:+${sudo[*]} }apt-get)..." >&2
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null

#!/usr/bin/env bash
# Installs what a VM run needs when it is missing: QEMU for the guest
# architectures asked for and the Debian archive keyring that verifies the
# kernels' index (debian-archive-keyring; Ubuntu has the package too).
#
#   ensure-qemu.sh [amd64|arm64|all]   (default: $ARCH, else amd64)
#
# amd64 needs qemu-system-x86 (qemu-system-x86_64), arm64 qemu-system-arm
# (qemu-system-aarch64); the default stays amd64 only, so an x86 run
# installs nothing it does not boot. As root it runs apt-get; as another
# user it uses sudo when sudo needs no password (sudo -n, as on hosted CI
# runners); otherwise it prints the command to run.
set -euo pipefail

arch=${1:-${ARCH:-amd64}}
case "$arch" in
amd64) want=(qemu-system-x86_64:qemu-system-x86) ;;
arm64) want=(qemu-system-aarch64:qemu-system-arm) ;;
all) want=(qemu-system-x86_64:qemu-system-x86 qemu-system-aarch64:qemu-system-arm) ;;
*)
  echo "ensure-qemu.sh: architecture '$arch': want amd64, arm64 or all" >&2
  exit 2
  ;;
esac

keyring=${LLCONFORM_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
pkgs=()
for w in "${want[@]}"; do
  command -v "${w%%:*}" >/dev/null 2>&1 || pkgs+=("${w#*:}")
done
[ -e "$keyring" ] || [ -e "${keyring%.gpg}.pgp" ] || pkgs+=(debian-archive-keyring)

# KVM is used when this user can open /dev/kvm (llconform probes it); TCG
# otherwise, several times slower. Say so rather than leave it to be guessed.
if [ -e /dev/kvm ] && ! { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
  echo "note: $(id -un) cannot open /dev/kvm: QEMU will use TCG (see README, Nightly CI, for the udev rule)" >&2
fi

[ ${#pkgs[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "missing ${pkgs[*]}: install QEMU (${want[*]%%:*}) and the Debian archive keyring with this system's package manager" >&2
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

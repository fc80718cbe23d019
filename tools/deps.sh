#!/bin/bash
# deps.sh: installs (as root, on Debian 12) every package needed to build and test pdvm; idempotent.
#
# Build: gcc/make, libconfig, lz4, json-c, libseccomp, GnuTLS's header (the migration stream's TLS 1.3 with a pre-shared key; the library, libgnutls30, is loaded only when a stream uses it). Run: the unprivileged account 'pdvm'. Run: nftables and iproute2 (the network lock of TCP
# checkpoints, network namespaces). Test: the nested harness (tests/nested/vm-run)
# boots a QEMU TCG VM with nested SVM using the Debian kernel (linux-image-amd64, which
# also ships the kvm modules) and a busybox-static initramfs packed with cpio.
# Conformance: Go's standard library tests (golang-go) are the yardstick (tests/conformance);
# the time package's tests load a zone from the system's database (tzdata). strace, gdb and
# python3 run in domains in the e2e tests (and gdb in runtime's tests).
# Repeated runs are fast: if dpkg already reports every package installed, nothing is run.
set -euo pipefail

PKGS=(
	build-essential gcc make
	libconfig-dev liblz4-dev libjson-c-dev zlib1g-dev libseccomp-dev libgnutls28-dev
	busybox-static cpio kmod xz-utils coreutils
	qemu-system-x86 linux-image-amd64
	nftables iproute2 procps
	golang-go tzdata
	strace gdb python3
	podman runc conmon netavark aardvark-dns iptables criu
	containerd python3-yaml
)

# The account domains run as by default (config `user`, docs/SECURITY.md): a system
# account with its own group, no home, no login. Needs only passwd (essential).
if ! getent passwd pdvm >/dev/null; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps.sh: no account 'pdvm' (domains run as it); run as root (sudo tools/deps.sh)" >&2
		exit 1
	fi
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin --comment "pdvm domains" pdvm
	echo "deps.sh: created the system account pdvm" >&2
fi

# One dpkg-query for all: packages it does not know are simply absent from its output.
declare -A have=()
while read -r name st; do
	[ "$st" = installed ] && have[$name]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PKGS[@]}" 2>/dev/null || true)
missing=()
for p in "${PKGS[@]}"; do
	[ -n "${have[$p]:-}" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]}; run as root (sudo tools/deps.sh)" >&2
	exit 1
fi

echo "deps.sh: installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /var/tmp/pdvm-deps.XXXXXX)
if ! apt-get update >"$log" 2>&1 ||
   ! apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
	tail -n 40 "$log" >&2
	echo "deps.sh: apt-get failed (full log: $log)" >&2
	exit 1
fi
rm -f "$log"

# The VM harness needs a kernel image whose modules are installed; say so early if not.
if ! ls /boot/vmlinuz-* >/dev/null 2>&1; then
	echo "deps.sh: no /boot/vmlinuz-* after installing linux-image-amd64" >&2
	exit 1
fi
echo "deps.sh: done" >&2

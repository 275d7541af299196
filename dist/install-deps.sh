#!/bin/sh
# Installs the Debian 12 packages that build, test and demo rkt (DESIGN §14).
# Shared by `make demo`, `make check` and .ci/run; safe to run again.
set -eu
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (it calls apt-get)" >&2
	exit 254
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends build-essential \
  pkg-config clang libclang-rt-14-dev libseccomp-dev libcap-ng-dev libselinux1-dev libtss2-dev \
  libgpgme-dev libarchive-dev libssl-dev libcurl4-openssl-dev libsqlite3-dev libjansson-dev \
  libcmocka-dev libsystemd-dev gnupg busybox-static sqlite3 util-linux curl ca-certificates \
  python3 openssl zstd xz-utils bzip2 gzip passwd containernetworking-plugins iproute2 iptables

#!/usr/bin/env bash
# Installs the Debian 12 packages EMPI builds with, if any are missing.
set -euo pipefail
pkgs=(g++ gcc cmake ninja-build pkg-config git libtbb-dev libabsl-dev librocksdb-dev
      libxxhash-dev libicu-dev libbenchmark-dev libgtest-dev libgmock-dev
      libcli11-dev libfmt-dev nlohmann-json3-dev libssl-dev libboost-dev libcpp-httplib-dev wrk
      clang libclang-rt-14-dev time  # for scripts/fuzz.sh
      clang-format)                  # for scripts/check-format.sh
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
fi

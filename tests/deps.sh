#!/usr/bin/env bash
# Installs, with apt-get, whatever this project needs that the machine lacks
# (Debian 12). Quiet and quick when everything is present.
set -euo pipefail
pkgs=(cmake g++ make pkg-config libboost-program-options-dev libboost-dev nlohmann-json3-dev
  doctest-dev libeigen3-dev liburing-dev libzstd-dev zstd memcached libmemcached-tools
  python3 python3-pymemcache fio python3-pandas python3-matplotlib jupyter-nbconvert
  python3-ipykernel slurm-wlm munge chromium clang libclang-rt-14-dev libssl-dev openssl
  libsasl2-dev sasl2-bin libsasl2-modules)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

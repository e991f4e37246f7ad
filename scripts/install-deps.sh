#!/usr/bin/env bash
# Install the Debian 12 packages needed to build sandbox and run its test suite.
# Does nothing (no apt-get update) when every package is already installed.
set -u

packages=(
  meson ninja-build pkg-config g++
  libcli11-dev libtomlplusplus-dev catch2 libseccomp-dev libslirp-dev nlohmann-json3-dev
  uidmap bubblewrap hyperfine python3 git libdtl-dev
  util-linux iproute2 procps libc6-dev passwd
  clang libclang-rt-14-dev  # tests/fuzz: libFuzzer, ASan and UBSan
  iperf3 slirp4netns passt  # bench/network: the load and the peers
  weston wayland-utils xvfb x11-utils xauth pulseaudio pulseaudio-utils xdg-dbus-proxy dbus  # desktop tests
  desktop-file-utils fontconfig x11-apps
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) || status=
  [ "$status" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: missing: ${missing[*]}"
install_cmd=(apt-get install -y --no-install-recommends "${missing[@]}")

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-deps: not root and no sudo; run as root:" >&2
  echo "  apt-get update && ${install_cmd[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q || exit 1
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive "${install_cmd[@]}" || exit 1

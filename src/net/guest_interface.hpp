// The sandbox's side of user-mode networking (runs in I, pid 1, inside the new network
// namespace, before the filesystem is built, while the host's /dev and /proc are still visible).
#pragma once
#include "net/virtual_addresses.hpp"
#include "net/slirp_settings.hpp"
#include "sys/unique_fd.hpp"

namespace sb {

// Creates "eth0", gives it its addresses, default routes and MTU, brings it up, and returns
// the fd that carries its Ethernet frames for the supervisor: a tap when /dev/net/tun may be
// opened, else a veth pair whose outer end ("slirp0") is read with a packet socket (on hosts
// where /dev/net/tun is root-only). Throws SetupError(Stage::Network, ...).
UniqueFd setup_guest_interface(const SlirpSettings& net);

}  // namespace sb

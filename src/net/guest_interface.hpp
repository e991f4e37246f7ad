// The sandbox's side of user-mode networking (runs in I, pid 1, inside the new network
// namespace, before the filesystem is built, while the host's /dev and /proc are still visible).
#pragma once
#include "profile/profile.hpp"
#include "sys/unique_fd.hpp"

namespace sb {

// The addresses inside the virtual networks, from the subnets: the sandbox is .100 / ::100,
// the gateway .2 / ::2, the DNS forwarder .3 / ::3 (as slirp4netns and podman use them).
struct GuestAddresses {
    IpAddress guest4, gateway4, dns4, guest6, gateway6, dns6;
};
GuestAddresses guest_addresses(const SlirpSettings& net);

// Creates "eth0", gives it its addresses, default routes and MTU, brings it up, and returns
// the fd that carries its Ethernet frames for the supervisor: a tap when /dev/net/tun may be
// opened, else a veth pair whose outer end ("slirp0") is read with a packet socket (on hosts
// where /dev/net/tun is root-only). Throws SetupError("network", ...).
UniqueFd setup_guest_interface(const SlirpSettings& net);

}  // namespace sb

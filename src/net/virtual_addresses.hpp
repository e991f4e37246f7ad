// The addresses inside the sandbox's virtual networks, derived from its subnets. Pure; used by
// the plan (resolv.conf), pid 1 (eth0) and the supervisor (libslirp, the egress filter).
#pragma once
#include "net/slirp_settings.hpp"

namespace sb {

// The sandbox is .100 / ::100, the gateway .2 / ::2, the DNS forwarder .3 / ::3 (as slirp4netns
// and podman use them).
struct GuestAddresses {
    IpAddress guest4, gateway4, dns4, guest6, gateway6, dns6;
};
GuestAddresses guest_addresses(const SlirpSettings& net);

}  // namespace sb

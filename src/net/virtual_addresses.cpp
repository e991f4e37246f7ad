#include "net/virtual_addresses.hpp"

namespace sb {
namespace {

// The address of `subnet` whose last byte is `last`.
IpAddress with_last_byte(const Cidr& subnet, std::uint8_t last) {
    IpAddress address = subnet.base;
    address.bytes[address.family == IpFamily::V4 ? 3 : 15] = last;
    return address;
}

}  // namespace

GuestAddresses guest_addresses(const SlirpSettings& net) {
    IpAddress guest6 = net.subnet6.base;
    guest6.bytes[14] = 0x01;  // ::100
    return {with_last_byte(net.subnet4, 100), with_last_byte(net.subnet4, 2), with_last_byte(net.subnet4, 3),
            guest6, with_last_byte(net.subnet6, 2), with_last_byte(net.subnet6, 3)};
}

}  // namespace sb

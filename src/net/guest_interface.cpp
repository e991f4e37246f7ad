// Theory of operation: the frames of the sandbox's eth0 must reach the supervisor as an fd.
// A tap device gives exactly that. Where /dev/net/tun is closed to us, a veth pair does the same
// job: eth0 inside, slirp0 as its peer, and an AF_PACKET socket on slirp0 (that ignores its own
// output) to read what eth0 sends and to write what it should receive. Addresses and routes are
// set with ioctls; only the veth pair needs rtnetlink.
#include "net/guest_interface.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <linux/if_tun.h>
#include <linux/ipv6.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <net/route.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sys/error.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

constexpr const char* kGuest = "eth0";
constexpr const char* kPeer = "slirp0";

void write_sysctl(const std::string& path, const char* value) {
    UniqueFd fd = try_open_at(AT_FDCWD, path, O_WRONLY);
    if (fd) {
        ssize_t ignored = ::write(fd.get(), value, std::strlen(value));
        (void)ignored;  // best effort: a kernel without IPv6 has no such file
    }
}

ifreq request_for(const char* name) {
    ifreq request{};
    std::strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    return request;
}

UniqueFd open_tap() {
    UniqueFd tun = try_open_at(AT_FDCWD, "/dev/net/tun", O_RDWR);
    if (!tun) return tun;
    ifreq request = request_for(kGuest);
    request.ifr_flags = IFF_TAP | IFF_NO_PI;
    check(::ioctl(tun.get(), TUNSETIFF, &request), "create tap", kGuest);
    return tun;
}

// rtnetlink: RTM_NEWLINK of a veth pair, waiting for the kernel's acknowledgement.
void create_veth_pair() {
    struct {
        nlmsghdr header;
        ifinfomsg info;
        char attributes[256];
    } message{};
    std::size_t used = 0;
    auto add = [&](unsigned short type, const void* data, std::size_t length) -> rtattr* {
        auto* attribute = reinterpret_cast<rtattr*>(message.attributes + used);
        attribute->rta_type = type;
        attribute->rta_len = static_cast<unsigned short>(RTA_LENGTH(length));
        if (data) std::memcpy(RTA_DATA(attribute), data, length);
        used += RTA_ALIGN(attribute->rta_len);
        return attribute;
    };
    auto close_nest = [&](rtattr* nest) {
        nest->rta_len = static_cast<unsigned short>(message.attributes + used - reinterpret_cast<char*>(nest));
    };
    add(IFLA_IFNAME, kGuest, std::strlen(kGuest) + 1);
    rtattr* linkinfo = add(IFLA_LINKINFO, nullptr, 0);
    add(IFLA_INFO_KIND, "veth", 5);
    rtattr* data = add(IFLA_INFO_DATA, nullptr, 0);
    rtattr* peer = add(VETH_INFO_PEER, nullptr, sizeof(ifinfomsg));
    used = static_cast<std::size_t>(reinterpret_cast<char*>(RTA_DATA(peer)) - message.attributes) + sizeof(ifinfomsg);
    add(IFLA_IFNAME, kPeer, std::strlen(kPeer) + 1);
    close_nest(peer);
    close_nest(data);
    close_nest(linkinfo);
    message.header.nlmsg_len = static_cast<unsigned>(NLMSG_LENGTH(sizeof(ifinfomsg)) + used);
    message.header.nlmsg_type = RTM_NEWLINK;
    message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
    message.info.ifi_family = AF_UNSPEC;
    UniqueFd netlink = netlink_socket(NETLINK_ROUTE);
    check(::send(netlink.get(), &message, message.header.nlmsg_len, 0), "netlink send", "RTM_NEWLINK veth");
    char reply[4096];
    ssize_t got = ::recv(netlink.get(), reply, sizeof reply, 0);
    check(got, "netlink recv", "RTM_NEWLINK veth");
    auto* header = reinterpret_cast<nlmsghdr*>(reply);
    if (header->nlmsg_type == NLMSG_ERROR) {
        int err = -reinterpret_cast<nlmsgerr*>(NLMSG_DATA(header))->error;
        if (err != 0) throw SysError("create veth pair", std::string(kGuest) + "/" + kPeer, err);
    }
}

void set_up(int sock, const char* name, unsigned mtu) {
    ifreq request = request_for(name);
    request.ifr_mtu = static_cast<int>(mtu);
    check(::ioctl(sock, SIOCSIFMTU, &request), "set mtu of", name);
    request = request_for(name);
    check(::ioctl(sock, SIOCGIFFLAGS, &request), "get flags of", name);
    request.ifr_flags |= IFF_UP | IFF_RUNNING;
    check(::ioctl(sock, SIOCSIFFLAGS, &request), "bring up", name);
}

// veth hands frames over with the transport checksum left to the hardware; libslirp checks
// checksums and would drop them. Checksums in software, then, on eth0.
void disable_checksum_offload(int sock, const char* name) {
    for (std::uint32_t command : {std::uint32_t(ETHTOOL_STXCSUM), std::uint32_t(ETHTOOL_SSG), std::uint32_t(ETHTOOL_STSO)}) {
        ethtool_value value{command, 0};
        ifreq request = request_for(name);
        request.ifr_data = reinterpret_cast<char*>(&value);
        if (::ioctl(sock, SIOCETHTOOL, &request) < 0 && command == ETHTOOL_STXCSUM)
            throw SysError("disable checksum offload on", name, errno);
    }
}

void configure_ipv4(int sock, const SlirpSettings& net, const GuestAddresses& addresses) {
    ifreq request = request_for(kGuest);
    auto* in = reinterpret_cast<sockaddr_in*>(&request.ifr_addr);
    in->sin_family = AF_INET;
    std::memcpy(&in->sin_addr, addresses.guest4.bytes.data(), 4);
    check(::ioctl(sock, SIOCSIFADDR, &request), "set address of", kGuest);
    request = request_for(kGuest);
    in = reinterpret_cast<sockaddr_in*>(&request.ifr_netmask);
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(net.subnet4.prefix ? ~0u << (32 - net.subnet4.prefix) : 0);
    check(::ioctl(sock, SIOCSIFNETMASK, &request), "set netmask of", kGuest);
    rtentry route{};
    auto* gateway = reinterpret_cast<sockaddr_in*>(&route.rt_gateway);
    gateway->sin_family = AF_INET;
    std::memcpy(&gateway->sin_addr, addresses.gateway4.bytes.data(), 4);
    reinterpret_cast<sockaddr_in*>(&route.rt_dst)->sin_family = AF_INET;
    reinterpret_cast<sockaddr_in*>(&route.rt_genmask)->sin_family = AF_INET;
    route.rt_flags = RTF_UP | RTF_GATEWAY;
    check(::ioctl(sock, SIOCADDRT, &route), "add default route via", format_ip(addresses.gateway4));
}

void configure_ipv6(const SlirpSettings& net, const GuestAddresses& addresses, int ifindex) {
    UniqueFd sock6 = dgram_socket(AF_INET6);
    in6_ifreq address{};
    std::memcpy(&address.ifr6_addr, addresses.guest6.bytes.data(), 16);
    address.ifr6_prefixlen = net.subnet6.prefix;
    address.ifr6_ifindex = ifindex;
    check(::ioctl(sock6.get(), SIOCSIFADDR, &address), "set IPv6 address of", kGuest);
    in6_rtmsg route{};
    std::memcpy(&route.rtmsg_gateway, addresses.gateway6.bytes.data(), 16);
    route.rtmsg_ifindex = ifindex;
    route.rtmsg_flags = RTF_UP | RTF_GATEWAY;
    route.rtmsg_metric = 1;
    check(::ioctl(sock6.get(), SIOCADDRT, &route), "add IPv6 default route via", format_ip(addresses.gateway6));
}

}  // namespace

UniqueFd setup_guest_interface(const SlirpSettings& net) {
    try {
        GuestAddresses addresses = guest_addresses(net);
        UniqueFd frames = open_tap();
        bool veth = !frames;
        if (veth) create_veth_pair();
        // No duplicate address detection: the address is ours alone, and DAD would delay it.
        write_sysctl(std::string("/proc/sys/net/ipv6/conf/") + kGuest + "/accept_dad", "0");
        // The address and route are static: no second address from libslirp's router
        // advertisements (SLAAC), which would be the source of the sandbox's connections.
        write_sysctl(std::string("/proc/sys/net/ipv6/conf/") + kGuest + "/accept_ra", "0");
        if (veth) write_sysctl(std::string("/proc/sys/net/ipv6/conf/") + kPeer + "/disable_ipv6", "1");
        UniqueFd sock = dgram_socket(AF_INET);
        set_up(sock.get(), kGuest, net.mtu);
        if (veth) {
            set_up(sock.get(), kPeer, net.mtu);
            disable_checksum_offload(sock.get(), kGuest);
        }
        configure_ipv4(sock.get(), net, addresses);
        int ifindex = static_cast<int>(::if_nametoindex(kGuest));
        configure_ipv6(net, addresses, ifindex);
        if (veth) frames = packet_socket(static_cast<int>(::if_nametoindex(kPeer)));
        return frames;
    } catch (const SysError& error) {
        throw SetupError(Stage::Network, error.what(),
                         "the sandbox's network interface could not be set up; [network] mode = \"none\" avoids it");
    }
}

}  // namespace sb

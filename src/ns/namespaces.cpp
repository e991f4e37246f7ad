#include "ns/namespaces.hpp"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sys/error.hpp"
#include "sys/syscalls.hpp"

namespace sb {

int nested_namespace_flags(const NamespacePlan& plan) {
    int flags = CLONE_NEWNS | CLONE_NEWPID;
    if (plan.uts) flags |= CLONE_NEWUTS;
    if (plan.ipc) flags |= CLONE_NEWIPC;
    if (plan.net) flags |= CLONE_NEWNET;
    if (plan.cgroup) flags |= CLONE_NEWCGROUP;
    return flags;
}

void setup_nested_namespaces(const NamespacePlan& plan) {
    if (::unshare(nested_namespace_flags(plan)) < 0)
        throw SetupError(Stage::Namespaces, std::string("unshare mount/pid/uts/ipc/net/cgroup: ") + std::strerror(errno),
                         "the kernel refused nested namespaces inside the user namespace; check "
                         "/proc/sys/user/max_*_namespaces");
}

void setup_hostname(const NamespacePlan& plan) {
    if (!plan.uts) return;
    if (::sethostname(plan.hostname.data(), plan.hostname.size()) < 0)
        throw SetupError(Stage::Uts, "sethostname " + plan.hostname + ": " + std::strerror(errno));
}

void setup_loopback() {
    UniqueFd sock = dgram_socket(AF_INET);
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    check(::ioctl(sock.get(), SIOCGIFFLAGS, &request), "get flags of", "lo");
    request.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (::ioctl(sock.get(), SIOCSIFFLAGS, &request) < 0)
        throw SetupError(Stage::Network, std::string("bring up lo: ") + std::strerror(errno));
}

}  // namespace sb

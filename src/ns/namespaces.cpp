#include "ns/namespaces.hpp"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/sockios.h>
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
    if (plan.cgroup) flags |= CLONE_NEWCGROUP;
    return flags;
}

void setup_hostname(const NamespacePlan& plan) {
    if (!plan.uts) return;
    if (::sethostname(plan.hostname.data(), plan.hostname.size()) < 0)
        throw SetupError(Stage::Uts, "sethostname " + plan.hostname + ": " + std::strerror(errno));
}

void join_user_namespace(int user_namespace) {
    if (::setns(user_namespace, CLONE_NEWUSER) < 0) {
        int err = errno;
        throw SetupError(Stage::Namespaces, std::string("join the sandbox's user namespace: ") + std::strerror(err))
            .caused_by(err);
    }
}

UniqueFd create_network_namespace() {
    if (::unshare(CLONE_NEWNET) < 0) {
        int err = errno;
        throw SetupError(Stage::Namespaces, std::string("unshare net: ") + std::strerror(err),
                         "the kernel refused a network namespace inside the user namespace; check "
                         "/proc/sys/user/max_net_namespaces")
            .caused_by(err);
    }
    // A socket of the new namespace brings up lo, then names the namespace for I.
    UniqueFd sock = dgram_socket(AF_INET);
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    check(::ioctl(sock.get(), SIOCGIFFLAGS, &request), "get flags of", "lo");
    request.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (::ioctl(sock.get(), SIOCSIFFLAGS, &request) < 0)
        throw SetupError(Stage::Network, std::string("bring up lo: ") + std::strerror(errno));
    int ns = ::ioctl(sock.get(), SIOCGSKNS);  // born O_CLOEXEC, as every namespace fd the kernel opens
    check(ns, "name the network namespace of", "lo's socket");
    return UniqueFd(ns);
}

void join_network_namespace(int fd) {
    if (::setns(fd, CLONE_NEWNET) < 0) {
        int err = errno;
        throw SetupError(Stage::Namespaces, std::string("join the sandbox's network namespace: ") + std::strerror(err))
            .caused_by(err);
    }
}

}  // namespace sb

#include "seccomp/apply.hpp"

#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "sys/error.hpp"

namespace sb {

UniqueFd apply_seccomp(const SeccompProgram& program, bool want_listener) {
    if (program.code.empty()) return UniqueFd();  // [security] seccomp = false (compile gives code otherwise)
    sock_fprog prog{static_cast<unsigned short>(program.code.size()), const_cast<sock_filter*>(program.code.data())};
    // The listener is born CLOEXEC (the kernel makes it so), and a filter with notify actions but
    // no listener answers ENOSYS, so pid 1 can load the same program without one.
    unsigned flags = program.notify && want_listener ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
    long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (rc < 0)
        throw SysError("seccomp", "SECCOMP_SET_MODE_FILTER", errno,
                       errno == EINVAL ? "the kernel refused the filter: seccomp filters need Linux 3.17 (user "
                                         "notification for --learn/--violations needs 5.0)"
                                       : "");
    return flags ? UniqueFd(static_cast<int>(rc)) : UniqueFd();
}

bool kernel_runs_x32() {
#if defined(__x86_64__)
    if (::prctl(PR_GET_SECCOMP) != 0) return true;  // filtered already: the probe itself may be fatal
    constexpr long kX32Bit = 0x40000000;
    return ::syscall(kX32Bit | SYS_getpid) == ::getpid();
#else
    return false;
#endif
}

}  // namespace sb

#include "caps/caps.hpp"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <string>

#include "sys/error.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

int last_capability() {
    auto text = read_text_file("/proc/sys/kernel/cap_last_cap");
    if (!text || text->empty() || !std::isdigit(static_cast<unsigned char>((*text)[0]))) return CAP_LAST_CAP;
    return std::stoi(*text);
}

bool wanted(const std::vector<int>& keep, int cap) {
    return std::find(keep.begin(), keep.end(), cap) != keep.end();
}

}  // namespace

void apply_capability_bounds(const std::vector<int>& keep) {
    int last = last_capability();
    for (int cap = 0; cap <= last; ++cap)
        if (!wanted(keep, cap) && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            throw SysError("drop bounding capability", std::to_string(cap), errno);
    check(::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient capabilities");
}

void apply_capability_sets(const std::vector<int>& keep) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    for (int cap : keep) {
        data[cap / 32].permitted |= 1u << (cap % 32);
        data[cap / 32].effective |= 1u << (cap % 32);
    }
    check(::syscall(SYS_capset, &header, data), "capset");
}

void apply_no_new_privs() {
    check(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl", "PR_SET_NO_NEW_PRIVS");
}

}  // namespace sb

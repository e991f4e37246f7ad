#include "seccomp/monitor.hpp"

#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "seccomp/violations.hpp"
#include "sys/error.hpp"

namespace sb {
namespace {

// The kernel's structures may grow: ask for their sizes once and use buffers at least that big.
struct NotifySizes {
    std::size_t notif = sizeof(seccomp_notif), resp = sizeof(seccomp_notif_resp);
};

NotifySizes notify_sizes() {
    seccomp_notif_sizes sizes{};
    NotifySizes result;
    if (::syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0) {
        result.notif = std::max<std::size_t>(result.notif, sizes.seccomp_notif);
        result.resp = std::max<std::size_t>(result.resp, sizes.seccomp_notif_resp);
    }
    return result;
}

std::string executable_of(std::int64_t pid) {
    char path[4096];
    std::string link = "/proc/" + std::to_string(pid) + "/exe";
    ssize_t n = ::readlink(link.c_str(), path, sizeof path);
    return n > 0 ? std::string(path, static_cast<std::size_t>(n)) : std::string();
}

// One write per record (O_APPEND): a line is never torn. False when it was lost.
bool write_line(int fd, const std::string& line) {
    std::string text = line + "\n";
    for (;;) {
        ssize_t n = ::write(fd, text.data(), text.size());
        if (n == static_cast<ssize_t>(text.size())) return true;
        if (n < 0 && errno == EINTR) continue;
        return false;
    }
}

}  // namespace

void SeccompMonitor::record(const std::string& line) {
    ++recorded_;
    if (!write_line(log_, line)) ++lost_;
}

SeccompMonitor::SeccompMonitor(const SeccompPolicy& policy, UniqueFd listener, int log)
    : policy_(policy), listener_(std::move(listener)), log_(log) {}

void SeccompMonitor::handle() {
    static const NotifySizes sizes = notify_sizes();
    std::vector<unsigned char> notif_buf(sizes.notif), resp_buf(sizes.resp);
    auto* notif = reinterpret_cast<seccomp_notif*>(notif_buf.data());
    if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, notif) < 0) {
        // ENOENT: the caller was killed (or its call interrupted) before we read it.
        if (errno == ENOENT || errno == EINTR || errno == EAGAIN) return;
        throw SysError("ioctl SECCOMP_IOCTL_NOTIF_RECV", "seccomp listener", errno);
    }
    RefusedCall call;
    call.abi = abi_name(notif->data.arch, notif->data.nr);
    call.syscall = syscall_name(notif->data.arch, notif->data.nr);
    for (int i = 0; i < 6; ++i) call.args[i] = notif->data.args[i];
    call.pid = notif->pid;
    call.executable = executable_of(notif->pid);
    // The pid may have been reused between the notification and the readlink: keep the name
    // only when the notification is still pending, so it still belongs to that process.
    std::uint64_t id = notif->id;
    if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0) call.executable.clear();
    RefusalVerdict verdict = decide(policy_, call);
    auto* resp = reinterpret_cast<seccomp_notif_resp*>(resp_buf.data());
    resp->id = notif->id;
    if (verdict.let_through) {
        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        let_through_.insert(call.syscall);
    } else {
        resp->error = -verdict.error;
    }
    ++count_;
    if (log_ >= 0 && recorded_ <= kMaxRecords)
        record(recorded_ < kMaxRecords ? violation_json(call, verdict)
                                       : "{\"truncated\":true,\"after\":" + std::to_string(kMaxRecords) + "}");
    if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT)
        throw SysError("ioctl SECCOMP_IOCTL_NOTIF_SEND", "seccomp listener", errno);
}

}  // namespace sb

#include "sys/signals.hpp"

#include "sys/error.hpp"

namespace sb {

const std::vector<int>& forwarded_signals() {
    static const std::vector<int> signals = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
    return signals;
}

sigset_t forwarded_signal_set(bool with_child) {
    sigset_t set;
    sigemptyset(&set);
    for (int signal : forwarded_signals()) sigaddset(&set, signal);
    if (with_child) sigaddset(&set, SIGCHLD);
    return set;
}

sigset_t block_signals(const sigset_t& set) {
    sigset_t old;
    check(::sigprocmask(SIG_BLOCK, &set, &old), "sigprocmask");
    return old;
}

void reset_signals_for_exec() {
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    for (int signal = 1; signal < NSIG; ++signal)
        if (signal != SIGKILL && signal != SIGSTOP) ::sigaction(signal, &action, nullptr);
    sigset_t empty;
    sigemptyset(&empty);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
}

}  // namespace sb

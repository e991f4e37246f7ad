// The signals the supervisor and pid 1 forward to the payload, and their masks.
#pragma once
#include <signal.h>

#include <vector>

namespace sb {

const std::vector<int>& forwarded_signals();  // INT TERM HUP QUIT USR1 USR2 WINCH
// The forwarded signals, plus SIGCHLD when `with_child`.
sigset_t forwarded_signal_set(bool with_child);
// Blocks the set for the calling thread (for a signalfd); returns the old mask.
sigset_t block_signals(const sigset_t& set);
// In a child about to exec: default dispositions and an empty mask.
void reset_signals_for_exec();

}  // namespace sb

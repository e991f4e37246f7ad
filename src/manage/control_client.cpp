#include "manage/control_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "ipc/channel.hpp"
#include "ipc/control.hpp"
#include "state/inspect.hpp"
#include "state/registry.hpp"
#include "sys/error.hpp"
#include "sys/hints.hpp"
#include "sys/signals.hpp"
#include "sys/syscalls.hpp"
#include "term/detach_keys.hpp"
#include "term/terminal.hpp"

namespace sb {
namespace {

constexpr int kDrainMs = 1000;  // after the exit code, how long the pty's last output may take

// The signals a relaying client reads from a signalfd: WINCH (the window's size) and those that
// end it, which it must leave by its normal path, so that its terminal leaves raw mode. SIGPIPE
// (a reader of our output gone) is ignored: the failed write says so instead.
sigset_t relay_signals() {
    ::signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    for (int signal : {SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT}) sigaddset(&set, signal);
    return set;
}

// Reads the pending signals: the ending one (0 if none) and whether the window changed.
int read_relay_signals(int signals, bool& resized) {
    int ending = 0;
    signalfd_siginfo info;
    while (::read(signals, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGWINCH) resized = true;
        else ending = static_cast<int>(info.ssi_signo);
    }
    return ending;
}

SandboxEntry lookup(const HostFacts& facts, const std::string& name) {
    if (!valid_sandbox_name(name))
        throw SetupError(Stage::Lookup, "\"" + name + "\" is not a sandbox name", "see `sandbox ps --all` for the names");
    auto entry = find_sandbox(facts.state_dir, name);
    if (!entry) throw SetupError(Stage::Lookup, "no sandbox named " + name, "see `sandbox ps --all` for the names");
    return *entry;
}

[[noreturn]] void not_running(const SandboxEntry& entry) {
    const std::string& name = entry.record.name;
    if (entry.status == SandboxStatus::Exited)
        throw SetupError(Stage::Lookup, "sandbox " + name + " has exited (exit code " +
                                            std::to_string(*entry.record.exit_code) + ")",
                         "see its output with `sandbox logs " + name + "`; remove it with `sandbox rm " + name + "`");
    throw SetupError(Stage::Lookup,
                     "the supervisor of sandbox " + name + " is gone (it was killed): nothing of the sandbox runs",
                     "its record goes at the next start, or now with `sandbox rm " + name + "`");
}

// A connection to the running sandbox's supervisor; invalid (errno set) when it refuses (it
// ended meanwhile).
UniqueFd try_connect_to(const HostFacts& facts, const SandboxEntry& entry) {
    UniqueFd directory = open_sandbox_directory(facts.state_dir, entry.record.name);
    return directory ? try_connect_seqpacket_at(directory.get(), "control") : UniqueFd();
}

UniqueFd connect_to(const HostFacts& facts, const SandboxEntry& entry) {
    const std::string& name = entry.record.name;
    if (entry.status != SandboxStatus::Running) not_running(entry);
    UniqueFd socket = try_connect_to(facts, entry);
    if (socket) return socket;
    int err = errno;
    SandboxEntry now = lookup(facts, name);
    if (now.status != SandboxStatus::Running) not_running(now);
    if (err == EAGAIN)
        throw SetupError(Stage::Control, "the supervisor of " + name + " is not taking connections (its queue is full)",
                         "a process of yours may be flooding its control socket; try again");
    throw SetupError(Stage::Control, "connect to " + facts.state_dir + "/" + name + "/control: " + std::strerror(err),
                     "the sandbox may be ending; see `sandbox ps --all`");
}

void send_request(int socket, const ControlRequest& request, std::initializer_list<int> fds = {}) {
    std::string packet = encode_control_request(request);
    if (packet.size() > kMaxControlPacket)
        throw UsageError("the command line is too long to send to the sandbox (" + std::to_string(packet.size()) +
                         " bytes encoded; at most " + std::to_string(kMaxControlPacket) + ")");
    try {
        send_packet(socket, packet, fds, "control socket");
    } catch (const SysError& error) {
        throw SetupError(Stage::Control, error.what(), "the sandbox may have ended meanwhile");
    }
}

struct Reply {
    ControlReply reply;
    UniqueFd fd;  // started: the pty's master
};

// The next reply, nullopt when the supervisor closed the connection; an error reply is thrown
// as the supervisor's error.
std::optional<Reply> try_receive_reply(int socket) {
    std::optional<Packet> packet;
    try {
        packet = receive_packet(socket, kMaxReplyPacket, "control socket");
    } catch (const SysError& error) {
        throw SetupError(Stage::Control, error.what());
    }
    if (!packet) return std::nullopt;
    std::string problem;
    auto reply = decode_control_reply(packet->bytes, problem);
    if (!reply) throw SetupError(Stage::Protocol, "the supervisor's reply: " + problem);
    if (reply->type == ControlReplyType::Error) throw SetupError(reply->stage, reply->error, reply->hint, reply->exit_code);
    Reply out{*reply, UniqueFd()};
    if (!packet->fds.empty()) out.fd = std::move(packet->fds.front());
    return out;
}

// The next reply; a connection closed without one is an error saying `closed`.
Reply receive_reply(int socket, const std::string& closed) {
    auto reply = try_receive_reply(socket);
    if (!reply) throw SetupError(Stage::Control, closed);
    return std::move(*reply);
}

void expect(const Reply& reply, ControlReplyType type) {
    if (reply.reply.type != type)
        throw SetupError(Stage::Protocol, "unexpected reply from the supervisor", hint(Cause::Bug));
}

// A connection to the running sandbox NAME that sent `request` and got its first reply, which
// must be `expected`.
struct Conversation {
    UniqueFd socket;
    Reply first;
};
Conversation ask(const HostFacts& facts, const std::string& name, const ControlRequest& request, ControlReplyType expected) {
    UniqueFd socket = connect_to(facts, lookup(facts, name));
    send_request(socket.get(), request);
    Reply first = receive_reply(socket.get(), "the supervisor of " + name + " ended the connection");
    expect(first, expected);
    return Conversation{std::move(socket), std::move(first)};
}

ControlRequest request_of(ControlRequestType type) {
    ControlRequest request;
    request.type = type;
    return request;
}

// The exit code of a sandbox that ended while we were connected (the record says it when kept).
int exit_code_after_close(const HostFacts& facts, const std::string& name) {
    auto entry = find_sandbox(facts.state_dir, name);
    if (entry && entry->record.exit_code) return *entry->record.exit_code;
    if (entry && entry->status == SandboxStatus::Gone) not_running(*entry);
    throw SetupError(Stage::Control, "sandbox " + name + " ended, and its exit code was not kept",
                     "run it with --detach (without --rm) to keep its record");
}

// Waits for the final reply on a connection that asked to wait (wait, stop).
int await_exit(const HostFacts& facts, const std::string& name, int socket) {
    auto reply = try_receive_reply(socket);
    if (!reply) return exit_code_after_close(facts, name);
    expect(*reply, ControlReplyType::Exited);
    return reply->reply.exit_code;
}

// `sandbox exec` on a pty: our terminal <-> the pty's master, until the command's exit code has
// come and the pty's last output is out (or kDrainMs passed).
int relay_pty(int socket, UniqueFd master, unsigned terminal_fds) {
    int terminal = -1;
    for (int fd : {STDOUT_FILENO, STDERR_FILENO, STDIN_FILENO})
        if (terminal < 0 && (terminal_fds & (1u << fd)) && is_terminal(fd)) terminal = fd;
    bool typing = (terminal_fds & 1u) && is_terminal(STDIN_FILENO);
    if (terminal >= 0) copy_window_size(terminal, master.get());
    std::optional<RawTerminal> raw;
    if (typing) raw.emplace(STDIN_FILENO);
    sigset_t handled = relay_signals();
    sigset_t old = block_signals(handled);
    UniqueFd signals = make_signalfd(handled);
    int ended_by = 0;
    UniqueFd output = reopen_terminal_for_writing(terminal >= 0 ? terminal : STDOUT_FILENO);
    set_nonblocking(master.get());
    PtyRelay relay(std::move(master), typing ? STDIN_FILENO : -1, std::move(output));
    std::optional<int> exit_code;
    long long drain_until = 0;
    while (!relay.finished()) {
        std::vector<pollfd> fds;
        fds.push_back({signals.get(), POLLIN, 0});
        fds.push_back({exit_code ? -1 : socket, POLLIN, 0});
        short master_events = static_cast<short>((relay.wants_master_read() ? POLLIN : 0) |
                                                 (relay.wants_master_write() ? POLLOUT : 0));
        fds.push_back({master_events ? relay.master() : -1, master_events, 0});
        fds.push_back({relay.wants_input() ? relay.input() : -1, POLLIN, 0});
        fds.push_back({relay.wants_output() ? relay.output() : -1, POLLOUT, 0});
        int timeout = exit_code ? static_cast<int>(std::max(0LL, drain_until - monotonic_ms())) : -1;
        int ready = ::poll(fds.data(), fds.size(), timeout);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) throw SysError("poll", "exec relay", errno);
        if (ready == 0 && exit_code) break;
        if (fds[0].revents) {
            bool resized = false;
            ended_by = read_relay_signals(signals.get(), resized);
            if (resized && terminal >= 0) copy_window_size(terminal, relay.master());
            if (ended_by) break;  // our caller goes: the command is hung up (the master closes)
        }
        if (fds[1].revents) {
            Reply reply = receive_reply(socket, "the supervisor ended the connection before the command's exit code");
            expect(reply, ControlReplyType::Exited);
            exit_code = reply.reply.exit_code;
            drain_until = monotonic_ms() + kDrainMs;
        }
        if (fds[2].revents & POLLOUT) relay.write_master();
        if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) relay.read_master();
        if (fds[3].revents) relay.read_input();
        if (fds[4].revents) relay.write_output();
    }
    raw.reset();
    if (typing) discard_pending_input(STDIN_FILENO);
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    if (ended_by) return 128 + ended_by;
    if (!exit_code) {
        Reply reply = receive_reply(socket, "the supervisor ended the connection before the command's exit code");
        expect(reply, ControlReplyType::Exited);
        exit_code = reply.reply.exit_code;
    }
    return *exit_code;
}

}  // namespace

int kill_sandbox(const HostFacts& facts, const std::string& name, const std::string& signal_name) {
    auto signal = parse_signal(signal_name);
    if (!signal) throw UsageError("--signal " + signal_name + ": not a signal (TERM, KILL, HUP, INT, USR1, ... or a number)");
    ControlRequest request = request_of(ControlRequestType::Kill);
    request.signal = *signal;
    ask(facts, name, request, ControlReplyType::Accepted);
    std::cout << name << "\n";
    return 0;
}

int stop_sandbox(const HostFacts& facts, const std::string& name, unsigned grace_seconds) {
    SandboxEntry entry = lookup(facts, name);
    // As podman: stopping a stopped one is no error. A gone one (its supervisor was killed) took
    // everything with it: nothing runs.
    if (entry.status != SandboxStatus::Running) {
        if (entry.status == SandboxStatus::Gone)
            std::cerr << "sandbox: note: the supervisor of " << name << " was killed; nothing of the sandbox runs\n";
        std::cout << name << "\n";
        return 0;
    }
    UniqueFd socket = entry.status == SandboxStatus::Running ? try_connect_to(facts, entry) : UniqueFd();
    if (!socket) {
        entry = lookup(facts, name);  // it may have ended meanwhile
        if (entry.status != SandboxStatus::Exited) socket = connect_to(facts, entry);
    }
    if (!socket) {
        std::cout << name << "\n";
        return 0;
    }
    ControlRequest request;
    request.type = ControlRequestType::Stop;
    request.grace_ms = grace_seconds * 1000u;
    send_request(socket.get(), request);
    expect(receive_reply(socket.get(), "the supervisor of " + name + " ended the connection"), ControlReplyType::Accepted);
    // Ended: with its exit code, or (a record not kept) without; stopped either way.
    if (auto reply = try_receive_reply(socket.get())) expect(*reply, ControlReplyType::Exited);
    std::cout << name << "\n";
    return 0;
}

int wait_sandbox(const HostFacts& facts, const std::string& name) {
    SandboxEntry entry = lookup(facts, name);
    std::optional<int> code;
    if (entry.status == SandboxStatus::Running) {
        UniqueFd socket = try_connect_to(facts, entry);
        if (socket) {
            ControlRequest request;
            request.type = ControlRequestType::Wait;
            send_request(socket.get(), request);
            code = await_exit(facts, name, socket.get());
        } else {
            entry = lookup(facts, name);  // ended meanwhile
        }
    }
    if (!code && entry.status != SandboxStatus::Exited) not_running(entry);
    if (!code) code = *entry.record.exit_code;
    std::cout << *code << "\n";
    return *code;
}

int exec_in_sandbox(const HostFacts& facts, const std::string& name, const ExecOptions& options) {
    for (const auto& var : options.env)
        if (var.find('=') == std::string::npos || var[0] == '=') throw UsageError("-e " + var + ": expected NAME=VALUE");
    if (!options.cwd.empty() && options.cwd[0] != '/') throw UsageError("-w " + options.cwd + ": expected an absolute path");
    UniqueFd socket = connect_to(facts, lookup(facts, name));
    ControlRequest request;
    request.type = ControlRequestType::Exec;
    request.argv = options.argv;
    request.env = options.env;
    request.cwd = options.cwd;
    // The caller's terminal never goes inside (TIOCSTI, job control): each of our stdio that is
    // one is replaced by a pty of the sandbox's own; -t asks for one even without a terminal.
    request.terminal_fds = terminal_fd_mask();
    if (options.tty && !request.terminal_fds) request.terminal_fds = 7;
    // A closed standard stream is /dev/null for the command (as a shell would give it).
    int stdio[3];
    UniqueFd null;
    for (int fd = 0; fd < 3; ++fd) {
        stdio[fd] = fd;
        if (::fcntl(fd, F_GETFD) >= 0) continue;
        if (!null) null = open_fd("/dev/null", O_RDWR);
        stdio[fd] = null.get();
    }
    send_request(socket.get(), request, {stdio[0], stdio[1], stdio[2]});
    Reply started = receive_reply(socket.get(), "the supervisor of " + name + " ended the connection");
    expect(started, ControlReplyType::Started);
    if (request.terminal_fds && started.fd) return relay_pty(socket.get(), std::move(started.fd), request.terminal_fds);
    Reply exited = receive_reply(socket.get(), "the supervisor ended the connection before the command's exit code");
    expect(exited, ControlReplyType::Exited);
    return exited.reply.exit_code;
}

namespace {

// The last `lines` lines of `text` (all when negative).
std::string last_lines(const std::string& text, long lines) {
    if (lines < 0) return text;
    std::size_t at = text.size();
    if (at > 0 && text[at - 1] == '\n') --at;  // the final newline ends the last line
    for (long seen = 0; at > 0; --at)
        if (text[at - 1] == '\n' && ++seen == lines) break;
    return lines == 0 ? std::string() : text.substr(at);
}

std::string read_all(int fd) {
    std::string text;
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return text;
        text.append(buffer, static_cast<std::size_t>(n));
    }
}

void write_out(const std::string& text) {
    std::cout << text;
    std::cout.flush();
}

}  // namespace

int show_logs(const HostFacts& facts, const std::string& name, bool follow, long tail) {
    SandboxEntry entry = lookup(facts, name);
    UniqueFd directory = open_sandbox_directory(facts.state_dir, name);
    if (!directory) throw SetupError(Stage::Logs, "no directory for sandbox " + name);
    UniqueFd current = try_open_at(directory.get(), "log", O_RDONLY | O_NOFOLLOW);
    if (!current)
        throw SetupError(Stage::Logs, "sandbox " + name + " has no log",
                         "only sandboxes started with --detach keep their output; the others print it");
    UniqueFd old = try_open_at(directory.get(), "log.1", O_RDONLY | O_NOFOLLOW);
    std::string text = (old ? read_all(old.get()) : std::string()) + read_all(current.get());
    write_out(last_lines(text, tail));
    if (!follow) return 0;
    // Until the supervisor is gone: what is appended, and after a rotation the new file.
    struct stat opened;
    ::fstat(current.get(), &opened);
    for (;;) {
        auto now_entry = find_sandbox(facts.state_dir, name);
        bool running = now_entry && now_entry->status == SandboxStatus::Running;
        write_out(read_all(current.get()));
        struct stat now;
        if (::fstatat(directory.get(), "log", &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_ino != opened.st_ino) {
            UniqueFd fresh = try_open_at(directory.get(), "log", O_RDONLY | O_NOFOLLOW);
            if (fresh) {
                write_out(read_all(current.get()));  // the end of the rotated file
                current = std::move(fresh);
                ::fstat(current.get(), &opened);
                continue;
            }
        }
        if (!running) {
            write_out(read_all(current.get()));
            return 0;
        }
        timespec pause{0, 100 * 1000 * 1000};
        ::nanosleep(&pause, nullptr);
    }
}

namespace {

std::optional<AttachFrame> window_size_frame(int terminal) {
    winsize size{};
    if (terminal < 0 || ::ioctl(terminal, TIOCGWINSZ, &size) < 0 || !size.ws_row || !size.ws_col) return std::nullopt;
    AttachFrame frame;
    frame.kind = FrameKind::Resize;
    frame.rows = size.ws_row;
    frame.columns = size.ws_col;
    return frame;
}

void send_frame(int socket, const AttachFrame& frame) {
    try {
        send_packet(socket, encode_frame(frame), {}, "control socket");
    } catch (const SysError&) {
        // The sandbox ended meanwhile: its exit frame or the end of the connection says so.
    }
}

}  // namespace

int attach_sandbox(const HostFacts& facts, const std::string& name, bool no_stdin) {
    Conversation conversation = ask(facts, name, request_of(ControlRequestType::Attach), ControlReplyType::Attached);
    UniqueFd socket = std::move(conversation.socket);
    const Reply& attached = conversation.first;
    // Without a pty the payload has no input of ours to take: we only watch.
    bool typing = attached.reply.tty && !no_stdin;
    int terminal = is_terminal(STDOUT_FILENO) ? STDOUT_FILENO : is_terminal(STDIN_FILENO) ? STDIN_FILENO : -1;
    std::optional<RawTerminal> raw;
    if (typing && is_terminal(STDIN_FILENO)) raw.emplace(STDIN_FILENO);
    sigset_t handled = relay_signals();
    sigset_t old = block_signals(handled);
    UniqueFd signals = make_signalfd(handled);
    int ended_by = 0;
    // The window's size is the payload's business only when we type into it.
    if (typing)
        if (auto size = window_size_frame(terminal)) send_frame(socket.get(), *size);
    DetachKeys keys;
    std::optional<int> exit_code;
    bool detached = false, input_open = typing;
    while (!exit_code && !detached) {
        pollfd fds[3] = {{signals.get(), POLLIN, 0}, {socket.get(), POLLIN, 0}, {input_open ? STDIN_FILENO : -1, POLLIN, 0}};
        int ready = ::poll(fds, 3, -1);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) throw SysError("poll", "attach", errno);
        if (fds[0].revents) {
            bool resized = false;
            ended_by = read_relay_signals(signals.get(), resized);
            if (resized && typing)
                if (auto size = window_size_frame(terminal)) send_frame(socket.get(), *size);
            if (ended_by) break;  // we go; the sandbox runs on
        }
        if (fds[1].revents) {
            std::optional<Packet> packet;
            try {
                packet = receive_packet(socket.get(), kMaxControlPacket, "control socket");
            } catch (const SysError& error) {
                throw SetupError(Stage::Control, error.what());
            }
            if (!packet) break;  // the sandbox ended and its exit frame did not come
            auto frame = decode_frame(packet->bytes);
            if (!frame) throw SetupError(Stage::Protocol, "a malformed frame from the supervisor", hint(Cause::Bug));
            if (frame->kind == FrameKind::Data) {
                try {
                    write_all(STDOUT_FILENO, frame->data, "standard output");
                } catch (const SysError&) {
                    ended_by = SIGPIPE;  // nobody reads what we show: we go, the sandbox runs on
                    break;
                }
            }
            else if (frame->kind == FrameKind::Exited) exit_code = frame->exit_code;
        }
        if (fds[2].revents) {
            char buffer[4096];
            ssize_t got = ::read(STDIN_FILENO, buffer, sizeof buffer);
            if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (got <= 0) {
                input_open = false;  // end of our input: the payload goes on without it
                continue;
            }
            DetachKeys::Result typed = keys.feed(std::string_view(buffer, static_cast<std::size_t>(got)));
            if (!typed.pass.empty()) send_frame(socket.get(), AttachFrame{FrameKind::Data, typed.pass, 0, 0, 0});
            detached = typed.detach;
        }
    }
    raw.reset();
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    if (ended_by) return 128 + ended_by;
    if (detached) {
        std::cerr << "\nsandbox: detached from " << name << "; it runs on (sandbox attach " << name << ")\n";
        return 0;
    }
    return exit_code ? *exit_code : exit_code_after_close(facts, name);
}

int inspect_sandbox(const HostFacts& facts, const std::string& name, bool json) {
    Reply inspected = ask(facts, name, request_of(ControlRequestType::Inspect), ControlReplyType::Inspected).first;
    if (json) {
        std::cout << inspected.reply.document << "\n";
        return 0;
    }
    auto text = render_inspect_text(inspected.reply.document);
    if (!text) throw SetupError(Stage::Protocol, "the supervisor's inspection is malformed", hint(Cause::Bug));
    std::cout << *text;
    return 0;
}

int remove_sandboxes(const HostFacts& facts, const std::vector<std::string>& names) {
    int code = 0;
    for (const auto& name : names) {
        try {
            SandboxEntry entry = lookup(facts, name);
            if (entry.status == SandboxStatus::Running)
                throw SetupError(Stage::State, "sandbox " + name + " is running",
                                 "stop it first with `sandbox stop " + name + "`");
            if (!remove_sandbox(facts.state_dir, name))
                throw SetupError(Stage::State, "could not remove " + facts.state_dir + "/" + name);
            std::cout << name << "\n";
        } catch (const SetupError& error) {
            std::cerr << "sandbox: " << to_string(error.stage()) << ": " << error.message() << "\n";
            if (!error.hint().empty()) std::cerr << "hint: " << error.hint() << "\n";
            code = error.exit_code();
        }
    }
    return code;
}

}  // namespace sb

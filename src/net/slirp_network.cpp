#include "net/slirp_network.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <slirp/libslirp.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "net/libslirp.hpp"
#include "sys/error.hpp"
#include "sys/syscalls.hpp"

namespace sb {

struct SlirpNetwork::Timer {
    SlirpTimerId id;
    void* cb_opaque;
    std::int64_t expire_ms = -1;
};

namespace {

std::int64_t now_ns() {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

SlirpNetwork& self(void* opaque) { return *static_cast<SlirpNetwork*>(opaque); }

// libslirp's callbacks: noexcept trampolines into the SlirpNetwork.
ssize_t send_packet(const void* buf, size_t len, void* opaque) noexcept {
    self(opaque).deliver_from_slirp(static_cast<const std::uint8_t*>(buf), len);
    return static_cast<ssize_t>(len);
}
void guest_error(const char*, void*) noexcept {}
int64_t clock_get_ns(void*) noexcept { return now_ns(); }
void* timer_new_opaque(SlirpTimerId id, void* cb_opaque, void* opaque) noexcept {
    auto timer = std::make_unique<SlirpNetwork::Timer>(SlirpNetwork::Timer{id, cb_opaque, -1});
    void* handle = timer.get();
    self(opaque).timers().push_back(std::move(timer));
    return handle;
}
void timer_free(void* timer, void* opaque) noexcept {
    auto& timers = self(opaque).timers();
    timers.erase(std::remove_if(timers.begin(), timers.end(), [&](const auto& t) { return t.get() == timer; }),
                 timers.end());
}
void timer_mod(void* timer, int64_t expire_ms, void*) noexcept {
    static_cast<SlirpNetwork::Timer*>(timer)->expire_ms = expire_ms;
}
void* timer_new_unused(SlirpTimerCb, void*, void*) noexcept { return nullptr; }
void register_poll_fd(int, void*) noexcept {}
void unregister_poll_fd(int, void*) noexcept {}
void notify(void*) noexcept {}

const SlirpCb kCallbacks = {
    send_packet, guest_error, clock_get_ns, timer_new_unused, timer_free, timer_mod,
    register_poll_fd, unregister_poll_fd, notify, nullptr, timer_new_opaque,
};

short to_poll_events(int slirp_events) {
    short events = 0;
    if (slirp_events & SLIRP_POLL_IN) events |= POLLIN;
    if (slirp_events & SLIRP_POLL_OUT) events |= POLLOUT;
    if (slirp_events & SLIRP_POLL_PRI) events |= POLLPRI;
    return events;
}

int to_slirp_events(short revents) {
    int events = 0;
    if (revents & POLLIN) events |= SLIRP_POLL_IN;
    if (revents & POLLOUT) events |= SLIRP_POLL_OUT;
    if (revents & POLLPRI) events |= SLIRP_POLL_PRI;
    if (revents & (POLLERR | POLLNVAL)) events |= SLIRP_POLL_ERR;
    if (revents & POLLHUP) events |= SLIRP_POLL_HUP;
    return events;
}

in_addr v4(const IpAddress& address) {
    in_addr out{};
    std::memcpy(&out, address.bytes.data(), 4);
    return out;
}

in6_addr v6(const IpAddress& address) {
    in6_addr out{};
    std::memcpy(&out, address.bytes.data(), 16);
    return out;
}

SlirpConfig slirp_config(const SlirpSettings& settings, const GuestAddresses& addresses) {
    SlirpConfig config{};
    config.version = 4;
    config.in_enabled = true;
    config.vnetwork = v4(settings.subnet4.base);
    config.vnetmask.s_addr = htonl(settings.subnet4.prefix ? ~0u << (32 - settings.subnet4.prefix) : 0);
    config.vhost = v4(addresses.gateway4);
    config.in6_enabled = true;
    config.vprefix_addr6 = v6(settings.subnet6.base);
    config.vprefix_len = static_cast<std::uint8_t>(settings.subnet6.prefix);
    config.vhost6 = v6(addresses.gateway6);
    config.vdhcp_start = v4(addresses.guest4);
    config.vnameserver = v4(addresses.dns4);
    if (!settings.allow_domains.empty()) {
        // The DNS address's TCP goes to our resolver (start_tcp_dns), which libslirp allows
        // only for an address that is not its own DNS forwarder's: that moves to one nothing
        // reaches (the egress filter denies the virtual network's other addresses).
        IpAddress unused = settings.subnet4.base;
        unused.bytes[3] = static_cast<std::uint8_t>(unused.bytes[3] + 4);
        config.vnameserver = v4(unused);
    }
    config.vnameserver6 = v6(addresses.dns6);
    config.if_mtu = settings.mtu;
    config.if_mru = settings.mtu;
    // The host-loopback policy is the egress filter's (libslirp's own would also drop the
    // answers of UDP port forwards, which reach the sandbox from the gateway's address).
    config.disable_host_loopback = false;
    config.enable_emu = false;
    config.disable_dhcp = true;  // eth0 is configured statically
    return config;
}

}  // namespace

namespace {

// libslirp gives every TCP connection two socket buffers of 128 to 192 KB and frees them when
// it closes. glibc maps such a buffer, unless an earlier free raised its (dynamic) threshold:
// then the heap grows for it, reallocs copy it, and the heap is trimmed back at the free, so
// each connection paid for heap pages zeroed anew and a copy: about a third of a connection's
// latency here. A fixed threshold keeps them mapped (a realloc is then an mremap). It is
// process-wide, for the rest of the supervisor's life, and only turns the dynamic rule off:
// 128 KiB is glibc's own starting value.
void keep_socket_buffers_mapped() { ::mallopt(M_MMAP_THRESHOLD, 128 << 10); }

}  // namespace

// The host's resolver, for allow_domains without `dns`: the first nameserver of /etc/resolv.conf.
static std::optional<ServerAddress> host_resolver() {
    auto text = read_text_file("/etc/resolv.conf");
    if (!text) return std::nullopt;
    std::size_t start = 0;
    while (start < text->size()) {
        std::size_t end = text->find('\n', start);
        if (end == std::string::npos) end = text->size();
        std::string line = text->substr(start, end - start);
        start = end + 1;
        if (line.rfind("nameserver", 0) != 0) continue;
        std::string value = line.substr(10);
        value.erase(0, value.find_first_not_of(" \t"));
        value = value.substr(0, value.find_first_of(" \t%"));
        if (auto address = parse_ip(value)) return ServerAddress{*address, 53};
    }
    return std::nullopt;
}

SlirpNetwork::SlirpNetwork(const SlirpSettings& settings, UniqueFd frames, int violations)
    : settings_(settings), addresses_(guest_addresses(settings)), frames_(std::move(frames)) {
    domain_mode_ = !settings.allow_domains.empty();
    violations_ = violations;
    upstream_ = settings.dns ? settings.dns : domain_mode_ ? host_resolver() : std::nullopt;
    virtual_network_ = {settings.subnet4, settings.subnet6,  addresses_.gateway4, addresses_.gateway6,
                        settings.allow_host_loopback, addresses_.dns4, addresses_.dns6, {}};
    for (const auto& forward : settings.ports)
        virtual_network_.forwarded_ports.emplace_back(forward.protocol, forward.guest_port);
    set_nonblocking(frames_.get());
    keep_socket_buffers_mapped();
    SlirpConfig config = slirp_config(settings, addresses_);
    slirp_ = libslirp().new_instance(&config, &kCallbacks, this);
    if (!slirp_) throw SetupError(Stage::Network, "libslirp could not start");
    open_forwards(settings);
    if (domain_mode_) start_tcp_dns();
}

SlirpNetwork::~SlirpNetwork() {
    // Closes every socket and listener of this network on the host.
    if (slirp_) libslirp().cleanup(slirp_);
    if (!dns_socket_dir_.empty()) {
        ::unlink((dns_socket_dir_ + "/dns").c_str());
        ::rmdir(dns_socket_dir_.c_str());
    }
}

// allow_domains: TCP to the DNS address (port 53) reaches a Unix socket of ours in a private
// directory ($XDG_RUNTIME_DIR, else /tmp), through libslirp's guest forwarding.
void SlirpNetwork::start_tcp_dns() {
    const char* runtime = ::getenv("XDG_RUNTIME_DIR");
    std::string pattern = std::string(runtime && runtime[0] == '/' ? runtime : "/tmp") + "/sandbox-dns.XXXXXX";
    if (!::mkdtemp(pattern.data())) throw SysError("mkdtemp", pattern, errno);
    dns_socket_dir_ = pattern;
    UniqueFd dir = open_fd(dns_socket_dir_, O_PATH | O_DIRECTORY);
    dns_listener_ = listen_stream_at(dir.get(), "dns");
    in_addr guest = v4(addresses_.dns4);
    if (libslirp().add_unix(slirp_, (dns_socket_dir_ + "/dns").c_str(), &guest, 53) < 0)
        throw SetupError(Stage::Network, "libslirp would not forward DNS over TCP to " + dns_socket_dir_ + "/dns");
}

void SlirpNetwork::accept_dns_clients() {
    while (dns_clients_.size() < 16) {
        UniqueFd client = accept_connection(dns_listener_.get());
        if (!client) return;
        dns_clients_.push_back({std::move(client), {}, {}, now_ns() / 1000000 + 30000, ++dns_client_ids_});
    }
}

void SlirpNetwork::serve_dns_client(DnsClient& client, short events) {
    std::int64_t now = now_ns() / 1000000;
    if (events & POLLIN) {
        char buffer[4096];
        ssize_t got = ::read(client.fd.get(), buffer, sizeof buffer);
        if (got == 0 || (got < 0 && errno != EAGAIN)) {
            // Closed or failed: an answer still owed is not written; dropped below.
            client.failed = got < 0 || client.out.empty();
            client.idle_until_ms = 0;
            return;
        }
        if (got < 0) return;
        client.in.append(buffer, static_cast<std::size_t>(got));
        client.idle_until_ms = now + 30000;
        if (client.in.size() > 65536 + 2) client.idle_until_ms = 0;
        while (client.in.size() >= 2) {
            std::size_t size = static_cast<std::uint8_t>(client.in[0]) << 8 | static_cast<std::uint8_t>(client.in[1]);
            if (client.in.size() < 2 + size) break;
            std::vector<std::uint8_t> query(client.in.begin() + 2, client.in.begin() + 2 + static_cast<std::ptrdiff_t>(size));
            client.in.erase(0, 2 + size);
            take_dns_query(query, nullptr, 0, nullptr, &client);
        }
    }
    if ((events & POLLOUT) && !client.out.empty()) {
        ssize_t put = ::write(client.fd.get(), client.out.data(), client.out.size());
        if (put > 0) client.out.erase(0, static_cast<std::size_t>(put));
        else if (put < 0 && errno != EAGAIN) client.failed = true;
    }
    if (events & (POLLHUP | POLLERR | POLLNVAL)) client.failed = true;
}

void SlirpNetwork::open_forwards(const SlirpSettings& settings) {
    for (const auto& forward : settings.ports) {
        int rc;
        errno = 0;
        if (forward.host_address.family == IpFamily::V4) {
            rc = libslirp().add_hostfwd(slirp_, forward.protocol == Protocol::Udp, v4(forward.host_address), forward.host_port,
                                   v4(addresses_.guest4), forward.guest_port);
        } else {
            sockaddr_in6 host{}, guest{};
            host.sin6_family = guest.sin6_family = AF_INET6;
            host.sin6_addr = v6(forward.host_address);
            host.sin6_port = htons(forward.host_port);
            guest.sin6_addr = v6(addresses_.guest6);
            guest.sin6_port = htons(forward.guest_port);
            rc = libslirp().add_hostxfwd(slirp_, reinterpret_cast<sockaddr*>(&host), sizeof host,
                                    reinterpret_cast<sockaddr*>(&guest), sizeof guest,
                                    forward.protocol == Protocol::Udp ? SLIRP_HOSTFWD_UDP : 0);
        }
        if (rc < 0) {
            int err = errno ? errno : EADDRINUSE;
            throw SetupError(Stage::Network, "forward " + format_port_forward(forward) + ": cannot listen on the host: " +
                                            std::strerror(err),
                             "choose another host port in [network] ports, or stop what listens there");
        }
    }
}

void SlirpNetwork::deliver_from_slirp(const std::uint8_t* frame, std::size_t length) {
    // Only libslirp's frames can carry a forward's datagrams (the filter's own replies and the
    // DNS answers come from elsewhere); noted before the sandbox can answer them.
    if (auto packet = inspect_frame(frame, length))
        if (auto flow = forward_delivery(*packet, virtual_network_)) udp_flows_.delivered(*flow, now_ns() / 1000000);
    send_to_guest(frame, length);
}

void SlirpNetwork::send_to_guest(const std::uint8_t* frame, std::size_t length) {
    // Non-blocking: when the sandbox does not take frames, drop them (TCP retransmits).
    ssize_t ignored = ::write(frames_.get(), frame, length);
    (void)ignored;
}

void SlirpNetwork::read_frames() {
    std::uint8_t frame[65536 + 64];
    for (int budget = 64; budget > 0; --budget) {
        ssize_t got = ::read(frames_.get(), frame, sizeof frame);
        if (got <= 0) return;  // EAGAIN: all read; the sandbox's end is gone otherwise
        auto length = static_cast<std::size_t>(got);
        auto packet = inspect_frame(frame, length);
        Verdict verdict =
            packet ? egress_verdict(*packet, settings_.outside, settings_.egress, virtual_network_, udp_flows_,
                                    now_ns() / 1000000)
                   : Verdict::Pass;
        std::vector<std::uint8_t> reply;
        if (verdict == Verdict::Pass && packet && forward_dns(frame, length, *packet)) continue;
        if (verdict == Verdict::Pass && packet && domain_mode_) verdict = gate_outgoing(*packet);
        if (verdict == Verdict::Pass) libslirp().input(slirp_, frame, static_cast<int>(length));
        else if (verdict == Verdict::Reset) reply = tcp_reset_for(frame, length, *packet);
        else if (verdict == Verdict::Unreachable) reply = icmp_unreachable_for(frame, length, *packet, virtual_network_);
        if (!reply.empty()) send_to_guest(reply.data(), reply.size());
    }
}

// With `dns` in the profile, queries to the sandbox's DNS address go to that resolver (UDP);
// libslirp's own forwarder would ask the host's. Returns true when the frame was taken.
bool SlirpNetwork::forward_dns(const std::uint8_t* frame, std::size_t length, const PacketInfo& packet) {
    if (!settings_.dns && !domain_mode_) return false;
    if (!(packet.destination == addresses_.dns4 || packet.destination == addresses_.dns6)) return false;
    if (packet.destination_port != 53) return false;
    if (packet.protocol == Protocol::Tcp && domain_mode_) {
        // IPv4: libslirp hands it to our resolver (start_tcp_dns). IPv6 cannot be forwarded so:
        // refused, and the sandbox's resolver asks the IPv4 address.
        if (packet.destination == addresses_.dns4) return false;
        auto reply = tcp_reset_for(frame, length, packet);
        if (!reply.empty()) send_to_guest(reply.data(), reply.size());
        return true;
    }
    if (packet.protocol != Protocol::Udp) return false;
    std::vector<std::uint8_t> payload = udp_payload(frame, length, packet);
    if (payload.empty() || dns_queries_.size() >= 256) return true;  // malformed, or flooding: drop
    take_dns_query(payload, frame, length, &packet, nullptr);
    return true;
}

void SlirpNetwork::take_dns_query(const std::vector<std::uint8_t>& payload, const std::uint8_t* frame, std::size_t length,
                                  const PacketInfo* packet, DnsClient* client) {
    if (dns_queries_.size() >= 256) return;
    DnsQuery query;
    if (client) {
        query.request = payload;
        query.tcp_client = static_cast<long long>(client->id);
    } else {
        query.request.assign(frame, frame + length);
        query.packet = *packet;
    }
    if (domain_mode_) {
        auto message = parse_dns_message(payload.data(), payload.size());
        if (!message || message->is_response() || message->questions.size() != 1) return;  // not a query: dropped
        query.question = message->questions.front();
        DnsVerdict verdict = judge_question(*query.question, settings_.allow_domains);
        if (verdict.refused) {
            record(dns_violation_json(verdict.refused_name, verdict.reason, settings_.learn));
            if (settings_.learn) {
                refusals_.domains.insert(verdict.refused_name);
            } else {
                reply_dns(query, dns_error_reply(payload.data(), payload.size(), kDnsRefused));
                return;
            }
        }
    }
    if (!upstream_) {
        reply_dns(query, dns_error_reply(payload.data(), payload.size(), kDnsServerFailure));
        return;
    }
    const ServerAddress& server = *upstream_;
    try {
        bool ipv4 = server.address.family == IpFamily::V4;
        query.socket = dgram_socket(ipv4 ? AF_INET : AF_INET6);
        query.deadline_ms = now_ns() / 1000000 + 5000;
        sockaddr_storage to{};
        if (ipv4) {
            auto* in = reinterpret_cast<sockaddr_in*>(&to);
            in->sin_family = AF_INET;
            in->sin_port = htons(server.port);
            in->sin_addr = v4(server.address);
        } else {
            auto* in6 = reinterpret_cast<sockaddr_in6*>(&to);
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons(server.port);
            in6->sin6_addr = v6(server.address);
        }
        // Connected: only the resolver's datagrams reach this socket, nothing another process
        // (or the payload, through the gateway) sends to its port.
        if (::connect(query.socket.get(), reinterpret_cast<sockaddr*>(&to), ipv4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)) != 0)
            return;
        std::vector<std::uint8_t> upstream = payload;
        if (query.question) {
            // Our own query with an id of our own: the payload chooses neither.
            if (::getrandom(&query.upstream_id, sizeof query.upstream_id, 0) != sizeof query.upstream_id) return;
            upstream = dns_query_for(*query.question, query.upstream_id);
        }
        if (::send(query.socket.get(), upstream.data(), upstream.size(), MSG_DONTWAIT) >= 0)
            dns_queries_.push_back(std::move(query));
    } catch (const std::exception&) {
        // No socket: the query is lost, the sandbox's resolver retries.
    }
}

// The query's own bytes.
static std::vector<std::uint8_t> asked_bytes(const std::vector<std::uint8_t>& request, const PacketInfo& packet, bool tcp) {
    return tcp ? request : udp_payload(request.data(), request.size(), packet);
}

void SlirpNetwork::reply_dns(const DnsQuery& query, const std::vector<std::uint8_t>& answer) {
    if (answer.empty()) return;
    if (query.tcp_client < 0) {
        auto reply = udp_reply_for(query.request.data(), query.packet, answer);
        send_to_guest(reply.data(), reply.size());
        return;
    }
    for (auto& client : dns_clients_)
        if (static_cast<long long>(client.id) == query.tcp_client && client.idle_until_ms) {
            if (client.out.size() > 1 << 20) return;  // a client that does not read: its answers are dropped
            client.out.push_back(static_cast<char>(answer.size() >> 8));
            client.out.push_back(static_cast<char>(answer.size() & 0xff));
            client.out.append(answer.begin(), answer.end());
        }
}

void SlirpNetwork::record(const std::string& line) {
    ++refusals_.count;
    if (violations_ < 0) return;
    if (refusals_.recorded >= 10000) return;  // as the seccomp monitor: the log cannot fill the disk
    std::string text = line + "\n";
    if (::write(violations_, text.data(), text.size()) == static_cast<ssize_t>(text.size())) ++refusals_.recorded;
    else ++refusals_.lost;
}

// allow_domains: a new flow to the outside goes only to an address an allowed name resolved to
// (on a port and protocol its rule allows), or where an egress allow rule says; a flow admitted
// once stays admitted while used. Anything else is refused, and recorded once per new flow.
Verdict SlirpNetwork::gate_outgoing(const PacketInfo& packet) {
    if (!leaves_virtual_network(packet, virtual_network_)) return Verdict::Pass;
    std::int64_t now = now_ns() / 1000000;
    FlowKey key{packet.protocol, packet.source, packet.destination, packet.source_port, packet.destination_port};
    if (packet.protocol != Protocol::Any && gate_.admitted(key, now)) return Verdict::Pass;
    bool opening = packet.protocol == Protocol::Udp || packet.protocol == Protocol::Any ||
                   ((packet.tcp_flags & kTcpSyn) && !(packet.tcp_flags & kTcpAck));
    Verdict refused = packet.protocol == Protocol::Tcp ? Verdict::Reset : Verdict::Unreachable;
    if (!opening) return refused;  // a segment of no flow we admitted
    std::string name = gate_.admitting_name(packet.destination, packet.destination_port, packet.protocol,
                                            settings_.allow_domains, now);
    if (!name.empty() || egress_rule_allows(settings_.egress, packet.destination, packet.destination_port, packet.protocol)) {
        if (packet.protocol != Protocol::Any) gate_.admit(key, now);
        return Verdict::Pass;
    }
    std::string pinned = gate_.pinned_name(packet.destination);
    record(flow_violation_json(packet.protocol, packet.destination, packet.destination_port, pinned, settings_.learn));
    if (!settings_.learn) return refused;
    std::string suffix = packet.protocol == Protocol::Any
                             ? std::string()
                             : ":" + std::to_string(packet.destination_port) + (packet.protocol == Protocol::Tcp ? "/tcp" : "/udp");
    if (!pinned.empty()) refusals_.domains.insert(pinned + suffix);
    else {
        std::string address = format_ip(packet.destination);
        refusals_.egress.insert((packet.family == IpFamily::V6 ? "[" + address + "]/128" : address + "/32") + suffix);
    }
    if (packet.protocol != Protocol::Any) gate_.admit(key, now);
    return Verdict::Pass;
}

void SlirpNetwork::answer_dns(DnsQuery& query) {
    std::vector<std::uint8_t> answer(65536);
    ssize_t got = ::recv(query.socket.get(), answer.data(), answer.size(), MSG_DONTWAIT);
    if (got <= 0) return;
    answer.resize(static_cast<std::size_t>(got));
    if (query.question) {
        std::vector<std::uint8_t> asked = asked_bytes(query.request, query.packet, query.tcp_client >= 0);
        auto message = parse_dns_message(answer.data(), answer.size());
        // Only the answer to our own question, from the resolver asked, is judged and passed on
        // (with the payload's id put back).
        if (!message || asked.size() < 2 || !answers_question(*message, *query.question, query.upstream_id)) return;
        answer[0] = asked[0];
        answer[1] = asked[1];
        std::int64_t now = now_ns() / 1000000;
        DnsVerdict verdict = judge_answer(*query.question, *message, settings_.allow_domains, settings_.egress, now);
        if (verdict.refused) {
            record(dns_violation_json(verdict.refused_name, verdict.reason, settings_.learn));
            if (!settings_.learn) {
                reply_dns(query, dns_error_reply(asked.data(), asked.size(), kDnsRefused));
                query.deadline_ms = 0;
                return;
            }
            refusals_.domains.insert(verdict.refused_name);
            // Learning: pin what it resolved to as if every name on the way were allowed, so
            // the flows that follow are explained by the name.
            std::vector<DomainRule> every = settings_.allow_domains;
            every.push_back(DomainRule{query.question->name});
            for (const auto& record : message->answers) {
                every.push_back(DomainRule{record.name});
                if (!record.target.empty()) every.push_back(DomainRule{record.target});
            }
            EgressPolicy anywhere;
            anywhere.allow.push_back(EgressRule{Cidr{IpAddress{}, 0}});
            anywhere.allow.push_back(EgressRule{Cidr{IpAddress{IpFamily::V6, {}}, 0}});
            verdict = judge_answer(*query.question, *message, every, anywhere, now);
        }
        gate_.add_pins(verdict.pins);
    }
    reply_dns(query, answer);
    query.deadline_ms = 0;  // done
}

void SlirpNetwork::fill(std::vector<pollfd>& fds, int& timeout_ms) {
    fds.push_back({frames_.get(), POLLIN, 0});  // first: dispatch() is told where it is
    for (const auto& query : dns_queries_) fds.push_back({query.socket.get(), POLLIN, 0});
    dns_poll_first_ = fds.size();
    // Full: the listener is not polled (it would stay readable), so new clients wait.
    if (dns_listener_) fds.push_back({dns_listener_.get(), static_cast<short>(dns_clients_.size() < 16 ? POLLIN : 0), 0});
    dns_clients_polled_ = dns_clients_.size();
    for (const auto& client : dns_clients_)
        fds.push_back({client.fd.get(), static_cast<short>(POLLIN | (client.out.empty() ? 0 : POLLOUT)), 0});
    if (!dns_queries_.empty() || !dns_clients_.empty()) timeout_ms = timeout_ms < 0 ? 1000 : std::min(timeout_ms, 1000);
    polling_ = &fds;
    uint32_t slirp_timeout = timeout_ms < 0 ? UINT32_MAX : static_cast<uint32_t>(timeout_ms);
    libslirp().pollfds_fill(
        slirp_, &slirp_timeout,
        [](int fd, int events, void* opaque) noexcept -> int {
            auto& fds = *self(opaque).polling_;
            fds.push_back({fd, to_poll_events(events), 0});
            return static_cast<int>(fds.size() - 1);
        },
        this);
    std::int64_t now_ms = now_ns() / 1000000;
    for (const auto& timer : timers_)
        if (timer->expire_ms >= 0)
            slirp_timeout = std::min<uint32_t>(slirp_timeout, static_cast<uint32_t>(std::max<std::int64_t>(0, timer->expire_ms - now_ms)));
    timeout_ms = slirp_timeout == UINT32_MAX ? -1 : static_cast<int>(std::min<uint32_t>(slirp_timeout, 1 << 30));
}

void SlirpNetwork::dispatch(std::vector<pollfd>& fds, std::size_t first, bool poll_failed) {
    polling_ = &fds;
    // The DNS answers first: read_frames may add queries (and move this vector's elements).
    for (std::size_t i = 0; i < dns_queries_.size(); ++i)
        if (fds[first + 1 + i].revents & POLLIN) answer_dns(dns_queries_[i]);
    if (dns_listener_) {
        for (std::size_t i = 0; i < dns_clients_polled_ && i < dns_clients_.size(); ++i)
            serve_dns_client(dns_clients_[i], fds[dns_poll_first_ + 1 + i].revents);
        if (fds[dns_poll_first_].revents & POLLIN) accept_dns_clients();
    }
    std::int64_t now = now_ns() / 1000000;
    // Gone: failed, or idle past its time (answers it did not take are dropped with it).
    dns_clients_.erase(std::remove_if(dns_clients_.begin(), dns_clients_.end(),
                                      [&](const DnsClient& client) {
                                          return client.failed || (client.idle_until_ms <= now && client.out.empty()) ||
                                                 client.idle_until_ms + 30000 <= now;
                                      }),
                       dns_clients_.end());
    dns_queries_.erase(std::remove_if(dns_queries_.begin(), dns_queries_.end(),
                                      [&](const DnsQuery& query) { return query.deadline_ms <= now; }),
                       dns_queries_.end());
    if (fds[first].revents & POLLIN) read_frames();
    libslirp().pollfds_poll(
        slirp_, poll_failed,
        [](int index, void* opaque) noexcept -> int {
            return to_slirp_events((*self(opaque).polling_)[static_cast<std::size_t>(index)].revents);
        },
        this);
    std::int64_t now_ms = now_ns() / 1000000;
    for (std::size_t i = 0; i < timers_.size(); ++i) {
        Timer& timer = *timers_[i];
        if (timer.expire_ms >= 0 && timer.expire_ms <= now_ms) {
            timer.expire_ms = -1;
            libslirp().handle_timer(slirp_, timer.id, timer.cb_opaque);
        }
    }
    polling_ = nullptr;
}

}  // namespace sb

// The supervisor's user-mode network: libslirp, fed from the sandbox's frames fd, run inside
// the supervisor's single poll loop (no threads, no helper processes). Frames the sandbox
// sends pass the egress filter first; denied ones are answered with a reset or an ICMP error.
#pragma once
#include <poll.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "net/domains.hpp"
#include "net/guest_interface.hpp"
#include "net/packet.hpp"
#include "net/slirp_settings.hpp"
#include "sys/poll_set.hpp"
#include "sys/unique_fd.hpp"

struct Slirp;

namespace sb {

// What allow_domains refused (or, learning, let through), for the report at the end.
struct NetworkRefusals {
    unsigned count = 0, recorded = 0, lost = 0;
    std::set<std::string> domains;  // learn: allow_domains entries that would have allowed it
    std::set<std::string> egress;   // learn: egress allow rules for flows no name explains
};

class SlirpNetwork : public EventSource {
public:
    // Starts libslirp and opens the port forwards. Throws SetupError(Stage::Network, ...) naming a
    // forward that cannot listen (a busy port). `violations` is the --violations file (or -1).
    SlirpNetwork(const SlirpSettings& settings, UniqueFd frames, int violations = -1);
    ~SlirpNetwork() override;
    SlirpNetwork(const SlirpNetwork&) = delete;
    SlirpNetwork& operator=(const SlirpNetwork&) = delete;

    // Appends this network's fds to `fds` and lowers `timeout_ms` (-1: none) to its next timer.
    void fill(std::vector<pollfd>& fds, int& timeout_ms) override;
    // Handles what poll reported for the fds it appended, starting at index `first`.
    void dispatch(std::vector<pollfd>& fds, std::size_t first, bool poll_failed) override;

    // Called from libslirp's C callbacks.
    struct Timer;
    void deliver_from_slirp(const std::uint8_t* frame, std::size_t length);
    std::vector<std::unique_ptr<Timer>>& timers() { return timers_; }
    const NetworkRefusals& refusals() const { return refusals_; }

private:
    // A DNS query sent on to the profile's resolver, waiting for its answer.
    struct DnsQuery {
        UniqueFd socket;
        std::vector<std::uint8_t> request;  // the query's frame, to address the answer
        PacketInfo packet;
        std::int64_t deadline_ms = 0;
        std::optional<DnsQuestion> question;  // allow_domains: judged again with the answer
        long long tcp_client = -1;  // DNS over TCP: the client (its id) the answer goes to; -1: UDP
        std::uint16_t upstream_id = 0;  // allow_domains: the id of our own query upstream
    };
    // allow_domains: DNS over TCP to the sandbox's DNS address, which libslirp hands to a Unix
    // socket of ours (one connection each); queries are length-prefixed (RFC 7766).
    struct DnsClient {
        UniqueFd fd;
        std::string in, out;
        std::int64_t idle_until_ms = 0;  // 0: closed by the client (answers owed are still written)
        std::uint64_t id = 0;
        bool failed = false;             // a read or write failed, or the peer hung up: dropped
    };
    void start_tcp_dns();
    void accept_dns_clients();
    void serve_dns_client(DnsClient& client, short events);
    // Judges and sends on a query (UDP: `frame`; TCP: `client`); false when it was answered here.
    void take_dns_query(const std::vector<std::uint8_t>& payload, const std::uint8_t* frame, std::size_t length,
                        const PacketInfo* packet, DnsClient* client);
    void open_forwards(const SlirpSettings& settings);
    void read_frames();
    bool forward_dns(const std::uint8_t* frame, std::size_t length, const PacketInfo& packet);
    void answer_dns(DnsQuery& query);
    void send_to_guest(const std::uint8_t* frame, std::size_t length);
    // allow_domains: a verdict on a frame leaving the virtual network (Pass, or how to refuse).
    Verdict gate_outgoing(const PacketInfo& packet);
    void reply_dns(const DnsQuery& query, const std::vector<std::uint8_t>& answer);
    void record(const std::string& line);

    SlirpSettings settings_;
    GuestAddresses addresses_;
    VirtualNetwork virtual_network_;
    ForwardedUdpFlows udp_flows_;  // what the UDP forwards delivered: the answers allowed back
    UniqueFd frames_;
    Slirp* slirp_ = nullptr;
    std::vector<std::unique_ptr<Timer>> timers_;
    std::vector<DnsQuery> dns_queries_;
    // allow_domains: on when it has rules. The resolver asked is `dns`, else the host's.
    bool domain_mode_ = false;
    std::optional<ServerAddress> upstream_;
    DomainGate gate_;
    int violations_ = -1;
    NetworkRefusals refusals_;
    std::string dns_socket_dir_;  // holds the Unix socket libslirp connects to
    UniqueFd dns_listener_;
    std::vector<DnsClient> dns_clients_;
    std::uint64_t dns_client_ids_ = 0;
    std::size_t dns_poll_first_ = 0;    // where our DNS fds start in the poll set
    std::size_t dns_clients_polled_ = 0;  // how many clients fill() gave poll
    std::vector<pollfd>* polling_ = nullptr;  // during fill/dispatch
};

}  // namespace sb

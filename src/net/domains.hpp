// Egress by domain name, the pure part: the profile's allow_domains rules, the DNS messages the
// sandbox's resolver (ours) reads and writes, and the decision what an answer lets through:
// which addresses get pinned to which name until when. The supervisor's network applies it
// (answering DNS in process, admitting a flow only to a pinned address on an allowed port).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include "net/address.hpp"

namespace sb {

// "github.com" (that name only), "*.pythonhosted.org" (any name below it), with an optional
// ":PORT" or ":LOW-HIGH" and "/tcp" or "/udp": "db.internal:5432/tcp".
struct DomainRule {
    std::string name;       // lower case, no trailing dot; for a wildcard the part after "*."
    bool wildcard = false;  // "*.NAME": the names below NAME, not NAME itself
    std::uint16_t port_low = 0, port_high = 65535;
    Protocol protocol = Protocol::Any;
    bool operator==(const DomainRule&) const = default;
};
std::optional<DomainRule> parse_domain_rule(const std::string& text, std::string& error);
std::string format_domain_rule(const DomainRule& rule);

// "GitHub.COM." -> "github.com"; nullopt when it is not a host name (empty label, a byte that
// is not a letter, digit, '-' or '_', a label over 63 or a name over 253 characters).
std::optional<std::string> normalize_domain(const std::string& name);
bool rule_matches_name(const DomainRule& rule, const std::string& name);  // name normalized
// Whether some rule names `name` (any port): its resolution may be answered.
bool name_allowed(const std::vector<DomainRule>& rules, const std::string& name);
// Whether some rule names `name` for this port and protocol.
bool name_allows(const std::vector<DomainRule>& rules, const std::string& name, std::uint16_t port, Protocol protocol);

// DNS (RFC 1035) as far as the resolver needs: the question, and the answer section's A, AAAA
// and CNAME records. Parsing never reads outside the message and follows at most 64
// compression pointers per name.
enum class DnsType : std::uint16_t { A = 1, Cname = 5, Aaaa = 28 };
struct DnsQuestion {
    std::string name;  // normalized
    std::uint16_t type = 0, klass = 0;
};
struct DnsRecord {
    std::string name;  // normalized
    std::uint16_t type = 0;
    std::uint32_t ttl = 0;
    std::optional<IpAddress> address;  // A, AAAA
    std::string target;                // CNAME, normalized
};
struct DnsMessage {
    std::uint16_t id = 0, flags = 0;
    std::vector<DnsQuestion> questions;
    std::vector<DnsRecord> answers;  // A, AAAA and CNAME only; others are skipped
    unsigned rcode() const { return flags & 0xf; }
    bool is_response() const { return flags & 0x8000; }
};
// nullopt when malformed.
std::optional<DnsMessage> parse_dns_message(const std::uint8_t* data, std::size_t length);
// The query sent upstream for `question`: a fresh message with `id` and recursion desired, so
// nothing of the payload's own bytes (its id, flags, extra records, options) reaches the resolver.
std::vector<std::uint8_t> dns_query_for(const DnsQuestion& question, std::uint16_t id);
// Whether `answer` answers exactly `question` with `id` (QR set, the one question the same).
bool answers_question(const DnsMessage& answer, const DnsQuestion& question, std::uint16_t id);

// The answer to `query` (its bytes) with response code `rcode` and no records: REFUSED (5) for a
// name the profile does not allow, SERVFAIL (2) when the upstream resolver fails.
std::vector<std::uint8_t> dns_error_reply(const std::uint8_t* query, std::size_t length, unsigned rcode);
constexpr unsigned kDnsRefused = 5, kDnsServerFailure = 2;

// What an upstream answer to an allowed question lets through.
struct Pin {
    IpAddress address;
    std::string name;             // the name asked for (the CNAME chain's start)
    std::int64_t expires_ms = 0;  // now + the chain's smallest TTL (at least kMinPinMs)
};
constexpr std::int64_t kMinPinMs = 10'000;  // resolvers cache a few seconds beyond a TTL of 0
struct DnsVerdict {
    bool refused = false;
    std::string reason;      // when refused: "not in allow_domains", "CNAME to ...", "private address ..."
    std::string refused_name;  // the name that was refused (the question's or a CNAME target)
    std::vector<Pin> pins;
};
// Judges `question` alone (before asking upstream): its name must be allowed.
DnsVerdict judge_question(const DnsQuestion& question, const std::vector<DomainRule>& rules);
// Judges an upstream `answer` to `question`: every name of the CNAME chain from the question's
// name must be allowed; addresses in private, loopback, link-local, CGNAT, unique-local or
// multicast space are refused (DNS rebinding) unless `egress` has an allow rule for them; each
// address left is pinned to the question's name.
DnsVerdict judge_answer(const DnsQuestion& question, const DnsMessage& answer, const std::vector<DomainRule>& rules,
                        const EgressPolicy& egress, std::int64_t now_ms);

// Whether one of `egress`'s allow rules (not its default) lets a flow to `destination` through:
// with allow_domains, only these reach an address no allowed name resolved to.
bool egress_rule_allows(const EgressPolicy& egress, const IpAddress& destination, std::uint16_t port, Protocol protocol);

// One line of the --violations log for a refused name or flow (JSON).
std::string dns_violation_json(const std::string& name, const std::string& reason, bool let_through);
std::string flow_violation_json(Protocol protocol, const IpAddress& destination, std::uint16_t port,
                                const std::string& pinned_name, bool let_through);

// The addresses resolved for allowed names, and the flows admitted to them. A new flow (a TCP
// SYN, a UDP datagram of a flow not seen) is admitted when a pin of its destination is alive and
// its name is allowed on that port and protocol; an admitted flow stays admitted while it is
// used, whatever the pin's TTL says. Both tables are bounded: the oldest entries go first.
struct FlowKey {
    Protocol protocol = Protocol::Tcp;
    IpAddress source, destination;
    std::uint16_t source_port = 0, destination_port = 0;
    bool operator==(const FlowKey&) const = default;
};
struct FlowKeyHash {
    std::size_t operator()(const FlowKey& key) const noexcept;
};
class DomainGate {
public:
    static constexpr std::size_t kMaxPins = 8192, kMaxFlows = 8192;
    static constexpr std::int64_t kFlowIdleMs = 2 * 3600 * 1000;  // TCP's keepalive horizon

    void add_pins(const std::vector<Pin>& pins);
    // The name a live pin gives `address` (the first allowed for port and protocol), or "" for none.
    std::string admitting_name(const IpAddress& address, std::uint16_t port, Protocol protocol,
                               const std::vector<DomainRule>& rules, std::int64_t now_ms) const;
    // Any live or expired pin's name for `address` (for the violation log), or "".
    std::string pinned_name(const IpAddress& address) const;
    // Whether the flow was admitted before (and notes that it is used now).
    bool admitted(const FlowKey& flow, std::int64_t now_ms);
    void admit(const FlowKey& flow, std::int64_t now_ms);
    std::size_t pin_count() const { return pin_total_; }

private:
    // Looked up at every new flow and every packet to the outside: by address, and by flow.
    std::map<std::array<std::uint8_t, 17>, std::vector<Pin>> pins_;  // family byte + address
    std::size_t pin_total_ = 0;
    std::unordered_map<FlowKey, std::int64_t, FlowKeyHash> flows_;  // last used
};

}  // namespace sb

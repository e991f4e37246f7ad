#include "net/domains.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace sb {

std::optional<std::string> normalize_domain(const std::string& given) {
    std::string name = given;
    if (!name.empty() && name.back() == '.') name.pop_back();
    if (name.empty() || name.size() > 253) return std::nullopt;
    std::size_t label = 0;
    for (char& c : name) {
        if (c == '.') {
            if (label == 0) return std::nullopt;
            label = 0;
            continue;
        }
        unsigned char u = static_cast<unsigned char>(c);
        if (!(std::isalnum(u) || c == '-' || c == '_')) return std::nullopt;
        c = static_cast<char>(std::tolower(u));
        if (++label > 63) return std::nullopt;
    }
    if (label == 0) return std::nullopt;
    return name;
}

std::optional<DomainRule> parse_domain_rule(const std::string& text, std::string& error) {
    DomainRule rule;
    std::string rest = text;
    if (auto slash = rest.rfind('/'); slash != std::string::npos) {
        std::string protocol = rest.substr(slash + 1);
        if (protocol == "tcp") rule.protocol = Protocol::Tcp;
        else if (protocol == "udp") rule.protocol = Protocol::Udp;
        else {
            error = "unknown protocol \"" + protocol + "\" (expected tcp or udp)";
            return std::nullopt;
        }
        rest = rest.substr(0, slash);
    }
    if (auto colon = rest.find(':'); colon != std::string::npos) {
        std::string ports = rest.substr(colon + 1);
        rest = rest.substr(0, colon);
        auto number = [&](const std::string& digits) -> std::optional<std::uint16_t> {
            if (digits.empty() || digits.size() > 5 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return std::nullopt;
            unsigned long value = std::stoul(digits);
            if (value == 0 || value > 65535) return std::nullopt;
            return static_cast<std::uint16_t>(value);
        };
        auto dash = ports.find('-');
        auto low = number(ports.substr(0, dash));
        auto high = dash == std::string::npos ? low : number(ports.substr(dash + 1));
        if (!low || !high || *high < *low) {
            error = "bad port \"" + ports + "\" (expected 1-65535 or LOW-HIGH)";
            return std::nullopt;
        }
        rule.port_low = *low;
        rule.port_high = *high;
    }
    if (rest.rfind("*.", 0) == 0) {
        rule.wildcard = true;
        rest = rest.substr(2);
    }
    auto name = normalize_domain(rest);
    if (!name || (rest.size() && rest.back() == '.')) {
        error = "\"" + rest + "\" is not a domain name";
        return std::nullopt;
    }
    rule.name = *name;
    return rule;
}

std::string format_domain_rule(const DomainRule& rule) {
    std::string out = (rule.wildcard ? "*." : "") + rule.name;
    if (rule.port_low != 0 || rule.port_high != 65535) {
        out += ":" + std::to_string(rule.port_low);
        if (rule.port_high != rule.port_low) out += "-" + std::to_string(rule.port_high);
    }
    if (rule.protocol == Protocol::Tcp) out += "/tcp";
    if (rule.protocol == Protocol::Udp) out += "/udp";
    return out;
}

bool rule_matches_name(const DomainRule& rule, const std::string& name) {
    if (!rule.wildcard) return name == rule.name;
    return name.size() > rule.name.size() + 1 && name.compare(name.size() - rule.name.size(), rule.name.size(), rule.name) == 0 &&
           name[name.size() - rule.name.size() - 1] == '.';
}

bool name_allowed(const std::vector<DomainRule>& rules, const std::string& name) {
    return std::any_of(rules.begin(), rules.end(), [&](const DomainRule& rule) { return rule_matches_name(rule, name); });
}

bool name_allows(const std::vector<DomainRule>& rules, const std::string& name, std::uint16_t port, Protocol protocol) {
    return std::any_of(rules.begin(), rules.end(), [&](const DomainRule& rule) {
        return rule_matches_name(rule, name) && port >= rule.port_low && port <= rule.port_high &&
               (rule.protocol == Protocol::Any || rule.protocol == protocol);
    });
}

namespace {

struct Reader {
    const std::uint8_t* data;
    std::size_t length;
    std::size_t at = 0;
    bool ok = true;

    std::uint16_t u16() {
        if (at + 2 > length) return ok = false, 0;
        std::uint16_t value = static_cast<std::uint16_t>(data[at] << 8 | data[at + 1]);
        at += 2;
        return value;
    }
    std::uint32_t u32() {
        std::uint32_t high = u16();
        return high << 16 | u16();
    }
    // A name at the cursor (compression pointers followed, at most 64), normalized; "" (and not
    // ok) when malformed. The root name "" is returned as ".".
    std::string name() {
        std::string out;
        std::size_t position = at, jumps = 0;
        bool jumped = false;
        for (;;) {
            if (position >= length) return ok = false, "";
            std::uint8_t size = data[position];
            if ((size & 0xc0) == 0xc0) {
                if (position + 1 >= length || ++jumps > 64) return ok = false, "";
                if (!jumped) at = position + 2;
                jumped = true;
                position = static_cast<std::size_t>((size & 0x3f) << 8 | data[position + 1]);
                continue;
            }
            if (size & 0xc0) return ok = false, "";
            if (size == 0) {
                if (!jumped) at = position + 1;
                break;
            }
            if (position + 1 + size > length || out.size() + size + 1 > 255) return ok = false, "";
            if (!out.empty()) out += '.';
            out.append(reinterpret_cast<const char*>(data + position + 1), size);
            position += 1 + size;
        }
        if (out.empty()) return ".";
        auto normalized = normalize_domain(out);
        return normalized ? *normalized : out;  // names need not be host names; compared as given
    }
};

}  // namespace

std::optional<DnsMessage> parse_dns_message(const std::uint8_t* data, std::size_t length) {
    Reader in{data, length};
    DnsMessage message;
    message.id = in.u16();
    message.flags = in.u16();
    std::uint16_t questions = in.u16(), answers = in.u16();
    in.u16();  // authority
    in.u16();  // additional
    if (!in.ok || questions > 16) return std::nullopt;
    for (unsigned i = 0; i < questions; ++i) {
        DnsQuestion question;
        question.name = in.name();
        question.type = in.u16();
        question.klass = in.u16();
        if (!in.ok) return std::nullopt;
        message.questions.push_back(std::move(question));
    }
    for (unsigned i = 0; i < answers; ++i) {
        DnsRecord record;
        record.name = in.name();
        record.type = in.u16();
        in.u16();  // class
        record.ttl = in.u32();
        std::uint16_t size = in.u16();
        if (!in.ok || in.at + size > length) return std::nullopt;
        std::size_t end = in.at + size;
        if (record.type == static_cast<std::uint16_t>(DnsType::A) && size == 4) {
            IpAddress address;
            std::copy(data + in.at, data + in.at + 4, address.bytes.begin());
            record.address = address;
        } else if (record.type == static_cast<std::uint16_t>(DnsType::Aaaa) && size == 16) {
            IpAddress address;
            address.family = IpFamily::V6;
            std::copy(data + in.at, data + in.at + 16, address.bytes.begin());
            record.address = address;
        } else if (record.type == static_cast<std::uint16_t>(DnsType::Cname)) {
            record.target = in.name();
            if (!in.ok || in.at > end) return std::nullopt;
        } else {
            in.at = end;
            continue;  // not one we judge
        }
        if (record.address || !record.target.empty()) message.answers.push_back(std::move(record));
        in.at = end;
    }
    return message;
}

std::vector<std::uint8_t> dns_query_for(const DnsQuestion& question, std::uint16_t id) {
    std::vector<std::uint8_t> out{static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    std::size_t start = 0;
    const std::string& name = question.name;
    while (start < name.size() && name != ".") {
        std::size_t dot = name.find('.', start);
        if (dot == std::string::npos) dot = name.size();
        std::size_t length = std::min<std::size_t>(dot - start, 63);
        out.push_back(static_cast<std::uint8_t>(length));
        out.insert(out.end(), name.begin() + static_cast<std::ptrdiff_t>(start), name.begin() + static_cast<std::ptrdiff_t>(start + length));
        start = dot + 1;
    }
    out.push_back(0);
    for (std::uint16_t value : {question.type, question.klass}) {
        out.push_back(static_cast<std::uint8_t>(value >> 8));
        out.push_back(static_cast<std::uint8_t>(value));
    }
    return out;
}

bool answers_question(const DnsMessage& answer, const DnsQuestion& question, std::uint16_t id) {
    return answer.is_response() && answer.id == id && answer.questions.size() == 1 &&
           answer.questions.front().name == question.name && answer.questions.front().type == question.type &&
           answer.questions.front().klass == question.klass;
}

std::vector<std::uint8_t> dns_error_reply(const std::uint8_t* query, std::size_t length, unsigned rcode) {
    // The header and the question section as asked, with QR, RA and the code set and no records.
    auto parsed = parse_dns_message(query, length);
    if (!parsed || length < 12) return {};
    Reader in{query, length};
    in.at = 12;
    for (std::size_t i = 0; i < parsed->questions.size(); ++i) {
        in.name();
        in.u16();
        in.u16();
    }
    if (!in.ok) return {};
    std::vector<std::uint8_t> reply(query, query + in.at);
    std::uint16_t flags = static_cast<std::uint16_t>((parsed->flags & 0x7910) | 0x8080 | (rcode & 0xf));  // keep opcode, RD, CD
    reply[2] = static_cast<std::uint8_t>(flags >> 8);
    reply[3] = static_cast<std::uint8_t>(flags);
    for (std::size_t i = 6; i < 12; ++i) reply[i] = 0;  // no answer, authority or additional records
    // A question naming bytes beyond it (a pointer forward) would not survive the cut.
    if (!parse_dns_message(reply.data(), reply.size())) return {};
    return reply;
}

namespace {

// Addresses a public name should not resolve to: what the public-only preset denies.
bool rebinding_address(const IpAddress& given) {
    static const EgressPolicy inner = [] {
        EgressPolicy policy = public_only_policy();
        std::string error;
        // Benchmarking and IETF protocol space, and IPv6 forms that carry an IPv4 address
        // elsewhere (Teredo), are no public answer either.
        for (const char* block : {"198.18.0.0/15", "192.0.0.0/24", "240.0.0.0/4", "0.0.0.0/8", "[2001::]/32"})
            policy.deny.push_back(EgressRule{*parse_cidr(block, error)});
        return policy;
    }();
    // NAT64 (64:ff9b::/96, 64:ff9b:1::/48) and 6to4 (2002::/16) carry an IPv4 address: judged as it.
    if (given.family == IpFamily::V6) {
        const auto& b = given.bytes;
        bool nat64 = b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b;
        if (nat64 || (b[0] == 0x20 && b[1] == 0x02)) {
            IpAddress embedded;
            std::size_t at = nat64 ? 12 : 2;
            std::copy(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + 4), embedded.bytes.begin());
            if (rebinding_address(embedded)) return true;
        }
    }
    IpAddress address = given;
    // An IPv4 address written as IPv6 (::ffff:a.b.c.d, or the old ::a.b.c.d) is judged as IPv4.
    bool zero_prefix = given.family == IpFamily::V6 &&
                       std::all_of(given.bytes.begin(), given.bytes.begin() + 10, [](std::uint8_t b) { return b == 0; });
    if (zero_prefix && ((given.bytes[10] == 0xff && given.bytes[11] == 0xff) || (given.bytes[10] == 0 && given.bytes[11] == 0))) {
        address = IpAddress{};
        std::copy(given.bytes.begin() + 12, given.bytes.end(), address.bytes.begin());
        if (given.bytes[10] == 0) return true;  // ::a.b.c.d and :: itself: never a public answer
    }
    return std::any_of(inner.deny.begin(), inner.deny.end(), [&](const EgressRule& rule) { return rule.block.contains(address); });
}

bool egress_allows_block(const EgressPolicy& egress, const IpAddress& address) {
    return std::any_of(egress.allow.begin(), egress.allow.end(), [&](const EgressRule& rule) { return rule.block.contains(address); });
}

}  // namespace

DnsVerdict judge_question(const DnsQuestion& question, const std::vector<DomainRule>& rules) {
    DnsVerdict verdict;
    if (!name_allowed(rules, question.name)) {
        verdict.refused = true;
        verdict.reason = "not in allow_domains";
        verdict.refused_name = question.name;
    }
    return verdict;
}

DnsVerdict judge_answer(const DnsQuestion& question, const DnsMessage& answer, const std::vector<DomainRule>& rules,
                        const EgressPolicy& egress, std::int64_t now_ms) {
    DnsVerdict verdict = judge_question(question, rules);
    if (verdict.refused) return verdict;
    // Walk the chain: the names the question's name is an alias of, each of which must be allowed.
    std::vector<std::string> chain{question.name};
    std::uint32_t ttl = UINT32_MAX;
    for (std::size_t step = 0; step < 16; ++step) {
        const DnsRecord* alias = nullptr;
        for (const auto& record : answer.answers)
            if (record.name == chain.back() && !record.target.empty()) alias = &record;
        if (!alias) break;
        if (!name_allowed(rules, alias->target)) {
            verdict.refused = true;
            verdict.reason = "CNAME " + chain.back() + " -> " + alias->target + ", which is not in allow_domains";
            verdict.refused_name = alias->target;
            return verdict;
        }
        ttl = std::min(ttl, alias->ttl);
        if (std::find(chain.begin(), chain.end(), alias->target) != chain.end()) break;  // a loop
        chain.push_back(alias->target);
    }
    for (const auto& record : answer.answers) {
        if (!record.address || record.name != chain.back()) continue;
        if (rebinding_address(*record.address) && !egress_allows_block(egress, *record.address)) {
            verdict.refused = true;
            verdict.reason = question.name + " resolves to " + format_ip(*record.address) +
                             ", a private, loopback or link-local address (DNS rebinding)";
            verdict.refused_name = question.name;
            verdict.pins.clear();
            return verdict;
        }
        std::int64_t lifetime = std::max<std::int64_t>(kMinPinMs, static_cast<std::int64_t>(std::min(ttl, record.ttl)) * 1000);
        verdict.pins.push_back({*record.address, question.name, now_ms + lifetime});
    }
    return verdict;
}

namespace {

std::array<std::uint8_t, 17> address_key(const IpAddress& address) {
    std::array<std::uint8_t, 17> key{};
    key[0] = address.family == IpFamily::V4 ? 4 : 6;
    std::copy(address.bytes.begin(), address.bytes.end(), key.begin() + 1);
    return key;
}

}  // namespace

std::size_t FlowKeyHash::operator()(const FlowKey& key) const noexcept {
    std::size_t hash = static_cast<std::size_t>(key.protocol) * 1000003u ^ key.source_port * 31u ^ key.destination_port;
    for (auto byte : key.source.bytes) hash = hash * 131 + byte;
    for (auto byte : key.destination.bytes) hash = hash * 131 + byte;
    return hash;
}

bool egress_rule_allows(const EgressPolicy& egress, const IpAddress& destination, std::uint16_t port, Protocol protocol) {
    return std::any_of(egress.allow.begin(), egress.allow.end(), [&](const EgressRule& rule) {
        return rule.block.contains(destination) && port >= rule.port_low && port <= rule.port_high &&
               (rule.protocol == Protocol::Any || rule.protocol == protocol);
    });
}

std::string dns_violation_json(const std::string& name, const std::string& reason, bool let_through) {
    nlohmann::ordered_json line{{"kind", "dns"}, {"name", name}, {"reason", reason},
                                {"action", let_through ? "allowed" : "refused"}};
    return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string flow_violation_json(Protocol protocol, const IpAddress& destination, std::uint16_t port,
                                const std::string& pinned_name, bool let_through) {
    nlohmann::ordered_json line{{"kind", "flow"},
                                {"protocol", protocol == Protocol::Tcp ? "tcp" : protocol == Protocol::Udp ? "udp" : "icmp"},
                                {"address", format_ip(destination)},
                                {"port", port},
                                {"name", pinned_name.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(pinned_name)},
                                {"action", let_through ? "allowed" : "refused"}};
    return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void DomainGate::add_pins(const std::vector<Pin>& pins) {
    for (const auto& pin : pins) {
        auto& list = pins_[address_key(pin.address)];
        auto same = std::find_if(list.begin(), list.end(), [&](const Pin& old) { return old.name == pin.name; });
        if (same != list.end()) {
            same->expires_ms = std::max(same->expires_ms, pin.expires_ms);
            continue;
        }
        if (pin_total_ >= kMaxPins) {  // the pin that expires first goes
            auto oldest_list = pins_.end();
            std::size_t oldest_index = 0;
            for (auto it = pins_.begin(); it != pins_.end(); ++it)
                for (std::size_t i = 0; i < it->second.size(); ++i)
                    if (oldest_list == pins_.end() || it->second[i].expires_ms < oldest_list->second[oldest_index].expires_ms) {
                        oldest_list = it;
                        oldest_index = i;
                    }
            if (oldest_list != pins_.end()) {
                oldest_list->second.erase(oldest_list->second.begin() + static_cast<std::ptrdiff_t>(oldest_index));
                if (oldest_list->second.empty() && &oldest_list->second != &list) pins_.erase(oldest_list);
                --pin_total_;
            }
        }
        list.push_back(pin);
        ++pin_total_;
    }
}

std::string DomainGate::admitting_name(const IpAddress& address, std::uint16_t port, Protocol protocol,
                                       const std::vector<DomainRule>& rules, std::int64_t now_ms) const {
    auto found = pins_.find(address_key(address));
    if (found == pins_.end()) return "";
    for (const auto& pin : found->second)
        if (pin.expires_ms > now_ms && name_allows(rules, pin.name, port, protocol)) return pin.name;
    return "";
}

std::string DomainGate::pinned_name(const IpAddress& address) const {
    auto found = pins_.find(address_key(address));
    return found == pins_.end() || found->second.empty() ? "" : found->second.front().name;
}

bool DomainGate::admitted(const FlowKey& flow, std::int64_t now_ms) {
    auto found = flows_.find(flow);
    if (found == flows_.end() || now_ms - found->second >= kFlowIdleMs) return false;
    found->second = now_ms;
    return true;
}

void DomainGate::admit(const FlowKey& flow, std::int64_t now_ms) {
    if (flows_.size() >= kMaxFlows && !flows_.count(flow)) {
        auto oldest = std::min_element(flows_.begin(), flows_.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
        flows_.erase(oldest);
    }
    flows_[flow] = now_ms;
}

}  // namespace sb

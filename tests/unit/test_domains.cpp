// Egress by domain name (src/net/domains.*): allow_domains rules, the DNS messages the resolver
// reads and writes (built here byte by byte), the verdict on an upstream answer (CNAME chains,
// DNS rebinding, pins and their TTL), the gate's pin and flow tables, and the violation lines.
#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/address.hpp"
#include "net/domains.hpp"

using namespace sb;

namespace {

IpAddress ip(const std::string& text) {
    auto address = parse_ip(text);
    INFO(text);
    REQUIRE(address);
    return *address;
}

DomainRule rule(const std::string& text) {
    std::string error;
    auto parsed = parse_domain_rule(text, error);
    INFO(text << ": " << error);
    REQUIRE(parsed);
    return *parsed;
}

std::vector<DomainRule> rules(std::initializer_list<const char*> texts) {
    std::vector<DomainRule> out;
    for (const char* text : texts) out.push_back(rule(text));
    return out;
}

// The error of a rule that must not parse.
std::string rule_error(const std::string& text) {
    std::string error;
    auto parsed = parse_domain_rule(text, error);
    INFO(text);
    CHECK_FALSE(parsed);
    CHECK_FALSE(error.empty());
    return error;
}

EgressRule egress_rule(const std::string& text) {
    std::string error;
    auto parsed = parse_egress_rule(text, error);
    INFO(text << ": " << error);
    REQUIRE(parsed);
    return *parsed;
}

// A DNS message written byte by byte.
struct Wire {
    std::vector<std::uint8_t> bytes;

    std::size_t here() const { return bytes.size(); }
    void u8(unsigned value) { bytes.push_back(static_cast<std::uint8_t>(value)); }
    void u16(unsigned value) {
        u8(value >> 8 & 0xff);
        u8(value & 0xff);
    }
    void u32(std::uint32_t value) {
        u16(value >> 16);
        u16(value & 0xffff);
    }
    void header(unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns = 0, unsigned ar = 0) {
        u16(id);
        u16(flags);
        u16(qd);
        u16(an);
        u16(ns);
        u16(ar);
    }
    // Labels of `dotted` ("" for none), then the root label or a compression pointer; returns
    // where the name starts.
    std::size_t name(const std::string& dotted, std::optional<std::size_t> pointer = std::nullopt) {
        std::size_t start = here();
        std::size_t at = 0;
        while (at < dotted.size()) {
            std::size_t dot = dotted.find('.', at);
            if (dot == std::string::npos) dot = dotted.size();
            u8(static_cast<unsigned>(dot - at));
            for (std::size_t i = at; i < dot; ++i) u8(static_cast<unsigned char>(dotted[i]));
            at = dot + 1;
        }
        if (pointer) u16(0xc000 | static_cast<unsigned>(*pointer));
        else u8(0);
        return start;
    }
    void question(unsigned type, unsigned klass = 1) {
        u16(type);
        u16(klass);
    }
    // A record's type, class, TTL and a placeholder length; end_rdata() fills the length in.
    std::size_t record(unsigned type, std::uint32_t ttl) {
        u16(type);
        u16(1);
        u32(ttl);
        std::size_t length_at = here();
        u16(0);
        return length_at;
    }
    void end_rdata(std::size_t length_at) {
        std::size_t length = here() - length_at - 2;
        bytes[length_at] = static_cast<std::uint8_t>(length >> 8);
        bytes[length_at + 1] = static_cast<std::uint8_t>(length);
    }
    void address(const IpAddress& address) {
        std::size_t size = address.family == IpFamily::V4 ? 4 : 16;
        for (std::size_t i = 0; i < size; ++i) u8(address.bytes[i]);
    }
};

// Parses a copy of exactly `length` bytes on the heap (so that a read past it is a read past an
// allocation, which ASan reports).
std::optional<DnsMessage> parse(const std::vector<std::uint8_t>& bytes, std::size_t length) {
    std::unique_ptr<std::uint8_t[]> copy(new std::uint8_t[length > 0 ? length : 1]);
    std::copy(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(length), copy.get());
    return parse_dns_message(length > 0 ? copy.get() : nullptr, length);
}
std::optional<DnsMessage> parse(const std::vector<std::uint8_t>& bytes) { return parse(bytes, bytes.size()); }

std::vector<std::uint8_t> error_reply(const std::vector<std::uint8_t>& query, unsigned rcode) {
    return dns_error_reply(query.data(), query.size(), rcode);
}

// A query for `name`, type A, RD set.
Wire query(const std::string& name, unsigned id = 0x1234, unsigned flags = 0x0100, unsigned type = 1) {
    Wire wire;
    wire.header(id, flags, 1, 0);
    wire.name(name);
    wire.question(type);
    return wire;
}

// "www.allowed.test" A answered with a CNAME to cdn.allowed.test (TTL 300, compressed against
// the question), a TXT record (skipped), an A (TTL 60) and an AAAA (TTL 120) of cdn.allowed.test.
struct ChainAnswer {
    Wire wire;
    std::size_t question_end = 0;
};
ChainAnswer chain_answer() {
    ChainAnswer out;
    Wire& wire = out.wire;
    wire.header(0xbeef, 0x8180, 1, 4);
    std::size_t question = wire.name("www.allowed.test");
    wire.question(1);
    out.question_end = wire.here();
    wire.name("", question);  // www.allowed.test
    std::size_t length = wire.record(5, 300);
    std::size_t cdn = wire.name("cdn", question + 4);  // cdn + "allowed.test" of the question
    wire.end_rdata(length);
    wire.name("", cdn);
    length = wire.record(16, 5);  // TXT "hello"
    wire.u8(5);
    for (char c : std::string("hello")) wire.u8(static_cast<unsigned char>(c));
    wire.end_rdata(length);
    wire.name("", cdn);
    length = wire.record(1, 60);
    wire.address(ip("93.184.216.34"));
    wire.end_rdata(length);
    wire.name("", cdn);
    length = wire.record(28, 120);
    wire.address(ip("2606:2800:220:1:248:1893:25c8:1946"));
    wire.end_rdata(length);
    return out;
}

DnsRecord cname(const std::string& name, const std::string& target, std::uint32_t ttl) {
    DnsRecord record;
    record.name = name;
    record.type = 5;
    record.ttl = ttl;
    record.target = target;
    return record;
}

DnsRecord address_record(const std::string& name, const std::string& address, std::uint32_t ttl) {
    DnsRecord record;
    record.name = name;
    record.address = ip(address);
    record.type = record.address->family == IpFamily::V4 ? 1 : 28;
    record.ttl = ttl;
    return record;
}

DnsQuestion question_for(const std::string& name, std::uint16_t type = 1) {
    DnsQuestion question;
    question.name = name;
    question.type = type;
    question.klass = 1;
    return question;
}

DnsMessage answer_of(std::vector<DnsRecord> records) {
    DnsMessage message;
    message.flags = 0x8180;
    message.answers = std::move(records);
    return message;
}

FlowKey flow(const std::string& destination, std::uint16_t port, std::uint16_t source_port = 40000,
             Protocol protocol = Protocol::Tcp) {
    FlowKey key;
    key.protocol = protocol;
    key.source = ip("10.0.2.100");
    key.destination = ip(destination);
    key.source_port = source_port;
    key.destination_port = port;
    return key;
}

IpAddress v4(unsigned n) {
    IpAddress address;
    address.bytes[0] = 100;
    address.bytes[1] = static_cast<std::uint8_t>(n >> 16);
    address.bytes[2] = static_cast<std::uint8_t>(n >> 8);
    address.bytes[3] = static_cast<std::uint8_t>(n);
    return address;
}

constexpr std::int64_t kNow = 1'700'000'000'000;

}  // namespace

// ------------------------------------------------------------------------------------ rules

TEST_CASE("domain rules: valid rules parse to their fields", "[domains]") {
    auto plain = rule("github.com");
    CHECK(plain.name == "github.com");
    CHECK_FALSE(plain.wildcard);
    CHECK(plain.port_low == 0);
    CHECK(plain.port_high == 65535);
    CHECK(plain.protocol == Protocol::Any);

    auto wildcard = rule("*.pythonhosted.org:443");
    CHECK(wildcard.name == "pythonhosted.org");
    CHECK(wildcard.wildcard);
    CHECK(wildcard.port_low == 443);
    CHECK(wildcard.port_high == 443);
    CHECK(wildcard.protocol == Protocol::Any);

    auto tcp = rule("db.internal:5432/tcp");
    CHECK(tcp.name == "db.internal");
    CHECK_FALSE(tcp.wildcard);
    CHECK(tcp.port_low == 5432);
    CHECK(tcp.port_high == 5432);
    CHECK(tcp.protocol == Protocol::Tcp);

    auto range = rule("x.test:1000-2000/udp");
    CHECK(range.name == "x.test");
    CHECK(range.port_low == 1000);
    CHECK(range.port_high == 2000);
    CHECK(range.protocol == Protocol::Udp);

    auto bounds = rule("x.test:1-65535");
    CHECK(bounds.port_low == 1);
    CHECK(bounds.port_high == 65535);

    auto protocol_only = rule("x.test/tcp");
    CHECK(protocol_only.port_low == 0);
    CHECK(protocol_only.port_high == 65535);
    CHECK(protocol_only.protocol == Protocol::Tcp);

    CHECK(rule("GitHub.COM").name == "github.com");
    CHECK(rule("*.Example.ORG").name == "example.org");
    CHECK(rule("under_score-1.test").name == "under_score-1.test");
}

TEST_CASE("domain rules: invalid rules are refused with an error naming the problem", "[domains]") {
    CHECK_THAT(rule_error(""), Catch::Contains("not a domain name"));
    CHECK_THAT(rule_error("*"), Catch::Contains("\"*\"") && Catch::Contains("not a domain name"));
    CHECK_THAT(rule_error("*."), Catch::Contains("not a domain name"));
    CHECK_THAT(rule_error("a..b"), Catch::Contains("\"a..b\"") && Catch::Contains("not a domain name"));
    CHECK_THAT(rule_error("bad_proto/sctp"), Catch::Contains("protocol") && Catch::Contains("sctp"));
    CHECK_THAT(rule_error("x.test/TCP"), Catch::Contains("protocol"));
    CHECK_THAT(rule_error("x.test:0"), Catch::Contains("bad port") && Catch::Contains("\"0\""));
    CHECK_THAT(rule_error("x.test:70000"), Catch::Contains("bad port") && Catch::Contains("70000"));
    CHECK_THAT(rule_error("x.test:65536"), Catch::Contains("bad port") && Catch::Contains("65536"));
    CHECK_THAT(rule_error("x.test:2000-1000"), Catch::Contains("bad port") && Catch::Contains("2000-1000"));
    CHECK_THAT(rule_error("x.test:"), Catch::Contains("bad port"));
    CHECK_THAT(rule_error("x.test:80-"), Catch::Contains("bad port"));
    CHECK_THAT(rule_error("x.test:-80"), Catch::Contains("bad port"));
    CHECK_THAT(rule_error("x.test:http"), Catch::Contains("bad port") && Catch::Contains("http"));
    CHECK_THAT(rule_error("x.test:0-80"), Catch::Contains("bad port"));
    CHECK_THAT(rule_error("github.com."), Catch::Contains("\"github.com.\"") && Catch::Contains("not a domain name"));
    CHECK_THAT(rule_error("*.github.com.:443"), Catch::Contains("not a domain name"));
    CHECK_THAT(rule_error("*.*.example.com"), Catch::Contains("not a domain name"));
    CHECK_THAT(rule_error("exa mple.com"), Catch::Contains("not a domain name"));
    CHECK_THAT(rule_error(std::string(64, 'a') + ".test"), Catch::Contains("not a domain name"));
}

TEST_CASE("domain rules: format is the canonical text and parses back to the same rule", "[domains]") {
    for (const char* text : {"github.com", "*.pythonhosted.org:443", "db.internal:5432/tcp", "x.test:1000-2000/udp",
                             "x.test/udp", "x.test:1-65535", "*.a.b.c:53/udp"}) {
        INFO(text);
        auto parsed = rule(text);
        CHECK(format_domain_rule(parsed) == text);
        CHECK(rule(format_domain_rule(parsed)) == parsed);
    }
    CHECK(format_domain_rule(rule("GitHub.COM:443/tcp")) == "github.com:443/tcp");
    CHECK(format_domain_rule(rule("x.test:80-80")) == "x.test:80");
    DomainRule built;
    built.name = "example.org";
    built.wildcard = true;
    built.port_low = 8000;
    built.port_high = 8080;
    built.protocol = Protocol::Tcp;
    CHECK(format_domain_rule(built) == "*.example.org:8000-8080/tcp");
    CHECK(rule(format_domain_rule(built)) == built);
}

TEST_CASE("domain names: normalize lowers case, drops one trailing dot, refuses non host names", "[domains]") {
    CHECK(normalize_domain("GitHub.COM.") == std::optional<std::string>("github.com"));
    CHECK(normalize_domain("example.com") == std::optional<std::string>("example.com"));
    CHECK(normalize_domain("_dmarc.Example.com") == std::optional<std::string>("_dmarc.example.com"));
    CHECK_FALSE(normalize_domain(""));
    CHECK_FALSE(normalize_domain("."));
    CHECK_FALSE(normalize_domain("example.com.."));
    CHECK_FALSE(normalize_domain(".example.com"));
    CHECK_FALSE(normalize_domain("a..b"));
    CHECK_FALSE(normalize_domain("a b.test"));
    CHECK_FALSE(normalize_domain("*.test"));
    CHECK_FALSE(normalize_domain("caf\xc3\xa9.test"));
    CHECK(normalize_domain(std::string(63, 'a') + ".test"));
    CHECK_FALSE(normalize_domain(std::string(64, 'a') + ".test"));
    // 253 characters is the longest name.
    std::string longest = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." + std::string(61, 'd');
    REQUIRE(longest.size() == 253);
    CHECK(normalize_domain(longest) == std::optional<std::string>(longest));
    CHECK(normalize_domain(longest + ".") == std::optional<std::string>(longest));
    CHECK_FALSE(normalize_domain(longest + "d"));
}

TEST_CASE("domain rules: a wildcard names the names below, not the name itself", "[domains]") {
    auto wildcard = rule("*.example.com");
    CHECK(rule_matches_name(wildcard, "a.example.com"));
    CHECK(rule_matches_name(wildcard, "a.b.example.com"));
    CHECK_FALSE(rule_matches_name(wildcard, "example.com"));
    CHECK_FALSE(rule_matches_name(wildcard, "badexample.com"));
    CHECK_FALSE(rule_matches_name(wildcard, "a.badexample.com"));
    CHECK_FALSE(rule_matches_name(wildcard, "example.com.evil.test"));
    CHECK_FALSE(rule_matches_name(wildcard, "a.example.co"));
    CHECK_FALSE(rule_matches_name(wildcard, ".example.com"));

    auto exact = rule("example.com");
    CHECK(rule_matches_name(exact, "example.com"));
    CHECK_FALSE(rule_matches_name(exact, "a.example.com"));
    CHECK_FALSE(rule_matches_name(exact, "xexample.com"));
    CHECK_FALSE(rule_matches_name(exact, "example.co"));
}

TEST_CASE("domain rules: case and a trailing dot of the name asked do not matter once normalized", "[domains]") {
    auto allow = rules({"GitHub.com", "*.PythonHosted.org"});
    for (const char* asked : {"GITHUB.COM.", "github.com", "GitHub.Com", "files.PYTHONHOSTED.org.", "a.b.pythonhosted.ORG"}) {
        INFO(asked);
        auto name = normalize_domain(asked);
        REQUIRE(name);
        CHECK(name_allowed(allow, *name));
    }
    for (const char* asked : {"pythonhosted.org.", "GITLAB.COM", "github.com.evil."}) {
        INFO(asked);
        auto name = normalize_domain(asked);
        REQUIRE(name);
        CHECK_FALSE(name_allowed(allow, *name));
    }
    CHECK_FALSE(name_allowed({}, "github.com"));
}

TEST_CASE("domain rules: name_allows checks ports and protocols, name_allowed does not", "[domains]") {
    auto allow = rules({"github.com", "*.pythonhosted.org:443", "db.internal:5432/tcp", "x.test:1000-2000/udp"});

    CHECK(name_allows(allow, "github.com", 443, Protocol::Tcp));
    CHECK(name_allows(allow, "github.com", 53, Protocol::Udp));
    CHECK(name_allows(allow, "github.com", 1, Protocol::Tcp));

    CHECK(name_allows(allow, "files.pythonhosted.org", 443, Protocol::Tcp));
    CHECK(name_allows(allow, "files.pythonhosted.org", 443, Protocol::Udp));
    CHECK_FALSE(name_allows(allow, "files.pythonhosted.org", 80, Protocol::Tcp));
    CHECK_FALSE(name_allows(allow, "pythonhosted.org", 443, Protocol::Tcp));

    CHECK(name_allows(allow, "db.internal", 5432, Protocol::Tcp));
    CHECK_FALSE(name_allows(allow, "db.internal", 5432, Protocol::Udp));
    CHECK_FALSE(name_allows(allow, "db.internal", 5433, Protocol::Tcp));
    CHECK_FALSE(name_allows(allow, "db.internal", 5431, Protocol::Tcp));

    CHECK(name_allows(allow, "x.test", 1000, Protocol::Udp));
    CHECK(name_allows(allow, "x.test", 1500, Protocol::Udp));
    CHECK(name_allows(allow, "x.test", 2000, Protocol::Udp));
    CHECK_FALSE(name_allows(allow, "x.test", 999, Protocol::Udp));
    CHECK_FALSE(name_allows(allow, "x.test", 2001, Protocol::Udp));
    CHECK_FALSE(name_allows(allow, "x.test", 1500, Protocol::Tcp));

    CHECK_FALSE(name_allows(allow, "other.test", 443, Protocol::Tcp));

    // Resolution is allowed whatever the ports.
    CHECK(name_allowed(allow, "db.internal"));
    CHECK(name_allowed(allow, "x.test"));
    CHECK(name_allowed(allow, "files.pythonhosted.org"));
    CHECK_FALSE(name_allowed(allow, "pythonhosted.org"));

    // Two rules for one name: either's ports.
    auto two = rules({"api.test:443/tcp", "api.test:8443/tcp"});
    CHECK(name_allows(two, "api.test", 443, Protocol::Tcp));
    CHECK(name_allows(two, "api.test", 8443, Protocol::Tcp));
    CHECK_FALSE(name_allows(two, "api.test", 8000, Protocol::Tcp));
}

// -------------------------------------------------------------------------------------- DNS

TEST_CASE("dns: a query is parsed to its header and question", "[domains]") {
    auto bytes = query("allowed.test").bytes;
    REQUIRE(bytes.size() == 12 + 14 + 4);
    auto message = parse(bytes);
    REQUIRE(message);
    CHECK(message->id == 0x1234);
    CHECK(message->flags == 0x0100);
    CHECK_FALSE(message->is_response());
    CHECK(message->rcode() == 0);
    REQUIRE(message->questions.size() == 1);
    CHECK(message->questions[0].name == "allowed.test");
    CHECK(message->questions[0].type == 1);
    CHECK(message->questions[0].klass == 1);
    CHECK(message->answers.empty());

    auto upper = parse(query("AlLoWeD.TeSt", 7, 0x0100, 28).bytes);
    REQUIRE(upper);
    REQUIRE(upper->questions.size() == 1);
    CHECK(upper->questions[0].name == "allowed.test");
    CHECK(upper->questions[0].type == 28);
    CHECK(upper->id == 7);

    // The root name.
    auto root = parse(query("").bytes);
    REQUIRE(root);
    REQUIRE(root->questions.size() == 1);
    CHECK(root->questions[0].name == ".");
}

TEST_CASE("dns: an answer's CNAME chain, A and AAAA are read through compression pointers; others skipped", "[domains]") {
    auto answer = chain_answer();
    auto message = parse(answer.wire.bytes);
    REQUIRE(message);
    CHECK(message->id == 0xbeef);
    CHECK(message->is_response());
    CHECK(message->rcode() == 0);
    REQUIRE(message->questions.size() == 1);
    CHECK(message->questions[0].name == "www.allowed.test");
    REQUIRE(message->answers.size() == 3);  // the TXT record is skipped

    const auto& alias = message->answers[0];
    CHECK(alias.name == "www.allowed.test");
    CHECK(alias.type == 5);
    CHECK(alias.ttl == 300);
    CHECK(alias.target == "cdn.allowed.test");
    CHECK_FALSE(alias.address);

    const auto& a = message->answers[1];
    CHECK(a.name == "cdn.allowed.test");
    CHECK(a.type == 1);
    CHECK(a.ttl == 60);
    REQUIRE(a.address);
    CHECK(*a.address == ip("93.184.216.34"));
    CHECK(a.target.empty());

    const auto& aaaa = message->answers[2];
    CHECK(aaaa.name == "cdn.allowed.test");
    CHECK(aaaa.type == 28);
    CHECK(aaaa.ttl == 120);
    REQUIRE(aaaa.address);
    CHECK(aaaa.address->family == IpFamily::V6);
    CHECK(*aaaa.address == ip("2606:2800:220:1:248:1893:25c8:1946"));
}

TEST_CASE("dns: records of other types or odd sizes are skipped, and the records after them read", "[domains]") {
    Wire wire;
    wire.header(1, 0x8180, 1, 4);
    std::size_t question = wire.name("x.test");
    wire.question(1);
    wire.name("", question);
    std::size_t length = wire.record(15, 30);  // MX 10 mail.x.test: a name inside, skipped by its length
    wire.u16(10);
    wire.name("mail", question);
    wire.end_rdata(length);
    wire.name("", question);
    length = wire.record(1, 30);  // an A of 5 bytes: not an address
    for (unsigned byte : {1, 2, 3, 4, 5}) wire.u8(byte);
    wire.end_rdata(length);
    wire.name("", question);
    length = wire.record(28, 30);  // an AAAA of 4 bytes
    for (unsigned byte : {1, 2, 3, 4}) wire.u8(byte);
    wire.end_rdata(length);
    wire.name("", question);
    length = wire.record(1, 40);
    wire.address(ip("192.0.2.7"));
    wire.end_rdata(length);

    auto message = parse(wire.bytes);
    REQUIRE(message);
    REQUIRE(message->answers.size() == 1);
    CHECK(message->answers[0].name == "x.test");
    CHECK(message->answers[0].ttl == 40);
    REQUIRE(message->answers[0].address);
    CHECK(*message->answers[0].address == ip("192.0.2.7"));
}

TEST_CASE("dns: every truncation of a message is refused without reading past it", "[domains]") {
    auto full = chain_answer().wire.bytes;
    REQUIRE(parse(full));
    for (std::size_t length = 0; length < full.size(); ++length) {
        INFO("length " << length << " of " << full.size());
        CHECK_FALSE(parse(full, length));
        CHECK(dns_error_reply(full.data(), length, kDnsRefused).empty());
    }
    auto asked = query("allowed.test").bytes;
    for (std::size_t length = 0; length < asked.size(); ++length) {
        INFO("query length " << length);
        CHECK_FALSE(parse(asked, length));
    }
}

TEST_CASE("dns: malformed names are refused", "[domains]") {
    SECTION("a pointer to itself") {
        Wire wire;
        wire.header(1, 0, 1, 0);
        wire.u16(0xc00c);
        wire.question(1);
        CHECK_FALSE(parse(wire.bytes));
    }
    SECTION("two names pointing at each other through labels") {
        Wire wire;
        wire.header(1, 0, 1, 0);
        wire.name("a", 14);  // 12: "a" then a pointer to 14, which is the pointer itself
        wire.question(1);
        CHECK_FALSE(parse(wire.bytes));
        Wire other;
        other.header(1, 0, 1, 0);
        other.name("b", 12);  // back to its own start: b.b.b.b...
        other.question(1);
        CHECK_FALSE(parse(other.bytes));
    }
    SECTION("a pointer past the end") {
        Wire wire;
        wire.header(1, 0, 1, 0);
        wire.name("a", 0x3ff);
        wire.question(1);
        CHECK_FALSE(parse(wire.bytes));
    }
    SECTION("a pointer cut after its first byte") {
        Wire wire;
        wire.header(1, 0, 1, 0);
        wire.u8(1);
        wire.u8('a');
        wire.u8(0xc0);
        CHECK_FALSE(parse(wire.bytes));
    }
    SECTION("a label over 63 bytes (the length's top bits are 01 or 10)") {
        Wire wire;
        wire.header(1, 0, 1, 0);
        wire.u8(64);
        for (int i = 0; i < 64; ++i) wire.u8('a');
        wire.u8(0);
        wire.question(1);
        CHECK_FALSE(parse(wire.bytes));
        Wire extended;
        extended.header(1, 0, 1, 0);
        extended.u8(0x80 | 3);
        for (char c : std::string("abc")) extended.u8(static_cast<unsigned char>(c));
        extended.u8(0);
        extended.question(1);
        CHECK_FALSE(parse(extended.bytes));
        // 63 is fine.
        auto longest = parse(query(std::string(63, 'a') + ".test").bytes);
        REQUIRE(longest);
        CHECK(longest->questions.at(0).name == std::string(63, 'a') + ".test");
    }
    SECTION("a name over 255 bytes") {
        std::string label(63, 'x');
        CHECK_FALSE(parse(query(label + "." + label + "." + label + "." + label + "." + label).bytes));
    }
    SECTION("a label running past the end") {
        Wire wire;
        wire.header(1, 0, 1, 0);
        wire.u8(20);
        wire.u8('a');
        CHECK_FALSE(parse(wire.bytes));
    }
}

TEST_CASE("dns: question counts of 0 and up to 16 parse; more than 16 are refused", "[domains]") {
    Wire none;
    none.header(9, 0x0100, 0, 0);
    auto empty = parse(none.bytes);
    REQUIRE(empty);
    CHECK(empty->id == 9);
    CHECK(empty->questions.empty());
    CHECK(empty->answers.empty());

    auto many = [](unsigned count) {
        Wire wire;
        wire.header(2, 0x0100, count, 0);
        for (unsigned i = 0; i < count; ++i) {
            wire.name("q" + std::to_string(i) + ".test");
            wire.question(1);
        }
        return wire.bytes;
    };
    auto sixteen = parse(many(16));
    REQUIRE(sixteen);
    REQUIRE(sixteen->questions.size() == 16);
    CHECK(sixteen->questions[15].name == "q15.test");
    CHECK_FALSE(parse(many(17)));

    Wire huge;
    huge.header(2, 0x0100, 0xffff, 0);
    CHECK_FALSE(parse(huge.bytes));
}

TEST_CASE("dns: record sections that do not fit are refused", "[domains]") {
    SECTION("more answers counted than present") {
        auto answer = chain_answer();
        answer.wire.bytes[7] = 5;
        CHECK_FALSE(parse(answer.wire.bytes));
    }
    SECTION("a record length past the end") {
        auto answer = chain_answer();
        auto& bytes = answer.wire.bytes;
        // The last record is the AAAA: its length is 16 bytes before the end.
        std::size_t length_at = bytes.size() - 18;
        REQUIRE(bytes[length_at] == 0);
        REQUIRE(bytes[length_at + 1] == 16);
        bytes[length_at + 1] = 17;
        CHECK_FALSE(parse(bytes));
        bytes[length_at] = 0xff;
        bytes[length_at + 1] = 0xff;
        CHECK_FALSE(parse(bytes));
    }
    SECTION("a CNAME whose name runs past its record length") {
        Wire wire;
        wire.header(1, 0x8180, 1, 2);
        std::size_t question = wire.name("a.test");
        wire.question(1);
        wire.name("", question);
        std::size_t length_at = wire.record(5, 30);
        wire.name("b.test");
        wire.bytes[length_at + 1] = 3;  // says 3 bytes of "\1b\4test\0"
        wire.name("", question);
        std::size_t a = wire.record(1, 30);
        wire.address(ip("192.0.2.1"));
        wire.end_rdata(a);
        CHECK_FALSE(parse(wire.bytes));
    }
}

TEST_CASE("dns: mutated messages never crash the parser or the error reply", "[domains]") {
    auto seed = chain_answer().wire.bytes;
    std::size_t parsed = 0;
    for (std::size_t at = 0; at < seed.size(); ++at)
        for (unsigned value : {0x00u, 0x01u, 0x3fu, 0x40u, 0xc0u, 0xffu}) {
            auto bytes = seed;
            bytes[at] = static_cast<std::uint8_t>(value);
            auto message = parse(bytes);
            if (!message) continue;
            ++parsed;
            CHECK(message->questions.size() <= 16);
            CHECK(message->answers.size() <= 4);
            auto reply = error_reply(bytes, kDnsRefused);
            if (reply.empty()) continue;
            CHECK(reply.size() <= bytes.size());
            CHECK((reply[2] & 0x80) != 0);
            CHECK((reply[3] & 0x0f) == kDnsRefused);
        }
    CHECK(parsed > 0);
}

TEST_CASE("dns: the error reply keeps the id, the question and RD; sets QR and the code; no records", "[domains]") {
    // A query with an EDNS OPT record in the additional section.
    Wire asked;
    asked.header(0xabcd, 0x0100, 1, 0, 0, 1);
    asked.name("Evil.Example");
    asked.question(1);
    std::size_t question_end = asked.here();
    asked.u8(0);
    asked.u16(41);
    asked.u16(4096);
    asked.u32(0);
    asked.u16(0);
    const auto& bytes = asked.bytes;

    auto reply = error_reply(bytes, kDnsRefused);
    REQUIRE(reply.size() == question_end);
    CHECK(reply[0] == 0xab);
    CHECK(reply[1] == 0xcd);
    std::uint16_t flags = static_cast<std::uint16_t>(reply[2] << 8 | reply[3]);
    CHECK((flags & 0x8000) != 0);  // QR
    CHECK((flags & 0x0100) != 0);  // RD as asked
    CHECK((flags & 0x0f) == 5);    // REFUSED
    CHECK((flags & 0x7800) == 0);  // opcode QUERY
    CHECK((flags & 0x0600) == 0);  // neither AA nor TC
    CHECK(reply[4] == 0);
    CHECK(reply[5] == 1);  // one question
    for (std::size_t i = 6; i < 12; ++i) {
        INFO("header byte " << i);
        CHECK(reply[i] == 0);
    }
    CHECK(std::vector<std::uint8_t>(reply.begin() + 12, reply.end()) ==
          std::vector<std::uint8_t>(bytes.begin() + 12, bytes.begin() + static_cast<std::ptrdiff_t>(question_end)));

    auto parsed = parse(reply);
    REQUIRE(parsed);
    CHECK(parsed->id == 0xabcd);
    CHECK(parsed->is_response());
    CHECK(parsed->rcode() == kDnsRefused);
    REQUIRE(parsed->questions.size() == 1);
    CHECK(parsed->questions[0].name == "evil.example");
    CHECK(parsed->questions[0].type == 1);
    CHECK(parsed->answers.empty());

    // Without RD, no RD; SERVFAIL; a query that claimed to be a truncated answer loses TC.
    auto plain = error_reply(query("a.test", 0x0102, 0x0000).bytes, kDnsServerFailure);
    REQUIRE(plain.size() == 12 + 8 + 4);
    CHECK(plain[0] == 0x01);
    CHECK(plain[1] == 0x02);
    CHECK((plain[2] & 0x80) != 0);
    CHECK((plain[2] & 0x01) == 0);
    CHECK((plain[3] & 0x0f) == kDnsServerFailure);
    auto odd = error_reply(query("a.test", 3, 0x0300).bytes, kDnsRefused);
    REQUIRE_FALSE(odd.empty());
    CHECK((odd[2] & 0x02) == 0);
    CHECK((odd[2] & 0x01) != 0);

    // Malformed queries get no reply.
    CHECK(error_reply({}, kDnsRefused).empty());
    CHECK(error_reply({0x12, 0x34, 0x01}, kDnsRefused).empty());
    Wire looping;
    looping.header(1, 0x0100, 1, 0);
    looping.u16(0xc00c);
    looping.question(1);
    CHECK(error_reply(looping.bytes, kDnsRefused).empty());
}

TEST_CASE("dns: the error reply to a compressed multi-question query keeps every question", "[domains]") {
    Wire asked;
    asked.header(0x4242, 0x0100, 2, 0);
    std::size_t first = asked.name("a.test");
    asked.question(1);
    asked.name("b", first + 2);  // b.test
    asked.question(28);
    auto reply = error_reply(asked.bytes, kDnsRefused);
    REQUIRE(reply.size() == asked.bytes.size());
    auto parsed = parse(reply);
    REQUIRE(parsed);
    REQUIRE(parsed->questions.size() == 2);
    CHECK(parsed->questions[0].name == "a.test");
    CHECK(parsed->questions[1].name == "b.test");
    CHECK(parsed->questions[1].type == 28);

    // No question: the header alone.
    Wire none;
    none.header(0x0505, 0x0100, 0, 0);
    auto header_only = error_reply(none.bytes, kDnsRefused);
    REQUIRE(header_only.size() == 12);
    CHECK(header_only[0] == 0x05);
    CHECK(header_only[2] == 0x81);
    CHECK(header_only[3] == (0x80 | kDnsRefused));
}

// ---------------------------------------------------------------------------------- verdicts

TEST_CASE("judge_question: only allowed names may be asked", "[domains]") {
    auto allow = rules({"allowed.test", "*.cdn.test:443"});
    CHECK_FALSE(judge_question(question_for("allowed.test"), allow).refused);
    CHECK_FALSE(judge_question(question_for("x.cdn.test"), allow).refused);
    auto refused = judge_question(question_for("evil.example"), allow);
    CHECK(refused.refused);
    CHECK(refused.reason == "not in allow_domains");
    CHECK(refused.refused_name == "evil.example");
    CHECK(refused.pins.empty());
    CHECK(judge_question(question_for("cdn.test"), allow).refused);
}

TEST_CASE("judge_answer: an allowed chain pins the question's name with the chain's smallest TTL", "[domains]") {
    auto allow = rules({"*.allowed.test"});
    auto answer = chain_answer();
    auto message = parse(answer.wire.bytes);
    REQUIRE(message);
    auto verdict = judge_answer(message->questions.at(0), *message, allow, EgressPolicy{}, kNow);
    CHECK_FALSE(verdict.refused);
    CHECK(verdict.reason.empty());
    REQUIRE(verdict.pins.size() == 2);
    CHECK(verdict.pins[0].address == ip("93.184.216.34"));
    CHECK(verdict.pins[0].name == "www.allowed.test");
    CHECK(verdict.pins[0].expires_ms == kNow + 60'000);  // min(CNAME 300, A 60)
    CHECK(verdict.pins[1].address == ip("2606:2800:220:1:248:1893:25c8:1946"));
    CHECK(verdict.pins[1].name == "www.allowed.test");
    CHECK(verdict.pins[1].expires_ms == kNow + 120'000);  // min(CNAME 300, AAAA 120)

    SECTION("a CNAME's smaller TTL bounds the address's") {
        auto short_alias = answer_of({cname("www.allowed.test", "cdn.allowed.test", 30),
                                      address_record("cdn.allowed.test", "93.184.216.34", 600)});
        auto judged = judge_answer(question_for("www.allowed.test"), short_alias, allow, EgressPolicy{}, kNow);
        REQUIRE(judged.pins.size() == 1);
        CHECK(judged.pins[0].expires_ms == kNow + 30'000);
    }
    SECTION("the smallest TTL of a longer chain") {
        auto chain = answer_of({cname("a.allowed.test", "b.allowed.test", 500), cname("b.allowed.test", "c.allowed.test", 45),
                                cname("c.allowed.test", "d.allowed.test", 900),
                                address_record("d.allowed.test", "198.51.100.1", 700)});
        auto judged = judge_answer(question_for("a.allowed.test"), chain, allow, EgressPolicy{}, kNow);
        CHECK_FALSE(judged.refused);
        REQUIRE(judged.pins.size() == 1);
        CHECK(judged.pins[0].name == "a.allowed.test");
        CHECK(judged.pins[0].address == ip("198.51.100.1"));
        CHECK(judged.pins[0].expires_ms == kNow + 45'000);
    }
    SECTION("at least 10 s") {
        for (std::uint32_t ttl : {0u, 1u, 9u}) {
            INFO("TTL " << ttl);
            auto tiny = answer_of({address_record("www.allowed.test", "93.184.216.34", ttl)});
            auto judged = judge_answer(question_for("www.allowed.test"), tiny, allow, EgressPolicy{}, kNow);
            REQUIRE(judged.pins.size() == 1);
            CHECK(judged.pins[0].expires_ms == kNow + kMinPinMs);
        }
        auto eleven = answer_of({address_record("www.allowed.test", "93.184.216.34", 11)});
        auto judged = judge_answer(question_for("www.allowed.test"), eleven, allow, EgressPolicy{}, kNow);
        REQUIRE(judged.pins.size() == 1);
        CHECK(judged.pins[0].expires_ms == kNow + 11'000);
    }
    SECTION("a large TTL does not overflow") {
        auto forever = answer_of({address_record("www.allowed.test", "93.184.216.34", 0xffffffffu)});
        auto judged = judge_answer(question_for("www.allowed.test"), forever, allow, EgressPolicy{}, kNow);
        REQUIRE(judged.pins.size() == 1);
        CHECK(judged.pins[0].expires_ms == kNow + std::int64_t{0xffffffffu} * 1000);
    }
    SECTION("addresses of names outside the chain are not pinned") {
        auto stray = answer_of({address_record("other.allowed.test", "198.51.100.9", 60),
                                address_record("www.allowed.test", "198.51.100.8", 60)});
        auto judged = judge_answer(question_for("www.allowed.test"), stray, allow, EgressPolicy{}, kNow);
        CHECK_FALSE(judged.refused);
        REQUIRE(judged.pins.size() == 1);
        CHECK(judged.pins[0].address == ip("198.51.100.8"));
    }
}

TEST_CASE("judge_answer: a CNAME to a name not allowed is refused, naming it", "[domains]") {
    auto allow = rules({"www.allowed.test", "cdn.allowed.test"});
    auto answer = answer_of({cname("www.allowed.test", "cdn.allowed.test", 300), cname("cdn.allowed.test", "evil.example", 300),
                             address_record("evil.example", "93.184.216.34", 60)});
    auto verdict = judge_answer(question_for("www.allowed.test"), answer, allow, EgressPolicy{}, kNow);
    CHECK(verdict.refused);
    CHECK(verdict.refused_name == "evil.example");
    CHECK_THAT(verdict.reason, Catch::Contains("evil.example") && Catch::Contains("cdn.allowed.test"));
    CHECK(verdict.pins.empty());

    auto question_refused = judge_answer(question_for("evil.example"), answer_of({address_record("evil.example", "93.184.216.34", 60)}),
                                         allow, EgressPolicy{}, kNow);
    CHECK(question_refused.refused);
    CHECK(question_refused.refused_name == "evil.example");
    CHECK(question_refused.reason == "not in allow_domains");
    CHECK(question_refused.pins.empty());
}

TEST_CASE("judge_answer: private, loopback, link-local and unique-local answers are refused (DNS rebinding)", "[domains]") {
    auto allow = rules({"www.allowed.test"});
    for (const char* address : {"10.1.2.3", "127.0.0.1", "169.254.1.1", "fd00::1", "192.168.1.1", "172.16.0.1", "100.64.0.1",
                                "0.0.0.0", "::1", "fe80::1", "224.0.0.251"}) {
        INFO(address);
        auto answer = answer_of({address_record("www.allowed.test", "93.184.216.34", 60),
                                 address_record("www.allowed.test", address, 60)});
        auto verdict = judge_answer(question_for("www.allowed.test"), answer, allow, EgressPolicy{}, kNow);
        CHECK(verdict.refused);
        CHECK(verdict.refused_name == "www.allowed.test");
        CHECK_THAT(verdict.reason, Catch::Contains("DNS rebinding") && Catch::Contains(format_ip(ip(address))));
        CHECK(verdict.pins.empty());  // the public address of the same answer is not pinned either
    }
    // Behind a CNAME too; the question's name is the one refused.
    auto aliased = answer_of({cname("www.allowed.test", "inner.allowed.test", 60), address_record("inner.allowed.test", "10.9.9.9", 60)});
    auto verdict = judge_answer(question_for("www.allowed.test"), aliased, rules({"*.allowed.test", "www.allowed.test"}),
                                EgressPolicy{}, kNow);
    CHECK(verdict.refused);
    CHECK(verdict.refused_name == "www.allowed.test");
    CHECK(verdict.pins.empty());
}

TEST_CASE("judge_answer: an egress allow rule for the block lets a private answer through", "[domains]") {
    auto allow = rules({"www.allowed.test"});
    struct Case {
        const char* address;
        const char* block;
    };
    for (auto c : {Case{"10.1.2.3", "10.0.0.0/8"}, Case{"127.0.0.1", "127.0.0.0/8"}, Case{"169.254.1.1", "169.254.0.0/16"},
                   Case{"fd00::1", "[fd00::]/8"}, Case{"10.1.2.3", "10.1.2.3:5432/tcp"}}) {
        INFO(c.address << " with " << c.block);
        EgressPolicy egress;
        egress.allow.push_back(egress_rule(c.block));
        auto answer = answer_of({address_record("www.allowed.test", c.address, 60)});
        auto verdict = judge_answer(question_for("www.allowed.test"), answer, allow, egress, kNow);
        CHECK_FALSE(verdict.refused);
        REQUIRE(verdict.pins.size() == 1);
        CHECK(verdict.pins[0].address == ip(c.address));
        CHECK(verdict.pins[0].name == "www.allowed.test");
        CHECK(verdict.pins[0].expires_ms == kNow + 60'000);
    }
    // A rule for another block, or a deny rule, does not.
    EgressPolicy other;
    other.allow.push_back(egress_rule("192.168.0.0/16"));
    other.deny.push_back(egress_rule("10.0.0.0/8"));
    auto refused = judge_answer(question_for("www.allowed.test"), answer_of({address_record("www.allowed.test", "10.1.2.3", 60)}),
                                allow, other, kNow);
    CHECK(refused.refused);
    CHECK(refused.pins.empty());
}

TEST_CASE("judge_answer: CNAME loops and long chains end", "[domains]") {
    auto allow = rules({"*.allowed.test"});
    SECTION("two names") {
        auto loop = answer_of({cname("a.allowed.test", "b.allowed.test", 60), cname("b.allowed.test", "a.allowed.test", 60)});
        auto verdict = judge_answer(question_for("a.allowed.test"), loop, allow, EgressPolicy{}, kNow);
        CHECK_FALSE(verdict.refused);
        CHECK(verdict.pins.empty());
    }
    SECTION("a name to itself") {
        auto loop = answer_of({cname("a.allowed.test", "a.allowed.test", 60), address_record("a.allowed.test", "198.51.100.3", 60)});
        auto verdict = judge_answer(question_for("a.allowed.test"), loop, allow, EgressPolicy{}, kNow);
        CHECK_FALSE(verdict.refused);
        REQUIRE(verdict.pins.size() == 1);
        CHECK(verdict.pins[0].address == ip("198.51.100.3"));
    }
    SECTION("a loop through a name not allowed is refused") {
        auto loop = answer_of({cname("a.allowed.test", "x.evil.example", 60), cname("x.evil.example", "a.allowed.test", 60)});
        auto verdict = judge_answer(question_for("a.allowed.test"), loop, allow, EgressPolicy{}, kNow);
        CHECK(verdict.refused);
        CHECK(verdict.refused_name == "x.evil.example");
    }
    SECTION("forty links") {
        std::vector<DnsRecord> records;
        for (int i = 0; i < 40; ++i)
            records.push_back(cname("n" + std::to_string(i) + ".allowed.test", "n" + std::to_string(i + 1) + ".allowed.test", 60));
        records.push_back(address_record("n40.allowed.test", "198.51.100.4", 60));
        auto verdict = judge_answer(question_for("n0.allowed.test"), answer_of(records), allow, EgressPolicy{}, kNow);
        CHECK_FALSE(verdict.refused);
        CHECK(verdict.pins.empty());  // the chain is followed 16 links deep; n40 is past it
    }
}

// ----------------------------------------------------------------------------- egress rules

TEST_CASE("egress_rule_allows: allow rules only, with their ports and protocol", "[domains]") {
    EgressPolicy egress;
    egress.allow.push_back(egress_rule("10.0.0.0/8:5432/tcp"));
    egress.allow.push_back(egress_rule("[fd00::]/8"));
    egress.deny.push_back(egress_rule("0.0.0.0/0"));
    CHECK(egress_rule_allows(egress, ip("10.1.2.3"), 5432, Protocol::Tcp));
    CHECK_FALSE(egress_rule_allows(egress, ip("10.1.2.3"), 5432, Protocol::Udp));
    CHECK_FALSE(egress_rule_allows(egress, ip("10.1.2.3"), 5433, Protocol::Tcp));
    CHECK_FALSE(egress_rule_allows(egress, ip("11.1.2.3"), 5432, Protocol::Tcp));
    CHECK(egress_rule_allows(egress, ip("fd12::5"), 53, Protocol::Udp));
    CHECK_FALSE(egress_rule_allows(egress, ip("fe80::5"), 53, Protocol::Udp));

    // The default (no rules: everything allowed) is not an allow rule.
    CHECK_FALSE(egress_rule_allows(EgressPolicy{}, ip("93.184.216.34"), 443, Protocol::Tcp));
    EgressPolicy deny_only;
    deny_only.deny.push_back(egress_rule("10.0.0.0/8"));
    CHECK_FALSE(egress_rule_allows(deny_only, ip("93.184.216.34"), 443, Protocol::Tcp));
}

// ------------------------------------------------------------------------------------- gate

TEST_CASE("DomainGate: a pin admits its address while alive, on the name's ports and protocol", "[domains]") {
    auto allow = rules({"www.allowed.test:443/tcp"});
    DomainGate gate;
    CHECK(gate.pin_count() == 0);
    gate.add_pins({{ip("93.184.216.34"), "www.allowed.test", kNow + 60'000}});
    CHECK(gate.pin_count() == 1);

    CHECK(gate.admitting_name(ip("93.184.216.34"), 443, Protocol::Tcp, allow, kNow) == "www.allowed.test");
    CHECK(gate.admitting_name(ip("93.184.216.34"), 443, Protocol::Tcp, allow, kNow + 59'999) == "www.allowed.test");
    CHECK(gate.admitting_name(ip("93.184.216.34"), 443, Protocol::Tcp, allow, kNow + 60'000) == "");
    CHECK(gate.admitting_name(ip("93.184.216.34"), 443, Protocol::Tcp, allow, kNow + 3'600'000) == "");
    CHECK(gate.admitting_name(ip("93.184.216.34"), 80, Protocol::Tcp, allow, kNow) == "");
    CHECK(gate.admitting_name(ip("93.184.216.34"), 443, Protocol::Udp, allow, kNow) == "");
    CHECK(gate.admitting_name(ip("93.184.216.35"), 443, Protocol::Tcp, allow, kNow) == "");
    // The name must still be allowed by the rules asked with.
    CHECK(gate.admitting_name(ip("93.184.216.34"), 443, Protocol::Tcp, rules({"other.test"}), kNow) == "");
    // An IPv6 address whose first bytes are the IPv4 address's is another address.
    IpAddress lookalike = ip("93.184.216.34");
    lookalike.family = IpFamily::V6;
    CHECK(gate.admitting_name(lookalike, 443, Protocol::Tcp, allow, kNow) == "");
    CHECK(gate.pinned_name(lookalike) == "");

    // pinned_name: alive or expired.
    CHECK(gate.pinned_name(ip("93.184.216.34")) == "www.allowed.test");
    CHECK(gate.pinned_name(ip("93.184.216.35")) == "");
}

TEST_CASE("DomainGate: a pin added again is extended, never shortened", "[domains]") {
    auto allow = rules({"a.test"});
    DomainGate gate;
    gate.add_pins({{ip("198.51.100.1"), "a.test", kNow + 10'000}});
    gate.add_pins({{ip("198.51.100.1"), "a.test", kNow + 50'000}});
    CHECK(gate.pin_count() == 1);
    CHECK(gate.admitting_name(ip("198.51.100.1"), 80, Protocol::Tcp, allow, kNow + 40'000) == "a.test");
    gate.add_pins({{ip("198.51.100.1"), "a.test", kNow + 20'000}});
    CHECK(gate.pin_count() == 1);
    CHECK(gate.admitting_name(ip("198.51.100.1"), 80, Protocol::Tcp, allow, kNow + 40'000) == "a.test");
    CHECK(gate.admitting_name(ip("198.51.100.1"), 80, Protocol::Tcp, allow, kNow + 50'000) == "");
}

TEST_CASE("DomainGate: of several names of one address, the first allowed for the port admits", "[domains]") {
    auto allow = rules({"a.test:443/tcp", "b.test:80/tcp"});
    DomainGate gate;
    gate.add_pins({{ip("198.51.100.2"), "a.test", kNow + 60'000}, {ip("198.51.100.2"), "b.test", kNow + 30'000}});
    CHECK(gate.pin_count() == 2);
    CHECK(gate.admitting_name(ip("198.51.100.2"), 443, Protocol::Tcp, allow, kNow) == "a.test");
    CHECK(gate.admitting_name(ip("198.51.100.2"), 80, Protocol::Tcp, allow, kNow) == "b.test");
    CHECK(gate.admitting_name(ip("198.51.100.2"), 80, Protocol::Tcp, allow, kNow + 30'000) == "");
    CHECK(gate.admitting_name(ip("198.51.100.2"), 443, Protocol::Tcp, allow, kNow + 30'000) == "a.test");
    CHECK(gate.admitting_name(ip("198.51.100.2"), 22, Protocol::Tcp, allow, kNow) == "");
    CHECK(gate.pinned_name(ip("198.51.100.2")) == "a.test");
}

TEST_CASE("DomainGate: an admitted flow stays admitted after its pin expires, until idle", "[domains]") {
    auto allow = rules({"www.allowed.test:443/tcp"});
    DomainGate gate;
    gate.add_pins({{ip("93.184.216.34"), "www.allowed.test", kNow + 10'000}});
    auto key = flow("93.184.216.34", 443);
    CHECK_FALSE(gate.admitted(key, kNow));
    REQUIRE(gate.admitting_name(key.destination, key.destination_port, key.protocol, allow, kNow) == "www.allowed.test");
    gate.admit(key, kNow);
    CHECK(gate.admitted(key, kNow + 1));

    std::int64_t later = kNow + 3'600'000;  // the pin is long gone
    CHECK(gate.admitting_name(key.destination, 443, Protocol::Tcp, allow, later) == "");
    CHECK(gate.admitted(key, later));
    // Another flow to the same place (another source port) is new.
    CHECK_FALSE(gate.admitted(flow("93.184.216.34", 443, 40001), later));
    CHECK_FALSE(gate.admitted(flow("93.184.216.34", 443, 40000, Protocol::Udp), later));

    // Used at `later`: idle from there.
    CHECK(gate.admitted(key, later + DomainGate::kFlowIdleMs - 1));
    std::int64_t last = later + DomainGate::kFlowIdleMs - 1;
    CHECK_FALSE(gate.admitted(key, last + DomainGate::kFlowIdleMs));
}

TEST_CASE("DomainGate: the pin table is bounded; the pins expiring first go", "[domains]") {
    auto allow = rules({"*.bulk.test"});
    DomainGate gate;
    const std::size_t extra = 50;
    const std::size_t total = DomainGate::kMaxPins + extra;
    for (std::size_t i = 0; i < total; ++i)
        gate.add_pins({{v4(static_cast<unsigned>(i)), "n" + std::to_string(i) + ".bulk.test", kNow + 100'000 + static_cast<std::int64_t>(i)}});
    CHECK(gate.pin_count() == DomainGate::kMaxPins);
    for (std::size_t i = 0; i < extra; ++i) {
        INFO("pin " << i);
        CHECK(gate.pinned_name(v4(static_cast<unsigned>(i))) == "");
    }
    CHECK(gate.pinned_name(v4(static_cast<unsigned>(extra))) == "n" + std::to_string(extra) + ".bulk.test");
    CHECK(gate.pinned_name(v4(static_cast<unsigned>(total - 1))) == "n" + std::to_string(total - 1) + ".bulk.test");
    CHECK(gate.admitting_name(v4(static_cast<unsigned>(total - 1)), 443, Protocol::Tcp, allow, kNow) ==
          "n" + std::to_string(total - 1) + ".bulk.test");

    // Many names on one address are bounded by the same table.
    DomainGate one;
    for (std::size_t i = 0; i < total; ++i)
        one.add_pins({{ip("198.51.100.7"), "n" + std::to_string(i) + ".bulk.test", kNow + 100'000 + static_cast<std::int64_t>(i)}});
    CHECK(one.pin_count() == DomainGate::kMaxPins);
    CHECK(one.pinned_name(ip("198.51.100.7")) == "n" + std::to_string(extra) + ".bulk.test");
}

TEST_CASE("DomainGate: the flow table is bounded; the flows used longest ago go", "[domains]") {
    DomainGate gate;
    const std::size_t extra = 20;
    const std::size_t total = DomainGate::kMaxFlows + extra;
    auto key = [](std::size_t i) {
        FlowKey k;
        k.protocol = Protocol::Tcp;
        k.source = ip("10.0.2.100");
        k.destination = v4(static_cast<unsigned>(i / 1000));
        k.source_port = static_cast<std::uint16_t>(10000 + i % 1000);
        k.destination_port = 443;
        return k;
    };
    for (std::size_t i = 0; i < total; ++i) gate.admit(key(i), kNow + static_cast<std::int64_t>(i));
    std::int64_t now = kNow + static_cast<std::int64_t>(total);
    for (std::size_t i = 0; i < extra; ++i) {
        INFO("flow " << i);
        CHECK_FALSE(gate.admitted(key(i), now));
    }
    std::size_t kept = 0;
    for (std::size_t i = extra; i < total; ++i) kept += gate.admitted(key(i), now);
    CHECK(kept == DomainGate::kMaxFlows);

    // Re-admitting a flow already there does not push another out.
    DomainGate full;
    for (std::size_t i = 0; i < DomainGate::kMaxFlows; ++i) full.admit(key(i), kNow + static_cast<std::int64_t>(i));
    full.admit(key(DomainGate::kMaxFlows - 1), now);
    full.admit(key(0), now);
    std::size_t all = 0;
    for (std::size_t i = 0; i < DomainGate::kMaxFlows; ++i) all += full.admitted(key(i), now);
    CHECK(all == DomainGate::kMaxFlows);
}

TEST_CASE("FlowKeyHash: equal keys hash equally; keys differing in one field mostly differ", "[domains]") {
    FlowKeyHash hash;
    auto base = flow("93.184.216.34", 443);
    CHECK(hash(base) == hash(flow("93.184.216.34", 443)));
    CHECK(hash(base) != hash(flow("93.184.216.34", 443, 40001)));
    CHECK(hash(base) != hash(flow("93.184.216.35", 443)));
    CHECK(hash(base) != hash(flow("93.184.216.34", 444)));
}

// ------------------------------------------------------------------------------- violations

TEST_CASE("violations: a refused name is one JSON line with kind, name, reason and action", "[domains]") {
    auto line = dns_violation_json("evil.example", "not in allow_domains", false);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.rfind("{\"kind\":\"dns\"", 0) == 0);
    auto json = nlohmann::json::parse(line);
    CHECK(json.size() == 4);
    CHECK(json.at("kind") == "dns");
    CHECK(json.at("name") == "evil.example");
    CHECK(json.at("reason") == "not in allow_domains");
    CHECK(json.at("action") == "refused");
    CHECK(nlohmann::json::parse(dns_violation_json("a.test", "x", true)).at("action") == "allowed");

    // Quotes, newlines and invalid UTF-8 from the wire still give one valid line.
    auto odd = dns_violation_json("a\"b\n\xff.test", "why\"\n", false);
    CHECK(odd.find('\n') == std::string::npos);
    auto parsed = nlohmann::json::parse(odd);
    CHECK(parsed.at("reason") == "why\"\n");
    CHECK_THAT(parsed.at("name").get<std::string>(), Catch::StartsWith("a\"b\n") && Catch::Contains("\xef\xbf\xbd"));
}

TEST_CASE("violations: a refused flow is one JSON line with protocol, address, port, pinned name and action", "[domains]") {
    auto line = flow_violation_json(Protocol::Tcp, ip("93.184.216.34"), 443, "www.allowed.test", false);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.rfind("{\"kind\":\"flow\"", 0) == 0);
    auto json = nlohmann::json::parse(line);
    CHECK(json.size() == 6);
    CHECK(json.at("kind") == "flow");
    CHECK(json.at("protocol") == "tcp");
    CHECK(json.at("address") == "93.184.216.34");
    CHECK(json.at("port").is_number_unsigned());
    CHECK(json.at("port") == 443);
    CHECK(json.at("name") == "www.allowed.test");
    CHECK(json.at("action") == "refused");

    auto unnamed = nlohmann::json::parse(flow_violation_json(Protocol::Udp, ip("2001:db8::1"), 53, "", true));
    CHECK(unnamed.at("protocol") == "udp");
    CHECK(unnamed.at("address") == "2001:db8::1");
    CHECK(unnamed.at("port") == 53);
    CHECK(unnamed.at("name").is_null());
    CHECK(unnamed.at("action") == "allowed");

    CHECK(nlohmann::json::parse(flow_violation_json(Protocol::Any, ip("192.0.2.1"), 0, "", false)).at("protocol") == "icmp");
}

// An AAAA answer of an IPv4-mapped IPv6 address (::ffff:127.0.0.1) names host loopback for a
// dual-stack socket: judged as the IPv4 address it holds.
TEST_CASE("judge_answer: an IPv4-mapped IPv6 answer of a private address is refused", "[domains]") {
    auto allow = rules({"www.allowed.test"});
    for (const char* address : {"::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254"}) {
        INFO(address);
        auto verdict = judge_answer(question_for("www.allowed.test"), answer_of({address_record("www.allowed.test", address, 60)}),
                                    allow, EgressPolicy{}, kNow);
        CHECK(verdict.refused);
        CHECK(verdict.pins.empty());
    }
}

// A review found these forms of a private address pinned for an allowed name.
TEST_CASE("judge_answer: IPv6 forms carrying a private IPv4 address, and reserved IPv4 space, are refused", "[domains]") {
    auto allow = rules({"www.allowed.test"});
    for (const char* address : {"64:ff9b::a00:1", "64:ff9b::7f00:1", "2002:a00:1::1", "2001:0:a00:1::1", "198.18.0.1",
                                "192.0.0.8", "240.0.0.1", "0.1.2.3"}) {
        INFO(address);
        auto verdict = judge_answer(question_for("www.allowed.test"), answer_of({address_record("www.allowed.test", address, 60)}),
                                    allow, EgressPolicy{}, kNow);
        CHECK(verdict.refused);
        CHECK(verdict.pins.empty());
    }
    // The same forms of a public address pass.
    for (const char* address : {"64:ff9b::c000:20a", "2002:c000:20a::1", "2001:db8::10"}) {
        INFO(address);
        auto verdict = judge_answer(question_for("www.allowed.test"), answer_of({address_record("www.allowed.test", address, 60)}),
                                    allow, EgressPolicy{}, kNow);
        CHECK_FALSE(verdict.refused);
    }
}

// The resolver is asked with a query of our own; only an answer to exactly it counts (a forged
// datagram with the payload's id, or another question, does not).
TEST_CASE("dns_query_for and answers_question", "[domains]") {
    DnsQuestion question = question_for("www.allowed.test", 28);
    auto bytes = sb::dns_query_for(question, 0xbeef);
    auto parsed = parse(bytes);
    REQUIRE(parsed);
    CHECK(parsed->id == 0xbeef);
    CHECK(parsed->flags == 0x0100);
    REQUIRE(parsed->questions.size() == 1);
    CHECK(parsed->questions[0].name == "www.allowed.test");
    CHECK(parsed->questions[0].type == 28);
    CHECK(parsed->questions[0].klass == 1);
    CHECK(bytes.size() == 12 + 18 + 4);

    DnsMessage answer = answer_of({});
    answer.id = 0xbeef;
    answer.flags = 0x8180;
    answer.questions = {question};
    CHECK(sb::answers_question(answer, question, 0xbeef));
    CHECK_FALSE(sb::answers_question(answer, question, 0x1234));  // another id
    DnsMessage other = answer;
    other.questions[0].name = "evil.test";
    CHECK_FALSE(sb::answers_question(other, question, 0xbeef));
    other = answer;
    other.questions[0].type = 1;
    CHECK_FALSE(sb::answers_question(other, question, 0xbeef));
    other = answer;
    other.flags = 0x0100;  // a query, not an answer
    CHECK_FALSE(sb::answers_question(other, question, 0xbeef));
    other = answer;
    other.questions.push_back(question);
    CHECK_FALSE(sb::answers_question(other, question, 0xbeef));
}

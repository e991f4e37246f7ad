// Resource limits and their cgroup v2 files (src/cgroup/limits.cpp): which file gets which value,
// in which order, the size/CPU/cpuset syntaxes and the command line's --memory/--cpus/--pids.
#include <catch2/catch.hpp>

#include "cgroup/limits.hpp"

using sb::CgroupWrite;
using sb::kNoLimit;
using sb::Limits;
using Strings = std::vector<std::string>;
using Size = std::optional<std::uint64_t>;
using Millis = std::optional<std::uint32_t>;

namespace {

constexpr std::uint64_t KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024, TiB = GiB * 1024;

std::string describe(const CgroupWrite& w) {
    return w.controller + "|" + w.file + "|" + w.value + "|" + w.label + "|" + w.key;
}

Strings describe_all(const std::vector<CgroupWrite>& writes) {
    Strings out;
    for (const auto& w : writes) out.push_back(describe(w));
    return out;
}

sb::IoDeviceLimit io_device(const std::string& path, const std::string& number) {
    sb::IoDeviceLimit device;
    device.device = path;
    device.number = number;
    return device;
}

std::string usage_error(const std::optional<std::string>& memory, const std::optional<std::string>& cpus,
                        const std::optional<std::string>& pids) {
    Limits limits;
    try {
        sb::apply_limit_overrides(limits, memory, cpus, pids);
    } catch (const sb::UsageError& error) {
        return error.what();
    }
    FAIL("expected a UsageError");
    return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// cgroup_writes

TEST_CASE("cgroup_writes: no limits, no writes", "[cgroup][limits]") {
    Limits limits;
    CHECK(sb::cgroup_writes(limits).empty());
    CHECK_FALSE(limits.any());
    limits.nested = true;
    limits.enforce = sb::Enforce::BestEffort;
    CHECK(sb::cgroup_writes(limits).empty());
    CHECK_FALSE(limits.any());  // enforce and nested are not limits
}

TEST_CASE("cgroup_writes: every kind of limit, exact files, values, labels and keys, cpuset first",
          "[cgroup][limits]") {
    Limits limits;
    limits.memory_max = 128 * MiB;
    limits.memory_high = 96 * MiB;
    limits.memory_swap = 0;
    limits.cpu_millis = 1500;
    limits.cpu_weight = 200;
    limits.pids = 256;
    limits.io_weight = 50;
    auto sda = io_device("/dev/sda", "8:0");
    sda.read_bps = 1 * MiB;
    sda.write_iops = 100;
    limits.io.push_back(sda);
    limits.cpuset_cpus = "0-3";
    limits.cpuset_mems = "0";
    CHECK(limits.any());
    CHECK(describe_all(sb::cgroup_writes(limits)) ==
          Strings{
              "cpuset|cpuset.cpus|0-3|cpuset.cpus 0-3|cpuset",
              "cpuset|cpuset.mems|0|cpuset.mems 0|cpuset_mems",
              "memory|memory.max|134217728|memory.max 128M|memory",
              "memory|memory.high|100663296|memory.high 96M|memory_high",
              "memory|memory.swap.max|0|memory.swap.max 0|memory_swap",
              "cpu|cpu.max|150000 100000|cpu.max 1.5 CPUs|cpus",
              "cpu|cpu.weight|200|cpu.weight 200|cpu_weight",
              "pids|pids.max|256|pids.max 256|pids",
              "io|io.weight|default 50|io.weight 50|io_weight",
              "io|io.max|8:0 rbps=1048576 wiops=100|io.max /dev/sda rbps=1048576 wiops=100|io",
          });
}

TEST_CASE("cgroup_writes: cpuset comes first even when it is the only other limit", "[cgroup][limits]") {
    Limits limits;
    limits.pids = 10;
    limits.cpuset_mems = "0-1";
    auto writes = sb::cgroup_writes(limits);
    REQUIRE(writes.size() == 2);
    CHECK(writes[0].file == "cpuset.mems");
    CHECK(writes[1].file == "pids.max");
}

TEST_CASE("cgroup_writes: cpu.max quota for various CPU counts (period 100000)", "[cgroup][limits]") {
    auto cpu_max = [](std::uint32_t millis) {
        Limits limits;
        limits.cpu_millis = millis;
        auto writes = sb::cgroup_writes(limits);
        REQUIRE(writes.size() == 1);
        CHECK(writes[0].controller == "cpu");
        CHECK(writes[0].file == "cpu.max");
        return writes[0].value + " / " + writes[0].label;
    };
    CHECK(cpu_max(1500) == "150000 100000 / cpu.max 1.5 CPUs");
    CHECK(cpu_max(1000) == "100000 100000 / cpu.max 1 CPUs");
    CHECK(cpu_max(10) == "1000 100000 / cpu.max 0.01 CPUs");
    CHECK(cpu_max(250) == "25000 100000 / cpu.max 0.25 CPUs");
    CHECK(cpu_max(1024000) == "102400000 100000 / cpu.max 1024 CPUs");
}

TEST_CASE("cgroup_writes: \"max\" values for memory, swap, pids and io", "[cgroup][limits]") {
    Limits limits;
    limits.memory_max = kNoLimit;
    limits.memory_swap = kNoLimit;
    limits.pids = kNoLimit;
    auto dev = io_device("/dev/nvme0n1", "259:0");
    dev.read_bps = kNoLimit;
    dev.write_bps = 10 * MiB;
    dev.read_iops = 500;
    dev.write_iops = kNoLimit;
    limits.io.push_back(dev);
    CHECK(describe_all(sb::cgroup_writes(limits)) ==
          Strings{
              "memory|memory.max|max|memory.max max|memory",
              "memory|memory.swap.max|max|memory.swap.max max|memory_swap",
              "pids|pids.max|max|pids.max max|pids",
              "io|io.max|259:0 rbps=max wbps=10485760 riops=500 wiops=max|"
              "io.max /dev/nvme0n1 rbps=max wbps=10485760 riops=500 wiops=max|io",
          });
}

TEST_CASE("cgroup_writes: one io.max line per device, in the profile's order", "[cgroup][limits]") {
    Limits limits;
    auto a = io_device("/dev/sdb", "8:16");
    a.write_bps = 2 * MiB;
    auto b = io_device("/dev/sda", "8:0");
    b.read_iops = 7;
    limits.io = {a, b};
    auto writes = sb::cgroup_writes(limits);
    REQUIRE(writes.size() == 2);
    CHECK(writes[0].value == "8:16 wbps=2097152");
    CHECK(writes[0].label == "io.max /dev/sdb wbps=2097152");
    CHECK(writes[1].value == "8:0 riops=7");
    CHECK(writes[1].label == "io.max /dev/sda riops=7");
    for (const auto& w : writes) {
        CHECK(w.controller == "io");
        CHECK(w.key == "io");
    }
}

TEST_CASE("cgroup_writes: labels render sizes with the largest exact unit", "[cgroup][limits]") {
    Limits limits;
    limits.memory_max = 1536 * MiB;  // 1.5G is not a whole number of G
    limits.memory_high = 2 * GiB;
    auto writes = sb::cgroup_writes(limits);
    REQUIRE(writes.size() == 2);
    CHECK(writes[0].value == "1610612736");
    CHECK(writes[0].label == "memory.max 1536M");
    CHECK(writes[1].value == "2147483648");
    CHECK(writes[1].label == "memory.high 2G");
}

TEST_CASE("controllers_needed: the set of controllers, sorted, without duplicates", "[cgroup][limits]") {
    CHECK(sb::controllers_needed({}).empty());
    Limits limits;
    limits.memory_max = MiB;
    limits.memory_high = MiB;
    limits.pids = 5;
    limits.cpu_weight = 100;
    limits.cpuset_cpus = "0";
    CHECK(sb::controllers_needed(sb::cgroup_writes(limits)) == std::set<std::string>{"cpu", "cpuset", "memory", "pids"});
    Limits io_only;
    io_only.io_weight = 10;
    CHECK(sb::controllers_needed(sb::cgroup_writes(io_only)) == std::set<std::string>{"io"});
}

TEST_CASE("to_string(Enforce)", "[cgroup][limits]") {
    CHECK(std::string(sb::to_string(sb::Enforce::Strict)) == "strict");
    CHECK(std::string(sb::to_string(sb::Enforce::BestEffort)) == "best-effort");
}

// ---------------------------------------------------------------------------------------------
// parse_size / format_size

TEST_CASE("parse_size: plain bytes and binary suffixes", "[cgroup][limits][size]") {
    CHECK(sb::parse_size("0", false) == Size(0));
    CHECK(sb::parse_size("4096", false) == Size(4096));
    CHECK(sb::parse_size("64k", false) == Size(64 * KiB));
    CHECK(sb::parse_size("64K", false) == Size(64 * KiB));
    CHECK(sb::parse_size("512M", false) == Size(512 * MiB));
    CHECK(sb::parse_size("512m", false) == Size(512 * MiB));
    CHECK(sb::parse_size("1G", false) == Size(GiB));
    CHECK(sb::parse_size("2g", false) == Size(2 * GiB));
    CHECK(sb::parse_size("2T", false) == Size(2 * TiB));
    CHECK(sb::parse_size("3t", false) == Size(3 * TiB));
}

TEST_CASE("parse_size: MB, MiB and lower-case b spellings", "[cgroup][limits][size]") {
    CHECK(sb::parse_size("512MB", false) == Size(512 * MiB));
    CHECK(sb::parse_size("512Mb", false) == Size(512 * MiB));
    CHECK(sb::parse_size("512mb", false) == Size(512 * MiB));
    CHECK(sb::parse_size("512MiB", false) == Size(512 * MiB));
    CHECK(sb::parse_size("1GiB", false) == Size(GiB));
    CHECK(sb::parse_size("8KB", false) == Size(8 * KiB));
    CHECK(sb::parse_size("8KiB", false) == Size(8 * KiB));
    CHECK(sb::parse_size("1TiB", false) == Size(TiB));
}

TEST_CASE("parse_size: \"max\" only when allowed", "[cgroup][limits][size]") {
    CHECK(sb::parse_size("max", true) == Size(kNoLimit));
    CHECK_FALSE(sb::parse_size("max", false));
    CHECK_FALSE(sb::parse_size("MAX", true));
    CHECK_FALSE(sb::parse_size("Max", true));
    CHECK_FALSE(sb::parse_size("max ", true));
}

TEST_CASE("parse_size: malformed text", "[cgroup][limits][size]") {
    for (const char* bad : {"", "12X", "M", "K", "-1", "+5", "1.5G", " 12", "12 ", "12 M", "12MM", "12MiBs",
                            "12B", "12iB", "12KIB", "12kib", "0x10", "1e3", "12Mi", "abc", "1,000"}) {
        INFO("text: \"" << bad << "\"");
        CHECK_FALSE(sb::parse_size(bad, true));
        CHECK_FALSE(sb::parse_size(bad, false));
    }
}

TEST_CASE("parse_size: overflow and over-long numbers are rejected", "[cgroup][limits][size]") {
    // At most 15 digits.
    CHECK(sb::parse_size("999999999999999", false) == Size(999999999999999ULL));
    CHECK_FALSE(sb::parse_size("1000000000000000", false));
    CHECK_FALSE(sb::parse_size("18446744073709551615", false));
    CHECK_FALSE(sb::parse_size("99999999999999999999999", false));
    // Results stay below 2^63.
    CHECK(sb::parse_size("8388607T", false) == Size(8388607ULL * TiB));
    CHECK_FALSE(sb::parse_size("8388608T", false));
    CHECK(sb::parse_size("8589934591G", false) == Size(8589934591ULL * GiB));
    CHECK_FALSE(sb::parse_size("8589934592G", false));
    CHECK_FALSE(sb::parse_size("999999999999999T", false));
}

TEST_CASE("format_size: the largest binary unit that divides exactly", "[cgroup][limits][size]") {
    CHECK(sb::format_size(0) == "0");
    CHECK(sb::format_size(1) == "1");
    CHECK(sb::format_size(1000) == "1000");
    CHECK(sb::format_size(1023) == "1023");
    CHECK(sb::format_size(KiB) == "1K");
    CHECK(sb::format_size(1536) == "1536");
    CHECK(sb::format_size(64 * KiB) == "64K");
    CHECK(sb::format_size(128 * MiB) == "128M");
    CHECK(sb::format_size(1536 * MiB) == "1536M");
    CHECK(sb::format_size(GiB) == "1G");
    CHECK(sb::format_size(TiB) == "1T");
    CHECK(sb::format_size(1024 * TiB) == "1024T");  // T is the largest unit
    CHECK(sb::format_size(GiB + 1) == "1073741825");
    CHECK(sb::format_size(kNoLimit) == "max");
}

TEST_CASE("format_size and parse_size round-trip", "[cgroup][limits][size]") {
    for (std::uint64_t bytes : {std::uint64_t{1}, std::uint64_t{4096}, 3 * KiB, 100 * MiB, 1536 * MiB, 7 * GiB, 5 * TiB}) {
        INFO("bytes " << bytes);
        CHECK(sb::parse_size(sb::format_size(bytes), false) == Size(bytes));
    }
    CHECK(sb::parse_size(sb::format_size(kNoLimit), true) == Size(kNoLimit));
}

// ---------------------------------------------------------------------------------------------
// parse_cpus / format_cpus

TEST_CASE("parse_cpus: whole and fractional CPUs in thousandths", "[cgroup][limits][cpus]") {
    CHECK(sb::parse_cpus("1") == Millis(1000));
    CHECK(sb::parse_cpus("1.5") == Millis(1500));
    CHECK(sb::parse_cpus("2.25") == Millis(2250));
    CHECK(sb::parse_cpus("0.5") == Millis(500));
    CHECK(sb::parse_cpus("0.01") == Millis(10));
    CHECK(sb::parse_cpus("0.010") == Millis(10));
    CHECK(sb::parse_cpus("0.125") == Millis(125));
    CHECK(sb::parse_cpus("1024") == Millis(1024000));
    CHECK(sb::parse_cpus("1024.0") == Millis(1024000));
    CHECK(sb::parse_cpus("1024.000") == Millis(1024000));
    CHECK(sb::parse_cpus("00001") == Millis(1000));
    CHECK(sb::parse_cpus("3.") == std::nullopt);
}

TEST_CASE("parse_cpus: a leading dot means 0.x", "[cgroup][limits][cpus]") {
    CHECK(sb::parse_cpus(".5") == Millis(500));
    CHECK(sb::parse_cpus(".01") == Millis(10));
    CHECK_FALSE(sb::parse_cpus(".001"));
}

TEST_CASE("parse_cpus: out of range (below 0.01, above 1024)", "[cgroup][limits][cpus]") {
    CHECK_FALSE(sb::parse_cpus("0"));
    CHECK_FALSE(sb::parse_cpus("0.0"));
    CHECK_FALSE(sb::parse_cpus("0.001"));
    CHECK_FALSE(sb::parse_cpus("0.009"));
    CHECK_FALSE(sb::parse_cpus("1025"));
    CHECK_FALSE(sb::parse_cpus("1024.001"));
    CHECK_FALSE(sb::parse_cpus("99999"));
    CHECK_FALSE(sb::parse_cpus("123456"));  // more than 5 digits before the dot
}

TEST_CASE("parse_cpus: malformed text", "[cgroup][limits][cpus]") {
    for (const char* bad : {"", ".", "1.", "1..5", "1.2.3", "1.2345", "-1", "+1", "1,5", "1e3", " 1", "1 ",
                            "two", "1.5x", "0x10", "inf", "nan"}) {
        INFO("text: \"" << bad << "\"");
        CHECK_FALSE(sb::parse_cpus(bad));
    }
}

TEST_CASE("format_cpus: no trailing zeros, no dot for whole CPUs", "[cgroup][limits][cpus]") {
    CHECK(sb::format_cpus(1000) == "1");
    CHECK(sb::format_cpus(1500) == "1.5");
    CHECK(sb::format_cpus(1050) == "1.05");
    CHECK(sb::format_cpus(1005) == "1.005");
    CHECK(sb::format_cpus(1234) == "1.234");
    CHECK(sb::format_cpus(10) == "0.01");
    CHECK(sb::format_cpus(100) == "0.1");
    CHECK(sb::format_cpus(1024000) == "1024");
    for (std::uint32_t millis : {10u, 99u, 500u, 1001u, 2250u, 999999u, 1024000u}) {
        INFO("millis " << millis);
        CHECK(sb::parse_cpus(sb::format_cpus(millis)) == Millis(millis));
    }
}

// ---------------------------------------------------------------------------------------------
// valid_cpu_list

TEST_CASE("valid_cpu_list: accepted lists", "[cgroup][limits][cpuset]") {
    for (const char* good : {"0", "7", "0-3", "0-3,5", "0,2,4-7", "3-3", "0-0,1-1", "99999", "0-99999", "10,2"}) {
        INFO("list: \"" << good << "\"");
        CHECK(sb::valid_cpu_list(good));
    }
}

TEST_CASE("valid_cpu_list: rejected lists", "[cgroup][limits][cpuset]") {
    for (const char* bad : {"", ",", "0,", ",0", "0,,1", "-", "0-", "-3", "3-1", "0-3-5", "a", "0-a", " 0", "0 ",
                            "0, 1", "123456", "0-123456", "1.5", "+1", "0--1"}) {
        INFO("list: \"" << bad << "\"");
        CHECK_FALSE(sb::valid_cpu_list(bad));
    }
}

// ---------------------------------------------------------------------------------------------
// apply_limit_overrides

TEST_CASE("apply_limit_overrides: nothing given changes nothing", "[cgroup][limits][overrides]") {
    Limits limits;
    limits.memory_max = 5 * MiB;
    limits.where["memory"] = {"/p.toml", 3, 10};
    sb::apply_limit_overrides(limits, std::nullopt, std::nullopt, std::nullopt);
    CHECK(limits.memory_max == Size(5 * MiB));
    CHECK_FALSE(limits.cpu_millis);
    CHECK_FALSE(limits.pids);
    REQUIRE(limits.where.size() == 1);
    CHECK(limits.where["memory"].file == "/p.toml");
    CHECK(limits.where["memory"].line == 3);
}

TEST_CASE("apply_limit_overrides: values set and located on the command line", "[cgroup][limits][overrides]") {
    Limits limits;
    limits.memory_max = 5 * MiB;
    limits.where["memory"] = {"/p.toml", 3, 10};
    limits.pids = 7;
    sb::apply_limit_overrides(limits, std::string("512M"), std::string("1.5"), std::string("256"));
    CHECK(limits.memory_max == Size(512 * MiB));
    CHECK(limits.cpu_millis == Millis(1500));
    CHECK(limits.pids == Size(256));
    for (const char* key : {"memory", "cpus", "pids"}) {
        INFO("key " << key);
        REQUIRE(limits.where.count(key));
        CHECK(limits.where[key].file == "command line");
        CHECK(limits.where[key].line == 0);
        CHECK(limits.where[key].column == 0);
    }
}

TEST_CASE("apply_limit_overrides: max for memory and pids", "[cgroup][limits][overrides]") {
    Limits limits;
    sb::apply_limit_overrides(limits, std::string("max"), std::nullopt, std::string("max"));
    CHECK(limits.memory_max == Size(kNoLimit));
    CHECK(limits.pids == Size(kNoLimit));
    CHECK_FALSE(limits.cpu_millis);
    CHECK_FALSE(limits.where.count("cpus"));
}

TEST_CASE("apply_limit_overrides: bad --memory", "[cgroup][limits][overrides]") {
    CHECK(usage_error(std::string("lots"), std::nullopt, std::nullopt) ==
          "--memory lots: expected a size such as 512M, 2G or \"max\"");
    CHECK(usage_error(std::string("0"), std::nullopt, std::nullopt) ==
          "--memory 0: expected a size such as 512M, 2G or \"max\"");
    CHECK(usage_error(std::string("0M"), std::nullopt, std::nullopt) ==
          "--memory 0M: expected a size such as 512M, 2G or \"max\"");
    CHECK(usage_error(std::string("12X"), std::nullopt, std::nullopt) ==
          "--memory 12X: expected a size such as 512M, 2G or \"max\"");
    CHECK(usage_error(std::string(""), std::nullopt, std::nullopt) ==
          "--memory : expected a size such as 512M, 2G or \"max\"");
}

TEST_CASE("apply_limit_overrides: bad --cpus", "[cgroup][limits][overrides]") {
    for (const char* bad : {"0", "two", "0.001", "1025", "1.", "-1"}) {
        INFO("--cpus " << bad);
        CHECK(usage_error(std::nullopt, std::string(bad), std::nullopt) ==
              std::string("--cpus ") + bad + ": expected a number of CPUs from 0.01 to 1024, such as 1.5");
    }
}

TEST_CASE("apply_limit_overrides: bad --pids", "[cgroup][limits][overrides]") {
    for (const char* bad : {"0", "-1", "abc", "", "1000000000", "10k", "MAX", "1.5", "000"}) {
        INFO("--pids " << bad);
        CHECK(usage_error(std::nullopt, std::nullopt, std::string(bad)) ==
              std::string("--pids ") + bad + ": expected a number from 1 to 4194304, or \"max\"");
    }
}

TEST_CASE("apply_limit_overrides: --pids bounds", "[cgroup][limits][overrides]") {
    Limits limits;
    sb::apply_limit_overrides(limits, std::nullopt, std::nullopt, std::string("1"));
    CHECK(limits.pids == Size(1));
    sb::apply_limit_overrides(limits, std::nullopt, std::nullopt, std::string("4194304"));
    CHECK(limits.pids == Size(4194304));  // PID_MAX_LIMIT
    CHECK_THROWS_AS(sb::apply_limit_overrides(limits, std::nullopt, std::nullopt, std::string("4194305")), sb::UsageError);
    sb::apply_limit_overrides(limits, std::nullopt, std::nullopt, std::string("0042"));
    CHECK(limits.pids == Size(42));
}

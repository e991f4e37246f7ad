// The [limits] table of a profile (src/profile/limits.cpp) and the top-level `name` key, loaded
// through load_profile from in-memory files: values, exact file:line:col of every error, and
// merging across `extends`.
#include <catch2/catch.hpp>

#include "profile/profile.hpp"
#include "support.hpp"

using sb::kNoLimit;
using sb::Limits;
using sb::Profile;
using Size = std::optional<std::uint64_t>;
using Millis = std::optional<std::uint32_t>;

namespace {

constexpr std::uint64_t KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024;
const std::string kFile = "/mem/test.toml";

Limits limits_of(const std::string& text) { return test::load_text(text).limits; }

sb::ConfigError error_of(const std::string& text) {
    auto error = test::config_error(text);
    if (!error) FAIL("expected a ConfigError for:\n" << text);
    return *error;
}

// Asserts the exact location in /mem/test.toml and the exact message.
void expect_error(const std::string& text, int line, int column, const std::string& message) {
    sb::ConfigError error = error_of(text);
    INFO("profile:\n" << text << "\nerror: " << error.what());
    CHECK(error.where().file == kFile);
    CHECK(error.where().line == line);
    CHECK(error.where().column == column);
    CHECK(error.message() == message);
    CHECK(std::string(error.what()) ==
          kFile + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message);
}

Profile load_files(const std::map<std::string, std::string>& files, const std::string& top) {
    return sb::load_profile(top, test::test_vars(), test::memory_source(files));
}

sb::ConfigError files_error(const std::map<std::string, std::string>& files, const std::string& top) {
    try {
        load_files(files, top);
    } catch (const sb::ConfigError& error) {
        return error;
    }
    FAIL("expected a ConfigError loading " << top);
    throw std::logic_error("unreachable");
}

const std::string kLimitKeys =
    "memory, memory_high, memory_swap, cpus, cpu_weight, pids, io_weight, cpuset, cpuset_mems, io, enforce, nested";

}  // namespace

// ---------------------------------------------------------------------------------------------
// Defaults and plain values

TEST_CASE("profile limits: no [limits] means no limits, strict, not nested", "[profile][limits]") {
    Limits l = limits_of("command = [\"/bin/true\"]\n");
    CHECK_FALSE(l.any());
    CHECK(l.enforce == sb::Enforce::Strict);
    CHECK_FALSE(l.nested);
    CHECK(l.where.empty());
    CHECK(l.io.empty());
}

TEST_CASE("profile limits: an empty [limits] table sets nothing", "[profile][limits]") {
    Limits l = limits_of("[limits]\n");
    CHECK_FALSE(l.any());
    CHECK(l.where.empty());
}

TEST_CASE("profile limits: every scalar key", "[profile][limits]") {
    Limits l = limits_of(
        "[limits]\n"
        "memory = \"512M\"\n"
        "memory_high = \"384MiB\"\n"
        "memory_swap = \"1G\"\n"
        "cpus = 1.5\n"
        "cpu_weight = 200\n"
        "pids = 64\n"
        "io_weight = 300\n"
        "cpuset = \"0-3,6\"\n"
        "cpuset_mems = \"0\"\n"
        "enforce = \"best-effort\"\n"
        "nested = true\n");
    CHECK(l.memory_max == Size(512 * MiB));
    CHECK(l.memory_high == Size(384 * MiB));
    CHECK(l.memory_swap == Size(GiB));
    CHECK(l.cpu_millis == Millis(1500));
    CHECK(l.cpu_weight == Millis(200));
    CHECK(l.pids == Size(64));
    CHECK(l.io_weight == Millis(300));
    CHECK(l.cpuset_cpus == std::optional<std::string>("0-3,6"));
    CHECK(l.cpuset_mems == std::optional<std::string>("0"));
    CHECK(l.enforce == sb::Enforce::BestEffort);
    CHECK(l.nested);
    CHECK(l.io.empty());
}

TEST_CASE("profile limits: where records the value's file:line:col for each key", "[profile][limits]") {
    Limits l = limits_of(
        "[limits]\n"
        "memory = \"512M\"\n"
        "  pids = 10\n"
        "cpus = \"2\"\n"
        "enforce = \"strict\"\n");
    REQUIRE(l.where.count("memory"));
    CHECK(l.where["memory"].file == kFile);
    CHECK(l.where["memory"].line == 2);
    CHECK(l.where["memory"].column == 10);
    REQUIRE(l.where.count("pids"));
    CHECK(l.where["pids"].line == 3);
    CHECK(l.where["pids"].column == 10);
    REQUIRE(l.where.count("cpus"));
    CHECK(l.where["cpus"].line == 4);
    CHECK(l.where["cpus"].column == 8);
    CHECK(l.where.count("enforce"));
    CHECK_FALSE(l.where.count("memory_high"));
}

TEST_CASE("profile limits: sizes as integers (bytes), strings and max", "[profile][limits]") {
    CHECK(limits_of("[limits]\nmemory = 1048576\n").memory_max == Size(MiB));
    CHECK(limits_of("[limits]\nmemory = \"1048576\"\n").memory_max == Size(MiB));
    CHECK(limits_of("[limits]\nmemory = \"64k\"\n").memory_max == Size(64 * KiB));
    CHECK(limits_of("[limits]\nmemory = \"2GB\"\n").memory_max == Size(2 * GiB));
    CHECK(limits_of("[limits]\nmemory = \"max\"\n").memory_max == Size(kNoLimit));
    CHECK(limits_of("[limits]\nmemory_high = \"max\"\n").memory_high == Size(kNoLimit));
    CHECK(limits_of("[limits]\nmemory_swap = \"max\"\n").memory_swap == Size(kNoLimit));
}

TEST_CASE("profile limits: memory_swap may be 0, memory and memory_high may not", "[profile][limits]") {
    CHECK(limits_of("[limits]\nmemory_swap = 0\n").memory_swap == Size(0));
    CHECK(limits_of("[limits]\nmemory_swap = \"0\"\n").memory_swap == Size(0));
    CHECK(limits_of("[limits]\nmemory_swap = \"0M\"\n").memory_swap == Size(0));
    expect_error("[limits]\nmemory = 0\n", 2, 10, "'memory' must be positive");
    expect_error("[limits]\nmemory = \"0\"\n", 2, 10, "'memory' must be positive");
    expect_error("[limits]\nmemory = \"0G\"\n", 2, 10, "'memory' must be positive");
    expect_error("[limits]\nmemory_high = 0\n", 2, 15, "'memory_high' must be positive");
    expect_error("[limits]\nmemory_high = \"0K\"\n", 2, 15, "'memory_high' must be positive");
}

TEST_CASE("profile limits: negative sizes", "[profile][limits]") {
    expect_error("[limits]\nmemory = -1\n", 2, 10, "'memory' must be positive");
    expect_error("[limits]\nmemory_swap = -1\n", 2, 15, "'memory_swap' must be 0 or more");
}

TEST_CASE("profile limits: malformed sizes and wrong types", "[profile][limits]") {
    expect_error("[limits]\nmemory = \"12X\"\n", 2, 10,
                 "'memory' must be a size such as \"512M\", \"2G\" or \"max\", not \"12X\"");
    expect_error("[limits]\nmemory = \"\"\n", 2, 10,
                 "'memory' must be a size such as \"512M\", \"2G\" or \"max\", not \"\"");
    expect_error("[limits]\nmemory_swap = \"lots\"\n", 2, 15,
                 "'memory_swap' must be a size such as \"512M\", \"2G\" or \"max\", not \"lots\"");
    expect_error("[limits]\nmemory = \"1.5G\"\n", 2, 10,
                 "'memory' must be a size such as \"512M\", \"2G\" or \"max\", not \"1.5G\"");
    expect_error("[limits]\nmemory = true\n", 2, 10, "'memory' must be a size such as \"512M\", or \"max\", not a boolean");
    expect_error("[limits]\nmemory = 1.5\n", 2, 10, "'memory' must be a size such as \"512M\", or \"max\", not a float");
    expect_error("[limits]\nmemory_high = [1]\n", 2, 15,
                 "'memory_high' must be a size such as \"512M\", or \"max\", not an array");
}

TEST_CASE("profile limits: cpus as integer, float and string", "[profile][limits][cpus]") {
    CHECK(limits_of("[limits]\ncpus = 2\n").cpu_millis == Millis(2000));
    CHECK(limits_of("[limits]\ncpus = 1\n").cpu_millis == Millis(1000));
    CHECK(limits_of("[limits]\ncpus = 1024\n").cpu_millis == Millis(1024000));
    CHECK(limits_of("[limits]\ncpus = 1.5\n").cpu_millis == Millis(1500));
    CHECK(limits_of("[limits]\ncpus = 0.01\n").cpu_millis == Millis(10));
    CHECK(limits_of("[limits]\ncpus = 0.25\n").cpu_millis == Millis(250));
    CHECK(limits_of("[limits]\ncpus = 1024.0\n").cpu_millis == Millis(1024000));
    CHECK(limits_of("[limits]\ncpus = \"1.5\"\n").cpu_millis == Millis(1500));
    CHECK(limits_of("[limits]\ncpus = \"0.01\"\n").cpu_millis == Millis(10));
    CHECK(limits_of("[limits]\ncpus = \"3\"\n").cpu_millis == Millis(3000));
}

TEST_CASE("profile limits: cpus out of range or malformed", "[profile][limits][cpus]") {
    const std::string message = "'cpus' must be a number of CPUs from 0.01 to 1024 with at most three decimals, such as 1.5";
    for (const char* value : {"0", "-1", "1025", "0.0", "0.001", "0.009", "1024.5", "-0.5", "nan", "inf", "-inf",
                              "\"0\"", "\"two\"", "\"0.001\"", "\"1025\"", "\"1.\"", "\"\""}) {
        INFO("cpus = " << value);
        expect_error(std::string("[limits]\ncpus = ") + value + "\n", 2, 8, message);
    }
}

TEST_CASE("profile limits: cpus of the wrong type", "[profile][limits][cpus]") {
    expect_error("[limits]\ncpus = true\n", 2, 8, "'cpus' must be a number of CPUs such as 1.5, not a boolean");
    expect_error("[limits]\ncpus = [1]\n", 2, 8, "'cpus' must be a number of CPUs such as 1.5, not an array");
}

TEST_CASE("profile limits: cpu_weight and io_weight from 1 to 10000", "[profile][limits]") {
    for (const char* key : {"cpu_weight", "io_weight"}) {
        INFO("key " << key);
        std::string k = key;
        int column = static_cast<int>(k.size()) + 4;
        Limits low = limits_of("[limits]\n" + k + " = 1\n");
        Limits high = limits_of("[limits]\n" + k + " = 10000\n");
        if (k == "cpu_weight") {
            CHECK(low.cpu_weight == Millis(1));
            CHECK(high.cpu_weight == Millis(10000));
        } else {
            CHECK(low.io_weight == Millis(1));
            CHECK(high.io_weight == Millis(10000));
        }
        const std::string range = "'" + k + "' must be a weight from 1 to 10000 (100 is the default share)";
        expect_error("[limits]\n" + k + " = 0\n", 2, column, range);
        expect_error("[limits]\n" + k + " = 10001\n", 2, column, range);
        expect_error("[limits]\n" + k + " = -5\n", 2, column, range);
        expect_error("[limits]\n" + k + " = \"100\"\n", 2, column,
                     "'" + k + "' must be an integer from 1 to 10000, not a string");
        expect_error("[limits]\n" + k + " = 1.5\n", 2, column, "'" + k + "' must be an integer from 1 to 10000, not a float");
    }
}

TEST_CASE("profile limits: pids positive or \"max\"", "[profile][limits]") {
    CHECK(limits_of("[limits]\npids = 1\n").pids == Size(1));
    CHECK(limits_of("[limits]\npids = 4096\n").pids == Size(4096));
    CHECK(limits_of("[limits]\npids = \"max\"\n").pids == Size(kNoLimit));
    expect_error("[limits]\npids = 0\n", 2, 8, "'pids' must be a number from 1 to 4194304, or \"max\"");
    expect_error("[limits]\npids = -3\n", 2, 8, "'pids' must be a number from 1 to 4194304, or \"max\"");
    expect_error("[limits]\npids = \"100\"\n", 2, 8, "'pids' must be a positive integer or \"max\", not a string");
    expect_error("[limits]\npids = \"MAX\"\n", 2, 8, "'pids' must be a positive integer or \"max\", not a string");
    expect_error("[limits]\npids = 1.0\n", 2, 8, "'pids' must be a positive integer or \"max\", not a float");
}

TEST_CASE("profile limits: cpuset and cpuset_mems list syntax", "[profile][limits][cpuset]") {
    CHECK(limits_of("[limits]\ncpuset = \"0\"\n").cpuset_cpus == std::optional<std::string>("0"));
    CHECK(limits_of("[limits]\ncpuset = \"0-3,5,7-8\"\n").cpuset_cpus == std::optional<std::string>("0-3,5,7-8"));
    CHECK(limits_of("[limits]\ncpuset_mems = \"0-1\"\n").cpuset_mems == std::optional<std::string>("0-1"));
    expect_error("[limits]\ncpuset = \"3-1\"\n", 2, 10, "'cpuset' must be a list such as \"0-3,6\", not \"3-1\"");
    expect_error("[limits]\ncpuset = \"\"\n", 2, 10, "'cpuset' must be a list such as \"0-3,6\", not \"\"");
    expect_error("[limits]\ncpuset = \"0,\"\n", 2, 10, "'cpuset' must be a list such as \"0-3,6\", not \"0,\"");
    expect_error("[limits]\ncpuset_mems = \"all\"\n", 2, 15,
                 "'cpuset_mems' must be a list such as \"0-3,6\", not \"all\"");
    expect_error("[limits]\ncpuset = 3\n", 2, 10, "'cpuset' must be a string, not an integer");
}

TEST_CASE("profile limits: enforce is strict or best-effort", "[profile][limits]") {
    CHECK(limits_of("[limits]\nenforce = \"strict\"\n").enforce == sb::Enforce::Strict);
    CHECK(limits_of("[limits]\nenforce = \"best-effort\"\n").enforce == sb::Enforce::BestEffort);
    expect_error("[limits]\nenforce = \"lenient\"\n", 2, 11,
                 "'enforce' must be \"strict\" or \"best-effort\", not \"lenient\"");
    expect_error("[limits]\nenforce = \"Strict\"\n", 2, 11,
                 "'enforce' must be \"strict\" or \"best-effort\", not \"Strict\"");
    expect_error("[limits]\nenforce = \"best_effort\"\n", 2, 11,
                 "'enforce' must be \"strict\" or \"best-effort\", not \"best_effort\"");
    expect_error("[limits]\nenforce = true\n", 2, 11, "'enforce' must be a string, not a boolean");
}

TEST_CASE("profile limits: nested is a boolean", "[profile][limits]") {
    CHECK(limits_of("[limits]\nnested = true\n").nested);
    CHECK_FALSE(limits_of("[limits]\nnested = false\n").nested);
    expect_error("[limits]\nnested = \"yes\"\n", 2, 10, "'nested' must be a boolean (true or false), not a string");
    expect_error("[limits]\nnested = 1\n", 2, 10, "'nested' must be a boolean (true or false), not an integer");
}

TEST_CASE("profile limits: an unknown key is rejected at the key", "[profile][limits]") {
    expect_error("[limits]\nmemory = \"1G\"\n  memroy = \"1G\"\n", 3, 3,
                 "unknown key 'memroy' in [limits] (expected one of: " + kLimitKeys + ")");
    expect_error("[limits]\ncpu = 2\n", 2, 1, "unknown key 'cpu' in [limits] (expected one of: " + kLimitKeys + ")");
    // Checked before the values: the misspelt key wins over a bad value before it.
    expect_error("[limits]\nmemory = \"bad\"\nswap = 1\n", 3, 1,
                 "unknown key 'swap' in [limits] (expected one of: " + kLimitKeys + ")");
}

TEST_CASE("profile limits: [limits] must be a table", "[profile][limits]") {
    expect_error("limits = 5\n", 1, 10, "'limits' must be a table, not an integer");
    expect_error("limits = \"512M\"\n", 1, 10, "'limits' must be a table, not a string");
}

TEST_CASE("profile limits: dotted keys and inline tables work like [limits]", "[profile][limits]") {
    CHECK(limits_of("limits.memory = \"1G\"\n").memory_max == Size(GiB));
    Limits l = limits_of("limits = { pids = 5, cpus = 2 }\n");
    CHECK(l.pids == Size(5));
    CHECK(l.cpu_millis == Millis(2000));
}

// ---------------------------------------------------------------------------------------------
// [[limits.io]]

TEST_CASE("profile limits: [[limits.io]] entries", "[profile][limits][io]") {
    Limits l = limits_of(
        "[limits]\n"                    // 1
        "io_weight = 50\n"              // 2
        "\n"                            // 3
        "[[limits.io]]\n"               // 4
        "device = \"/dev/sda\"\n"       // 5
        "read_bps = \"10M\"\n"          // 6
        "write_iops = 200\n"            // 7
        "\n"                            // 8
        "[[limits.io]]\n"               // 9
        "device = \"/dev//nvme0n1/\"\n" // 10
        "write_bps = \"max\"\n"         // 11
        "read_iops = \"max\"\n"         // 12
        "read_bps = 4096\n");           // 13
    CHECK(l.io_weight == Millis(50));
    REQUIRE(l.io.size() == 2);
    CHECK(l.io[0].device == "/dev/sda");
    CHECK(l.io[0].number.empty());  // filled in at plan time
    CHECK(l.io[0].read_bps == Size(10 * MiB));
    CHECK_FALSE(l.io[0].write_bps);
    CHECK_FALSE(l.io[0].read_iops);
    CHECK(l.io[0].write_iops == Size(200));
    CHECK(l.io[0].where.file == kFile);
    CHECK(l.io[0].where.line == 5);
    CHECK(l.io[0].where.column == 10);
    CHECK(l.io[1].device == "/dev/nvme0n1");  // normalized
    CHECK(l.io[1].write_bps == Size(kNoLimit));
    CHECK(l.io[1].read_iops == Size(kNoLimit));
    CHECK(l.io[1].read_bps == Size(4096));
    CHECK_FALSE(l.io[1].write_iops);
    CHECK(l.io[1].where.line == 10);
    CHECK(l.where.count("io"));
    CHECK(l.any());
}

TEST_CASE("profile limits: the device path expands variables", "[profile][limits][io]") {
    Limits l = limits_of("[[limits.io]]\ndevice = \"/dev/${USER}\"\nread_iops = 5\n");
    REQUIRE(l.io.size() == 1);
    CHECK(l.io[0].device == "/dev/tester");
}

TEST_CASE("profile limits: [[limits.io]] needs a device", "[profile][limits][io]") {
    sb::ConfigError error = error_of("[limits]\npids = 5\n\n[[limits.io]]\nread_bps = \"1M\"\n");
    INFO(error.what());
    CHECK(error.where().file == kFile);
    CHECK(error.where().line == 4);
    CHECK(error.message() == "[[limits.io]] needs a 'device' (a block device such as \"/dev/sda\")");
}

TEST_CASE("profile limits: [[limits.io]] needs at least one limit", "[profile][limits][io]") {
    sb::ConfigError error = error_of("[[limits.io]]\ndevice = \"/dev/sda\"\n");
    INFO(error.what());
    CHECK(error.where().file == kFile);
    CHECK(error.where().line == 1);
    CHECK(error.message() == "[[limits.io]] for /dev/sda sets no limit (read_bps, write_bps, read_iops or write_iops)");
}

TEST_CASE("profile limits: the device must be an absolute path", "[profile][limits][io]") {
    expect_error("[[limits.io]]\ndevice = \"sda\"\nread_bps = 1\n", 2, 10,
                 "'device' must be an absolute path without '..', not \"sda\"");
    expect_error("[[limits.io]]\ndevice = \"/dev/../sda\"\nread_bps = 1\n", 2, 10,
                 "'device' must be an absolute path without '..', not \"/dev/../sda\"");
    expect_error("[[limits.io]]\ndevice = 8\nread_bps = 1\n", 2, 10, "'device' must be a string, not an integer");
}

TEST_CASE("profile limits: io values are validated", "[profile][limits][io]") {
    expect_error("[[limits.io]]\ndevice = \"/dev/sda\"\nread_bps = 0\n", 3, 12, "'read_bps' must be positive");
    expect_error("[[limits.io]]\ndevice = \"/dev/sda\"\nwrite_bps = \"0\"\n", 3, 13, "'write_bps' must be positive");
    expect_error("[[limits.io]]\ndevice = \"/dev/sda\"\nwrite_bps = \"fast\"\n", 3, 13,
                 "'write_bps' must be a size such as \"512M\", \"2G\" or \"max\", not \"fast\"");
    expect_error("[[limits.io]]\ndevice = \"/dev/sda\"\nread_iops = 0\n", 3, 13,
                 "'read_iops' must be a number from 1 to 4194304, or \"max\"");
    expect_error("[[limits.io]]\ndevice = \"/dev/sda\"\nwrite_iops = \"100\"\n", 3, 14,
                 "'write_iops' must be a positive integer or \"max\", not a string");
}

TEST_CASE("profile limits: unknown key in [[limits.io]] at the key", "[profile][limits][io]") {
    expect_error("[[limits.io]]\ndevice = \"/dev/sda\"\n rbps = 1\n", 3, 2,
                 "unknown key 'rbps' in [[limits.io]] (expected one of: device, read_bps, write_bps, read_iops, "
                 "write_iops)");
}

TEST_CASE("profile limits: io must be an array of tables", "[profile][limits][io]") {
    expect_error("[limits]\nio = 5\n", 2, 6, "'io' must be an array of tables ([[limits.io]]), not an integer");
    expect_error("[limits]\nio = [5]\n", 2, 7, "'io' must be an array of tables ([[limits.io]]), not an integer");
    expect_error("[limits]\nio = { device = \"/dev/sda\" }\n", 2, 6,
                 "'io' must be an array of tables ([[limits.io]]), not a table");
}

TEST_CASE("profile limits: the same device twice in one file is a conflict naming the earlier line",
          "[profile][limits][io]") {
    const std::string text =
        "[[limits.io]]\n"             // 1
        "device = \"/dev/sda\"\n"     // 2
        "read_bps = \"1M\"\n"         // 3
        "\n"                          // 4
        "[[limits.io]]\n"             // 5
        "write_bps = \"2M\"\n"        // 6
        "  device = \"/dev/sda\"\n";  // 7
    expect_error(text, 7, 12, "conflict: /dev/sda already has limits at line 2");
}

TEST_CASE("profile limits: a device spelt differently is still the same device", "[profile][limits][io]") {
    const std::string text =
        "[[limits.io]]\n"
        "device = \"/dev/sda\"\n"
        "read_bps = \"1M\"\n"
        "[[limits.io]]\n"
        "device = \"/dev//./sda\"\n"
        "read_iops = 3\n";
    expect_error(text, 5, 10, "conflict: /dev/sda already has limits at line 2");
}

// ---------------------------------------------------------------------------------------------
// Merging across extends

TEST_CASE("profile limits: later files win key by key; io entries for the same device replace",
          "[profile][limits][merge]") {
    std::map<std::string, std::string> files = {
        {"/mem/base.toml",
         "[limits]\n"                 // 1
         "memory = \"1G\"\n"          // 2
         "pids = 100\n"               // 3
         "cpus = 2\n"                 // 4
         "enforce = \"best-effort\"\n"  // 5
         "nested = true\n"            // 6
         "cpuset = \"0-3\"\n"         // 7
         "[[limits.io]]\n"            // 8
         "device = \"/dev/sda\"\n"    // 9
         "read_bps = \"1M\"\n"        // 10
         "[[limits.io]]\n"            // 11
         "device = \"/dev/sdb\"\n"    // 12
         "write_bps = \"2M\"\n"},     // 13
        {"/mem/child.toml",
         "extends = [\"base.toml\"]\n"  // 1
         "[limits]\n"                   // 2
         "memory = \"512M\"\n"          // 3
         "cpu_weight = 50\n"            // 4
         "[[limits.io]]\n"              // 5
         "device = \"/dev/sdb\"\n"      // 6
         "read_iops = 10\n"             // 7
         "[[limits.io]]\n"              // 8
         "device = \"/dev/sdc\"\n"      // 9
         "write_iops = 20\n"},          // 10
    };
    Profile p = load_files(files, "/mem/child.toml");
    const Limits& l = p.limits;
    CHECK(l.memory_max == Size(512 * MiB));
    CHECK(l.pids == Size(100));
    CHECK(l.cpu_millis == Millis(2000));
    CHECK(l.cpu_weight == Millis(50));
    CHECK(l.cpuset_cpus == std::optional<std::string>("0-3"));
    CHECK(l.enforce == sb::Enforce::BestEffort);
    CHECK(l.nested);
    REQUIRE(l.io.size() == 3);
    CHECK(l.io[0].device == "/dev/sda");
    CHECK(l.io[0].read_bps == Size(MiB));
    CHECK(l.io[0].where.file == "/mem/base.toml");
    // The child's /dev/sdb entry replaces the base's entirely (its write_bps is gone), in place.
    CHECK(l.io[1].device == "/dev/sdb");
    CHECK_FALSE(l.io[1].write_bps);
    CHECK(l.io[1].read_iops == Size(10));
    CHECK(l.io[1].where.file == "/mem/child.toml");
    CHECK(l.io[1].where.line == 6);
    CHECK(l.io[2].device == "/dev/sdc");
    CHECK(l.io[2].write_iops == Size(20));
    // Each key is located in the file that set it last.
    REQUIRE(l.where.count("memory"));
    CHECK(l.where.at("memory").file == "/mem/child.toml");
    CHECK(l.where.at("memory").line == 3);
    REQUIRE(l.where.count("pids"));
    CHECK(l.where.at("pids").file == "/mem/base.toml");
    CHECK(l.where.at("pids").line == 3);
    CHECK(l.where.at("cpu_weight").file == "/mem/child.toml");
    CHECK(l.where.at("enforce").file == "/mem/base.toml");
}

TEST_CASE("profile limits: a child can turn enforce back to strict and nested off", "[profile][limits][merge]") {
    std::map<std::string, std::string> files = {
        {"/mem/base.toml", "[limits]\nenforce = \"best-effort\"\nnested = true\npids = \"max\"\n"},
        {"/mem/child.toml", "extends = [\"base.toml\"]\n[limits]\nenforce = \"strict\"\nnested = false\npids = 7\n"},
    };
    Profile p = load_files(files, "/mem/child.toml");
    CHECK(p.limits.enforce == sb::Enforce::Strict);
    CHECK_FALSE(p.limits.nested);
    CHECK(p.limits.pids == Size(7));
}

TEST_CASE("profile limits: a child without [limits] keeps the parent's", "[profile][limits][merge]") {
    std::map<std::string, std::string> files = {
        {"/mem/base.toml", "[limits]\nenforce = \"best-effort\"\nmemory = \"64M\"\n"},
        {"/mem/child.toml", "extends = [\"base.toml\"]\ncommand = [\"/bin/true\"]\n"},
    };
    Profile p = load_files(files, "/mem/child.toml");
    CHECK(p.limits.enforce == sb::Enforce::BestEffort);
    CHECK(p.limits.memory_max == Size(64 * MiB));
    CHECK(p.limits.where.at("memory").file == "/mem/base.toml");
}

TEST_CASE("profile limits: the same device in two files is not a conflict", "[profile][limits][merge]") {
    std::map<std::string, std::string> files = {
        {"/mem/a.toml", "[[limits.io]]\ndevice = \"/dev/sda\"\nread_bps = \"1M\"\n"},
        {"/mem/b.toml", "[[limits.io]]\ndevice = \"/dev/sda\"\nread_bps = \"3M\"\n"},
        {"/mem/top.toml", "extends = [\"a.toml\", \"b.toml\"]\n"},
    };
    Profile p = load_files(files, "/mem/top.toml");
    REQUIRE(p.limits.io.size() == 1);
    CHECK(p.limits.io[0].read_bps == Size(3 * MiB));
    CHECK(p.limits.io[0].where.file == "/mem/b.toml");
}

TEST_CASE("profile limits: an error in a parent file is located in that file", "[profile][limits][merge]") {
    std::map<std::string, std::string> files = {
        {"/mem/base.toml", "[limits]\n\ncpus = \"lots\"\n"},
        {"/mem/child.toml", "extends = [\"base.toml\"]\n"},
    };
    sb::ConfigError error = files_error(files, "/mem/child.toml");
    CHECK(error.where().file == "/mem/base.toml");
    CHECK(error.where().line == 3);
    CHECK(error.where().column == 8);
    CHECK(error.message() == "'cpus' must be a number of CPUs from 0.01 to 1024 with at most three decimals, such as 1.5");
}

// ---------------------------------------------------------------------------------------------
// The top-level name

TEST_CASE("profile name: valid names", "[profile][name]") {
    for (const char* name : {"web", "web-1", "A.b_c-d", "1st", "x"}) {
        INFO("name " << name);
        Profile p = test::load_text(std::string("name = \"") + name + "\"\n");
        CHECK(p.name == name);
        CHECK(p.name_where.file == kFile);
        CHECK(p.name_where.line == 1);
        CHECK(p.name_where.column == 8);
    }
    std::string longest(64, 'a');
    CHECK(test::load_text("name = \"" + longest + "\"\n").name == longest);
}

TEST_CASE("profile name: no name key leaves it empty", "[profile][name]") {
    Profile p = test::load_text("command = [\"/bin/true\"]\n");
    CHECK(p.name.empty());
}

TEST_CASE("profile name: variables are expanded", "[profile][name]") {
    CHECK(test::load_text("name = \"${USER}-box\"\n").name == "tester-box");
}

TEST_CASE("profile name: invalid names at file:line:col", "[profile][name]") {
    const std::string prefix =
        "'name' must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit, not \"";
    for (std::string bad : {std::string(""), std::string("-web"), std::string(".web"), std::string("_web"),
                            std::string("my web"), std::string("a/b"), std::string("a:b"), std::string("caf\xc3\xa9"),
                            std::string(65, 'a')}) {
        INFO("name \"" << bad << "\"");
        expect_error("command = [\"/bin/true\"]\n  name = \"" + bad + "\"\n", 2, 10, prefix + bad + "\"");
    }
}

TEST_CASE("profile name: wrong type", "[profile][name]") {
    expect_error("name = 5\n", 1, 8, "'name' must be a string, not an integer");
    expect_error("name = [\"a\"]\n", 1, 8, "'name' must be a string, not an array");
}

TEST_CASE("profile name: the last file that sets it wins", "[profile][name][merge]") {
    std::map<std::string, std::string> files = {
        {"/mem/base.toml", "name = \"base\"\n"},
        {"/mem/child.toml", "extends = [\"base.toml\"]\nname = \"child\"\n"},
        {"/mem/quiet.toml", "extends = [\"base.toml\"]\n"},
    };
    Profile child = load_files(files, "/mem/child.toml");
    CHECK(child.name == "child");
    CHECK(child.name_where.file == "/mem/child.toml");
    CHECK(child.name_where.line == 2);
    Profile quiet = load_files(files, "/mem/quiet.toml");
    CHECK(quiet.name == "base");
    CHECK(quiet.name_where.file == "/mem/base.toml");
}

// ---------------------------------------------------------------------------------------------
// The table of limits (sb::limit_kinds): one row decides a key's parsing, merging, rendering and
// cgroup write, and the command line's form follows the same rule as the profile's.

namespace {

// A value each row accepts, as a profile writes it and as the command line does.
std::pair<std::string, std::string> sample_value(sb::LimitValue value) {
    switch (value) {
        case sb::LimitValue::Size:
        case sb::LimitValue::SizeOrZero: return {"\"384M\"", "384M"};
        case sb::LimitValue::Count: return {"4321", "4321"};
        case sb::LimitValue::Weight: return {"250", "250"};
        case sb::LimitValue::Cpus: return {"2.25", "2.25"};
        case sb::LimitValue::CpuList: return {"\"0-1,3\"", ""};
    }
    return {};
}

bool row_is_set(const sb::LimitKind& kind, const Limits& limits) {
    return kind.number ? (limits.*kind.number).has_value() : (limits.*kind.text).has_value();
}

}  // namespace

TEST_CASE("limits table: each row is one key, one field and one cgroup file", "[limits][profile]") {
    std::set<std::string> keys, files;
    for (const auto& kind : sb::limit_kinds()) {
        INFO(kind.key);
        CHECK(keys.insert(kind.key).second);
        CHECK(files.insert(kind.file).second);
        CHECK((kind.number == nullptr) == (kind.value == sb::LimitValue::CpuList));
        CHECK((kind.text == nullptr) != (kind.value == sb::LimitValue::CpuList));
        CHECK(std::string(kind.file).rfind(std::string(kind.controller) + ".", 0) == 0);
        CHECK(sb::find_limit_kind(kind.key) == &kind);
    }
    CHECK(sb::find_limit_kind("memroy") == nullptr);
}

TEST_CASE("limits table: a row's key parses, sets only its field, renders and writes its file", "[limits][profile]") {
    for (const auto& kind : sb::limit_kinds()) {
        INFO(kind.key);
        auto [toml_value, cli_value] = sample_value(kind.value);
        Limits limits = limits_of(std::string("[limits]\n") + kind.key + " = " + toml_value + "\n");
        for (const auto& other : sb::limit_kinds()) CHECK(row_is_set(other, limits) == (&other == &kind));
        CHECK(limits.any());
        auto writes = sb::cgroup_writes(limits);
        REQUIRE(writes.size() == 1);
        CHECK(writes[0].file == kind.file);
        CHECK(writes[0].controller == kind.controller);
        CHECK(writes[0].key == kind.key);
        // Rendered and read again: the same value.
        Profile profile = test::load_text(std::string("[limits]\n") + kind.key + " = " + toml_value + "\n");
        Limits again = test::load_text(sb::render_profile_toml(profile)).limits;
        CHECK(sb::cgroup_writes(again)[0].value == writes[0].value);
        // The command line's form of the same value means the same.
        if (kind.value != sb::LimitValue::CpuList)
            CHECK(sb::parse_limit_text(kind.value, cli_value) == limits.*kind.number);
    }
}

TEST_CASE("limits table: the command line and the profile refuse the same values", "[limits][profile]") {
    for (const auto& kind : sb::limit_kinds()) {
        if (kind.value == sb::LimitValue::CpuList || kind.value == sb::LimitValue::Cpus) continue;
        for (const std::string text : {"0", "1", "10000", "10001", "4194304", "4194305", "max", "512M", "-1"}) {
            INFO(kind.key << " = " << text);
            bool integer = text.find_first_not_of("-0123456789") == std::string::npos;
            std::string toml = integer ? text : "\"" + text + "\"";
            bool profile_ok = !test::config_error(std::string("[limits]\n") + kind.key + " = " + toml + "\n");
            bool cli_ok = sb::parse_limit_text(kind.value, text).has_value();
            CHECK(profile_ok == cli_ok);
        }
    }
}

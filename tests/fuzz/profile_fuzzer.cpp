// libFuzzer harness for the profile loader: any bytes must give a Profile or a ConfigError,
// never a crash, a hang, a sanitizer report or another exception.
//
// The input is up to four in-memory files, separated by a line "%%": /f/a.toml (loaded), then
// /f/b.toml, /s/c.toml and /s/d.toml, which a.toml can reach by path ("b.toml") or by name
// ("c", "d": /s is the search directory), so `extends` graphs are fuzzed too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <map>
#include <string>

#include "profile/profile.hpp"
#include "sys/error.hpp"

namespace {

const char* const kFiles[] = {"/f/a.toml", "/f/b.toml", "/s/c.toml", "/s/d.toml"};

std::map<std::string, std::string> split_files(const std::string& input) {
    std::map<std::string, std::string> files;
    std::size_t start = 0;
    for (const char* name : kFiles) {
        std::size_t end = input.find("\n%%\n", start);
        files[name] = input.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (end == std::string::npos) break;
        start = end + 4;
    }
    return files;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string input(reinterpret_cast<const char*>(data), size);
    sb::ProfileSource source;
    source.search_dirs = {"/s"};
    source.read_file = [files = split_files(input)](const std::string& path) {
        sb::ProfileFileText file;
        auto found = files.find(path);
        if (found == files.end()) file.error = ENOENT;
        else file.text = found->second;
        return file;
    };
    const sb::Variables vars = {{"HOME", "/home/u"}, {"USER", "u"}, {"UID", "1000"}, {"GID", "1000"},
                                {"XDG_RUNTIME_DIR", "/run/user/1000"}, {"PWD", "/home/u/p"}, {"EMPTY", ""}};
    try {
        sb::Profile profile = sb::load_profile("/f/a.toml", vars, source);
        std::string rendered = sb::render_profile_toml(profile);
        if (rendered.empty()) std::abort();
    } catch (const sb::ConfigError&) {
        // bad input, reported at file:line:col: what the loader is for
    } catch (const std::exception& error) {
        // Anything else would reach the user without a location: a bug to fix.
        __builtin_trap();
    }
    return 0;
}

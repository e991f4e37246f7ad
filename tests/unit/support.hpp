// Shared helpers for the unit tests (not a test file itself: meson only globs *.cpp).
#pragma once
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

#include "profile/profile.hpp"

namespace test {

inline std::string data_dir() { return SANDBOX_TEST_DATA; }
inline std::string profiles_dir() { return data_dir() + "/profiles"; }
inline std::string profile_path(const std::string& relative) { return profiles_dir() + "/" + relative; }

// Reads a real file; nullopt with errno set when it cannot be read.
inline std::optional<std::string> read_text_file(const std::string& path) {
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno == 0) errno = ENOENT;
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        errno = EIO;
        return std::nullopt;
    }
    return text.str();
}

// A ProfileSource over the real file system with the given search dirs, read as `sandbox` reads.
inline sb::ProfileSource file_source(std::vector<std::string> search_dirs = {}) {
    sb::ProfileSource source;
    source.search_dirs = std::move(search_dirs);
    source.read_file = sb::read_profile_file;  // the real reader
    return source;
}

// A ProfileSource over in-memory files (path -> text), for small inline cases.
inline sb::ProfileSource memory_source(std::map<std::string, std::string> files,
                                       std::vector<std::string> search_dirs = {}) {
    sb::ProfileSource source;
    source.search_dirs = std::move(search_dirs);
    source.read_file = [files = std::move(files)](const std::string& path) {
        sb::ProfileFileText file;
        auto found = files.find(path);
        if (found == files.end()) file.error = ENOENT;
        else file.text = found->second;
        return file;
    };
    return source;
}

// The variables every profile test uses, as profile_variables() would make them.
inline sb::Variables test_vars() {
    return {{"HOME", "/home/tester"},
            {"USER", "tester"},
            {"UID", "1000"},
            {"GID", "1000"},
            {"XDG_RUNTIME_DIR", "/run/user/1000"},
            {"PWD", "/home/tester/project"}};
}

// Loads one in-memory profile text stored at /mem/test.toml.
inline sb::Profile load_text(const std::string& text, const sb::Variables& vars = test_vars()) {
    return sb::load_profile("/mem/test.toml", vars, memory_source({{"/mem/test.toml", text}}));
}

// The ConfigError that loading `text` raises; nullopt when it loads.
inline std::optional<sb::ConfigError> config_error(const std::string& text) {
    try {
        load_text(text);
    } catch (const sb::ConfigError& error) {
        return error;
    }
    return std::nullopt;
}

// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
public:
    TempDir() {
        char pattern[] = "/tmp/sandbox-unit.XXXXXX";
        if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string write(const std::string& name, const std::string& text) const {
        std::string file = path_ + "/" + name;
        std::ofstream out(file, std::ios::binary);
        out << text;
        if (!out) throw std::runtime_error("cannot write " + file);
        return file;
    }

private:
    std::string path_;
};

}  // namespace test

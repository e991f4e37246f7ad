// The hardening tables of a profile, [security], [seccomp] and [rlimits]: parsing one file's and
// merging it in.
#pragma once
#include <optional>

#include "profile/file_parser.hpp"
#include "profile/rlimits.hpp"
#include "seccomp/policy.hpp"

namespace sb {

struct SecurityLayer {
    std::optional<bool> seccomp, nested_namespaces;
    std::optional<LandlockMode> landlock;
    std::map<std::string, SyscallChoice> syscalls;  // [seccomp] allow / deny of this file
};

void parse_security(const FileParser& p, const toml::table& table, SecurityLayer& layer);
void parse_seccomp(const FileParser& p, const toml::table& table, SecurityLayer& layer);

// Later files win: a syscall a later file allows is allowed, whatever an earlier one denied.
// Parses [rlimits] into `into` (later files replace earlier values key by key).
void parse_rlimits(const FileParser& p, const toml::table& table, Rlimits& into);

void merge_security(SeccompSettings& into, LandlockMode& landlock, const SecurityLayer& layer);

}  // namespace sb

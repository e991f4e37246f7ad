#include "seccomp/compile.hpp"
#include "seccomp/prebuilt.hpp"

#include <algorithm>

namespace sb {

SeccompProgram seccomp_program_for(const SeccompPolicy& policy) {
    if (!policy.enabled || !policy.builtin) return compile_seccomp(policy);
    SeccompProgram program;
    program.notify = policy.mode != SeccompMode::Enforce;
    bool x32 = std::find(policy.architectures.begin(), policy.architectures.end(), "x32") != policy.architectures.end();
    auto [code, size] = prebuilt_seccomp({policy.nested_namespaces, program.notify, x32});
    // An empty program would mean no filter at all: never for an enabled policy.
    if (!code || size == 0) return compile_seccomp(policy);
    program.code.assign(code, code + size);
    return program;
}

}  // namespace sb

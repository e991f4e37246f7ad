#include "net/libslirp.hpp"

#include <dlfcn.h>

#include <string>

#include "sys/error.hpp"

namespace sb {
namespace {

constexpr const char* kLibrary = "libslirp.so.0";

[[noreturn]] void unavailable(const std::string& why) {
    throw SetupError(Stage::Network, std::string("cannot load ") + kLibrary + ": " + why,
                     "install the libslirp0 package, or use [network] mode = \"none\" or \"host\"");
}

template <typename Function>
void resolve(void* library, const char* name, Function& into) {
    void* symbol = ::dlsym(library, name);
    if (!symbol) unavailable(std::string("no symbol ") + name + " (libslirp 4.7 or newer is needed)");
    into = reinterpret_cast<Function>(symbol);
}

LibSlirp load() {
    // Never closed: libslirp's timers and callbacks live as long as the process.
    void* library = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
    if (!library) unavailable(::dlerror());
    LibSlirp api{};
    resolve(library, "slirp_new", api.new_instance);
    resolve(library, "slirp_cleanup", api.cleanup);
    resolve(library, "slirp_add_hostfwd", api.add_hostfwd);
    resolve(library, "slirp_add_hostxfwd", api.add_hostxfwd);
    resolve(library, "slirp_input", api.input);
    resolve(library, "slirp_pollfds_fill", api.pollfds_fill);
    resolve(library, "slirp_pollfds_poll", api.pollfds_poll);
    resolve(library, "slirp_handle_timer", api.handle_timer);
    resolve(library, "slirp_add_unix", api.add_unix);
    return api;
}

}  // namespace

const LibSlirp& libslirp() {
    static const LibSlirp api = load();
    return api;
}

}  // namespace sb

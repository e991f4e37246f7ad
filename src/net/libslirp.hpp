// libslirp, loaded when a sandbox first needs the user-mode network (dlopen of libslirp.so.0),
// not linked: a run without it then never maps libslirp, nor glib and pcre2, which libslirp
// pulls in (about 0.9 MB of resident memory and their relocations at every start).
#pragma once
#include <slirp/libslirp.h>

namespace sb {

struct LibSlirp {
    decltype(&::slirp_new) new_instance;
    decltype(&::slirp_cleanup) cleanup;
    decltype(&::slirp_add_hostfwd) add_hostfwd;
    decltype(&::slirp_add_hostxfwd) add_hostxfwd;
    decltype(&::slirp_input) input;
    decltype(&::slirp_pollfds_fill) pollfds_fill;
    decltype(&::slirp_pollfds_poll) pollfds_poll;
    decltype(&::slirp_handle_timer) handle_timer;
    decltype(&::slirp_add_unix) add_unix;
};

// Loads it once. Throws SetupError (network) naming the library and the package that has it.
const LibSlirp& libslirp();

}  // namespace sb

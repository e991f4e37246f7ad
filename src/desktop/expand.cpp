#include "desktop/expand.hpp"

#include "desktop/xauth.hpp"
#include "plan/plan.hpp"
#include "state/record.hpp"

namespace sb {
namespace {

class Expander {
public:
    Expander(const DesktopSettings& desktop, const HostFacts& facts, const DesktopContext& context)
        : desktop_(desktop), facts_(facts), context_(context), runtime_(sandbox_runtime_dir(facts)),
          host_runtime_(facts.env("XDG_RUNTIME_DIR")), home_(facts.env("HOME")) {}

    DesktopExpansion run() {
        if (desktop_.wayland) wayland();
        if (desktop_.x11) x11();
        if (desktop_.audio == AudioMode::Pulse) pulse();
        if (desktop_.audio == AudioMode::Pipewire) pipewire();
        if (desktop_.gpu) gpu();
        if (desktop_.fonts) fonts();
        if (desktop_.themes) themes();
        if (desktop_.home != HomeMode::Profile) home();
        if ((desktop_.wayland || desktop_.x11) && !display_given_)
            out_.warnings.push_back(std::string("[desktop] asks for ") +
                                    (desktop_.wayland && desktop_.x11 ? "Wayland or X11" : desktop_.wayland ? "Wayland" : "X11") +
                                    ", and this session has neither a compositor nor a display to give (WAYLAND_DISPLAY, DISPLAY): "
                                    "a graphical app will not start");
        if (runtime_used_) {
            // The runtime directory the sockets are shown in: the payload's own, empty otherwise.
            MountSpec dir = spec("tmpfs", "", runtime_);
            dir.mode = 0700;
            out_.mounts.insert(out_.mounts.begin(), dir);
            out_.env["XDG_RUNTIME_DIR"] = runtime_;
        }
        return std::move(out_);
    }

private:
    MountSpec spec(const char* type, const std::string& source, const std::string& target) const {
        MountSpec mount;
        mount.type = find_mount_type(type);
        mount.source = source;
        mount.target = target;
        mount.where = mount.source_where = mount.target_where = desktop_.where;
        return mount;
    }

    // A host socket shown read-only (connecting needs no write access to the mount) at `target`.
    bool show_socket(const std::string& host_path, const std::string& target, const std::string& item) {
        if (host_path.empty() || host_path.front() != '/' || !facts_.is_socket(host_path)) {
            absent(item, "no socket at " + (host_path.empty() ? "(unknown)" : host_path));
            return false;
        }
        out_.mounts.push_back(spec("ro-bind", host_path, target));
        if (target.rfind(runtime_ + "/", 0) == 0) runtime_used_ = true;
        return true;
    }

    // What was asked for and is not there: said by --dry-run and check, not at every start (a
    // profile asks for Wayland and X11 so that either works).
    void absent(const std::string& item, const std::string& why) { out_.lines.push_back(item + ": not given: " + why); }

    std::string in_host_runtime(const std::string& name) const {
        if (!name.empty() && name.front() == '/') return name;
        return host_runtime_.empty() ? std::string() : host_runtime_ + "/" + name;
    }

    void wayland() {
        std::string display = facts_.env("WAYLAND_DISPLAY").empty() ? "wayland-0" : facts_.env("WAYLAND_DISPLAY");
        std::string host = in_host_runtime(display);
        std::string name = host.substr(host.rfind('/') + 1);
        if (facts_.env("WAYLAND_DISPLAY").empty()) return absent("wayland", "WAYLAND_DISPLAY is unset");
        if (!show_socket(host, runtime_ + "/" + name, "wayland")) return;
        display_given_ = true;
        out_.env["WAYLAND_DISPLAY"] = name;
        keep("XDG_SESSION_TYPE");
        out_.lines.push_back("wayland: the compositor's socket " + host + " at " + runtime_ + "/" + name +
                             " (the plain socket: every Wayland client of the session is its peer)");
    }

    void x11() {
        std::string display = facts_.env("DISPLAY");
        auto number = local_display_number(display);
        if (!number) {
            absent("x11", display.empty() ? std::string("DISPLAY is unset") : "DISPLAY=" + display + " is not a local display");
            return;
        }
        std::string path = "/tmp/.X11-unix/X" + *number;
        if (!show_socket(path, path, "x11")) return;
        display_given_ = true;
        out_.env["DISPLAY"] = ":" + *number;
        std::string line = "x11: display :" + *number + " (" + path + ")";
        std::string authority = facts_.env("XAUTHORITY").empty() ? (home_.empty() ? "" : home_ + "/.Xauthority")
                                                                  : facts_.env("XAUTHORITY");
        std::optional<XauthEntry> cookie;
        if (!authority.empty())
            if (auto bytes = facts_.read_file(authority))
                if (auto entries = parse_xauthority(*bytes)) cookie = cookie_for_display(*entries, *number, facts_.hostname);
        if (cookie) {
            // Any host name: inside, the sandbox's own is not the host's.
            cookie->family = kXauthFamilyWild;
            cookie->address.clear();
            MountSpec file = spec("file", "", runtime_ + "/Xauthority");
            file.contents = render_xauthority({*cookie});
            file.mode = 0600;
            out_.mounts.push_back(file);
            runtime_used_ = true;
            out_.env["XAUTHORITY"] = runtime_ + "/Xauthority";
            line += ", with its cookie alone in " + runtime_ + "/Xauthority";
        } else {
            line += ", no cookie (" + (authority.empty() ? std::string("no Xauthority file") : authority + " has none for it") + ")";
        }
        if (context_.network == NetworkMode::Host && !context_.abstract_sockets_scoped)
            out_.warnings.push_back("[desktop] x11 with the host's network: the X server's abstract socket is reachable "
                                    "(Landlock with ABI 6 would scope it away)");
        out_.lines.push_back(line + "; X11 keeps no client from another's windows, input or clipboard");
    }

    void pulse() {
        std::string server = facts_.env("PULSE_SERVER");
        std::string host = server.rfind("unix:", 0) == 0 ? server.substr(5) : in_host_runtime("pulse/native");
        std::string target = runtime_ + "/pulse/native";
        if (!show_socket(host, target, "audio")) return;
        out_.env["PULSE_SERVER"] = "unix:" + target;
        std::string line = "audio: PulseAudio's socket " + host + " at " + target;
        std::string config = config_home();
        if (config.front() != '/') config = home_ + "/" + config;
        for (const std::string& cookie : {facts_.env("PULSE_COOKIE"), config + "/pulse/cookie", home_ + "/.pulse-cookie"}) {
            if (cookie.empty() || cookie.front() != '/' || !facts_.path_exists(cookie)) continue;
            out_.mounts.push_back(spec("ro-bind", cookie, runtime_ + "/pulse/cookie"));
            out_.env["PULSE_COOKIE"] = runtime_ + "/pulse/cookie";
            line += ", its cookie " + cookie;
            break;
        }
        out_.lines.push_back(line);
    }

    void pipewire() {
        std::string remote = facts_.env("PIPEWIRE_REMOTE").empty() ? "pipewire-0" : facts_.env("PIPEWIRE_REMOTE");
        std::string host = in_host_runtime(remote);
        std::string target = runtime_ + "/pipewire-0";
        if (!show_socket(host, target, "audio")) return;
        out_.env["PIPEWIRE_REMOTE"] = target;
        out_.lines.push_back("audio: PipeWire's socket " + host + " at " + target);
    }

    void gpu() {
        std::vector<std::string> nodes;
        // DRI: the render nodes alone (what a client of a compositor renders with). The primary
        // nodes (cardN) would let it take the display over where no compositor holds it.
        for (const auto& name : facts_.list_dir("/dev/dri")) {
            if (name.rfind("renderD", 0) != 0) continue;
            MountSpec bind = spec("ro-bind", "/dev/dri/" + name, "/dev/dri/" + name);
            bind.devices = true;
            out_.mounts.push_back(bind);
            nodes.push_back("/dev/dri/" + name);
        }
        for (const char* node : {"/dev/nvidiactl", "/dev/nvidia-modeset", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools",
                                 "/dev/nvidia0", "/dev/nvidia1", "/dev/nvidia2", "/dev/nvidia3"}) {
            if (!facts_.path_exists(node)) continue;
            MountSpec bind = spec("bind", node, node);
            bind.devices = true;
            out_.mounts.push_back(bind);
            nodes.push_back(node);
        }
        if (nodes.empty()) {
            return absent("gpu", "this host has no render node in /dev/dri (nor NVIDIA's nodes); rendering is in software");
        }
        // Mesa and libdrm find the driver through sysfs: the device directories, read-only.
        for (const char* dir : {"/sys/dev/char", "/sys/devices"})
            out_.mounts.push_back(spec("ro-bind-try", dir, dir));
        std::string line = "gpu:";
        for (const auto& node : nodes) line += " " + node;
        out_.lines.push_back(line + " (device nodes work), with /sys/dev/char and /sys/devices read-only");
    }

    void home() {
        if (home_.empty() || home_.front() != '/' || home_ == "/")
            throw ConfigError(desktop_.where, "[desktop] home needs $HOME, an absolute path other than /");
        switch (desktop_.home) {
            case HomeMode::Tmpfs: {
                MountSpec dir = spec("tmpfs", "", home_);
                dir.mode = 0700;
                out_.mounts.push_back(dir);
                out_.lines.push_back("home: " + home_ + " empty, gone with the sandbox");
                break;
            }
            case HomeMode::Host:
                out_.mounts.push_back(spec("ro-bind", home_, home_));
                out_.lines.push_back("home: yours, read-only (what it holds, secrets too, can be read)");
                break;
            case HomeMode::Persistent: {
                if (facts_.data_dir.empty())
                    throw ConfigError(desktop_.where, "[desktop] home = \"persistent\" needs a data directory, and neither "
                                                      "XDG_DATA_HOME nor HOME is set");
                if (!valid_sandbox_name(context_.app))
                    throw ConfigError(desktop_.where, "[desktop] home = \"persistent\" needs the app's name: set 'name' in "
                                                      "the profile (\"" + context_.app + "\" cannot be one)");
                std::string dir = app_homes_root(facts_.data_dir) + "/" + context_.app + "/home";
                MountSpec bind = spec("bind", dir, home_);
                bind.app_home = true;
                out_.mounts.push_back(bind);
                out_.app_home = dir;
                out_.lines.push_back("home: " + dir + ", the app's own, kept across runs");
                break;
            }
            case HomeMode::Profile: break;
        }
    }

    void keep(const char* name) {
        if (!facts_.env(name).empty()) out_.env[name] = facts_.env(name);
    }

    // Read-only binds of what exists of `paths` (home paths given relative to $HOME). Not into a
    // persistent home: the app's settings are its own there (and a mount point missing in it
    // would make the home a read-only mirror).
    std::vector<std::string> show_read_only(const std::vector<std::string>& paths) {
        std::vector<std::string> shown;
        for (const auto& given : paths) {
            std::string path = given.front() == '/' ? given : home_.empty() ? std::string() : home_ + "/" + given;
            if (desktop_.home == HomeMode::Persistent && !home_.empty() && path.rfind(home_ + "/", 0) == 0) continue;
            if (path.empty() || !facts_.path_exists(path)) continue;
            out_.mounts.push_back(spec("ro-bind", path, path));
            shown.push_back(path);
        }
        return shown;
    }

    // $XDG_CONFIG_HOME and $XDG_DATA_HOME, or their places relative to $HOME (show_read_only).
    std::string config_home() const { return facts_.env("XDG_CONFIG_HOME").empty() ? ".config" : facts_.env("XDG_CONFIG_HOME"); }
    std::string data_home() const { return facts_.env("XDG_DATA_HOME").empty() ? ".local/share" : facts_.env("XDG_DATA_HOME"); }

    void fonts() {
        std::string config = config_home(), data = data_home();
        auto shown = show_read_only({"/usr/share/fonts", "/usr/local/share/fonts", "/etc/fonts", "/var/cache/fontconfig",
                                     data + "/fonts", ".fonts", config + "/fontconfig", ".fonts.conf"});
        out_.lines.push_back("fonts: " + joined(shown) + " (read-only)");
    }

    void themes() {
        std::string config = config_home(), data = data_home();
        auto shown = show_read_only({"/usr/share/icons", "/usr/share/themes", data + "/icons", data + "/themes", ".icons",
                                     ".themes", config + "/gtk-3.0", config + "/gtk-4.0", ".gtkrc-2.0", config + "/qt5ct",
                                     config + "/qt6ct", config + "/Kvantum", config + "/kdeglobals"});
        for (const char* name : {"GTK_THEME", "XCURSOR_THEME", "XCURSOR_SIZE", "QT_QPA_PLATFORMTHEME", "QT_STYLE_OVERRIDE",
                                 "GDK_SCALE", "GDK_DPI_SCALE", "QT_SCALE_FACTOR", "QT_AUTO_SCREEN_SCALE_FACTOR",
                                 "XDG_CURRENT_DESKTOP"})
            keep(name);
        out_.lines.push_back("themes: " + joined(shown) + " (read-only)");
    }

    static std::string joined(const std::vector<std::string>& paths) {
        if (paths.empty()) return "none found";
        std::string text;
        for (const auto& path : paths) text += (text.empty() ? "" : ", ") + path;
        return text;
    }

    const DesktopSettings& desktop_;
    const HostFacts& facts_;
    const DesktopContext& context_;
    std::string runtime_, host_runtime_, home_;
    bool runtime_used_ = false, display_given_ = false;
    DesktopExpansion out_;
};

}  // namespace

std::string app_name(const Profile& profile) {
    if (!profile.name.empty()) return profile.name;
    return profile.files.empty() ? std::string() : profile_stem(profile.files.back());
}

std::string app_homes_root(const std::string& data_dir) { return data_dir + "/apps"; }

std::string sandbox_runtime_dir(const HostFacts& facts) {
    std::string dir = facts.env("XDG_RUNTIME_DIR");
    if (auto normalized = normalize_absolute_path(dir); normalized && *normalized != "/") return *normalized;
    return "/run/user/" + std::to_string(facts.uid);
}

DesktopExpansion expand_desktop(const DesktopSettings& desktop, const HostFacts& facts, const DesktopContext& context) {
    return Expander(desktop, facts, context).run();
}

}  // namespace sb

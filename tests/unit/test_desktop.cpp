// [desktop] (issue 12): Xauthority parsing and the one-cookie file, and the expansion of each
// item into mounts and environment from host facts built here (no host state is read).
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "desktop/expand.hpp"
#include "desktop/launcher.hpp"
#include "desktop/xauth.hpp"
#include "plan/plan.hpp"
#include "support.hpp"

using sb::DesktopSettings;
using sb::HostFacts;
using sb::XauthEntry;

namespace {

HostFacts desktop_facts(std::set<std::string> existing) {
    HostFacts facts;
    facts.uid = 1000;
    facts.gid = 1000;
    facts.user_name = "tester";
    facts.hostname = "box";
    facts.environment = {{"HOME", "/home/tester"},           {"XDG_RUNTIME_DIR", "/run/user/1000"},
                         {"WAYLAND_DISPLAY", "wayland-1"},    {"DISPLAY", ":3.0"},
                         {"XAUTHORITY", "/home/tester/.Xa"}, {"GTK_THEME", "Adwaita:dark"}};
    facts.path_exists = [existing](const std::string& path) { return existing.count(path) > 0; };
    facts.is_socket = facts.path_exists;
    return facts;
}

const sb::MountSpec* mount_at(const sb::DesktopExpansion& out, const std::string& target) {
    auto found = std::find_if(out.mounts.begin(), out.mounts.end(), [&](const sb::MountSpec& m) { return m.target == target; });
    return found == out.mounts.end() ? nullptr : &*found;
}

XauthEntry entry(unsigned family, std::string address, std::string number, std::string data) {
    return XauthEntry{family, std::move(address), std::move(number), "MIT-MAGIC-COOKIE-1", std::move(data)};
}

}  // namespace

TEST_CASE("Xauthority files are read and written in libXau's format", "[desktop]") {
    std::vector<XauthEntry> entries = {entry(sb::kXauthFamilyLocal, "box", "3", std::string("\x01\x00\xff", 3)),
                                       entry(0, std::string("\x7f\x00\x00\x01", 4), "0", "tcp")};
    std::string bytes = sb::render_xauthority(entries);
    // family 256, then each field with its big-endian length
    CHECK(bytes.substr(0, 7) == std::string("\x01\x00\x00\x03" "box", 7));
    auto back = sb::parse_xauthority(bytes);
    REQUIRE(back);
    REQUIRE(back->size() == 2);
    CHECK((*back)[0].data == entries[0].data);
    CHECK((*back)[1].address == entries[1].address);
    CHECK_FALSE(sb::parse_xauthority(bytes.substr(0, bytes.size() - 1)));  // cut short
    CHECK(sb::parse_xauthority("")->empty());
}

TEST_CASE("The cookie of a display: this host's or a wildcard one first", "[desktop]") {
    std::vector<XauthEntry> entries = {entry(sb::kXauthFamilyLocal, "other", "3", "theirs"),
                                       entry(sb::kXauthFamilyLocal, "box", "4", "four"),
                                       entry(sb::kXauthFamilyLocal, "box", "3", "ours"), entry(0, "x", "3", "tcp")};
    CHECK(sb::cookie_for_display(entries, "3", "box")->data == "ours");
    CHECK_FALSE(sb::cookie_for_display(entries, "3", "elsewhere"));  // another host's cookie is never taken
    CHECK_FALSE(sb::cookie_for_display(entries, "5", "box"));
    entries.insert(entries.begin(), entry(sb::kXauthFamilyWild, "", "3", "wild"));
    CHECK(sb::cookie_for_display(entries, "3", "elsewhere")->data == "wild");
}

TEST_CASE("DISPLAY values name a local display or not", "[desktop]") {
    CHECK(sb::local_display_number(":0") == std::optional<std::string>("0"));
    CHECK(sb::local_display_number(":12.1") == std::optional<std::string>("12"));
    CHECK(sb::local_display_number("unix:2") == std::optional<std::string>("2"));
    CHECK_FALSE(sb::local_display_number("host:0"));
    CHECK_FALSE(sb::local_display_number(":"));
    CHECK_FALSE(sb::local_display_number(":0/../x"));
    CHECK_FALSE(sb::local_display_number(""));
}

TEST_CASE("wayland = true shows the compositor's socket alone in a runtime directory of the sandbox's", "[desktop]") {
    DesktopSettings desktop;
    desktop.wayland = true;
    auto out = sb::expand_desktop(desktop, desktop_facts({"/run/user/1000/wayland-1"}), {});
    REQUIRE(out.mounts.size() == 2);
    CHECK(out.mounts[0].type->kind == sb::MountKind::Tmpfs);  // first: the sockets are mounted in it
    CHECK(out.mounts[0].target == "/run/user/1000");
    CHECK(out.mounts[0].mode == 0700u);
    CHECK(out.mounts[1].type->kind == sb::MountKind::RoBind);
    CHECK(out.mounts[1].source == "/run/user/1000/wayland-1");
    CHECK(out.mounts[1].target == "/run/user/1000/wayland-1");
    CHECK(out.env.at("WAYLAND_DISPLAY") == "wayland-1");
    CHECK(out.env.at("XDG_RUNTIME_DIR") == "/run/user/1000");
    CHECK(out.warnings.empty());

    // An absolute WAYLAND_DISPLAY is shown by its name in the runtime directory.
    HostFacts facts = desktop_facts({"/tmp/w/comp"});
    facts.environment["WAYLAND_DISPLAY"] = "/tmp/w/comp";
    out = sb::expand_desktop(desktop, facts, {});
    REQUIRE(mount_at(out, "/run/user/1000/comp"));
    CHECK(mount_at(out, "/run/user/1000/comp")->source == "/tmp/w/comp");
    CHECK(out.env.at("WAYLAND_DISPLAY") == "comp");

    // No compositor: nothing mounted, said in the lines, and a warning that no display is given.
    out = sb::expand_desktop(desktop, desktop_facts({}), {});
    CHECK(out.mounts.empty());
    CHECK(out.env.empty());
    REQUIRE(out.warnings.size() == 1);
    CHECK_THAT(out.warnings[0], Catch::Contains("neither a compositor nor a display"));
    CHECK_THAT(out.lines[0], Catch::StartsWith("wayland: not given: no socket at /run/user/1000/wayland-1"));
}

TEST_CASE("x11 = true shows the display's socket and a file with its cookie alone", "[desktop]") {
    DesktopSettings desktop;
    desktop.x11 = true;
    HostFacts facts = desktop_facts({"/tmp/.X11-unix/X3"});
    std::vector<XauthEntry> host = {entry(sb::kXauthFamilyLocal, "box", "2", "two"),
                                    entry(sb::kXauthFamilyLocal, "box", "3", "three")};
    facts.read_file = [&](const std::string& path) -> std::optional<std::string> {
        if (path == "/home/tester/.Xa") return sb::render_xauthority(host);
        return std::nullopt;
    };
    auto out = sb::expand_desktop(desktop, facts, {});
    REQUIRE(mount_at(out, "/tmp/.X11-unix/X3"));
    CHECK(mount_at(out, "/tmp/.X11-unix/X3")->source == "/tmp/.X11-unix/X3");
    const auto* cookie = mount_at(out, "/run/user/1000/Xauthority");
    REQUIRE(cookie);
    CHECK(cookie->type->kind == sb::MountKind::File);
    CHECK(cookie->mode == 0600u);
    auto inside = sb::parse_xauthority(cookie->contents);
    REQUIRE(inside);
    REQUIRE(inside->size() == 1);
    CHECK((*inside)[0].family == sb::kXauthFamilyWild);  // the sandbox's host name is not the host's
    CHECK((*inside)[0].data == "three");
    CHECK(out.env.at("DISPLAY") == ":3");
    CHECK(out.env.at("XAUTHORITY") == "/run/user/1000/Xauthority");
    CHECK(out.warnings.empty());

    // The host's network without Landlock's scopes leaves the abstract socket reachable: said.
    sb::DesktopContext shared;
    shared.network = sb::NetworkMode::Host;
    CHECK(sb::expand_desktop(desktop, facts, shared).warnings.size() == 1);
    shared.abstract_sockets_scoped = true;
    CHECK(sb::expand_desktop(desktop, facts, shared).warnings.empty());

    // A display over TCP is not given.
    facts.environment["DISPLAY"] = "remote:0";
    out = sb::expand_desktop(desktop, facts, {});
    CHECK(out.mounts.empty());
    CHECK_FALSE(out.env.count("DISPLAY"));

    // No cookie for the display: the socket alone.
    facts.environment["DISPLAY"] = ":3";
    host.pop_back();
    out = sb::expand_desktop(desktop, facts, {});
    CHECK(mount_at(out, "/tmp/.X11-unix/X3"));
    CHECK_FALSE(mount_at(out, "/run/user/1000/Xauthority"));
    CHECK_FALSE(out.env.count("XAUTHORITY"));
}

TEST_CASE("audio shows PulseAudio's socket and cookie, or PipeWire's socket", "[desktop]") {
    DesktopSettings desktop;
    desktop.audio = sb::AudioMode::Pulse;
    auto out = sb::expand_desktop(desktop, desktop_facts({"/run/user/1000/pulse/native", "/home/tester/.config/pulse/cookie"}), {});
    REQUIRE(mount_at(out, "/run/user/1000/pulse/native"));
    REQUIRE(mount_at(out, "/run/user/1000/pulse/cookie"));
    CHECK(mount_at(out, "/run/user/1000/pulse/cookie")->source == "/home/tester/.config/pulse/cookie");
    CHECK(out.env.at("PULSE_SERVER") == "unix:/run/user/1000/pulse/native");
    CHECK(out.env.at("PULSE_COOKIE") == "/run/user/1000/pulse/cookie");

    HostFacts facts = desktop_facts({"/srv/pa.sock"});
    facts.environment["PULSE_SERVER"] = "unix:/srv/pa.sock";
    out = sb::expand_desktop(desktop, facts, {});
    REQUIRE(mount_at(out, "/run/user/1000/pulse/native"));
    CHECK(mount_at(out, "/run/user/1000/pulse/native")->source == "/srv/pa.sock");
    CHECK_FALSE(out.env.count("PULSE_COOKIE"));

    desktop.audio = sb::AudioMode::Pipewire;
    out = sb::expand_desktop(desktop, desktop_facts({"/run/user/1000/pipewire-0"}), {});
    REQUIRE(mount_at(out, "/run/user/1000/pipewire-0"));
    CHECK(out.env.at("PIPEWIRE_REMOTE") == "/run/user/1000/pipewire-0");
}

TEST_CASE("gpu = true binds the device nodes that exist, with devices working", "[desktop]") {
    DesktopSettings desktop;
    desktop.gpu = true;
    HostFacts facts = desktop_facts({"/dev/dri", "/dev/nvidiactl"});
    facts.list_dir = [](const std::string& dir) {
        return dir == "/dev/dri" ? std::vector<std::string>{"by-path", "card0", "renderD128"} : std::vector<std::string>{};
    };
    auto out = sb::expand_desktop(desktop, facts, {});
    CHECK_FALSE(mount_at(out, "/dev/dri"));
    CHECK_FALSE(mount_at(out, "/dev/dri/card0"));  // a primary node could take the display over
    REQUIRE(mount_at(out, "/dev/dri/renderD128"));
    CHECK(mount_at(out, "/dev/dri/renderD128")->devices);
    CHECK(mount_at(out, "/dev/nvidiactl")->devices);
    CHECK(mount_at(out, "/dev/nvidiactl"));
    CHECK_FALSE(mount_at(out, "/dev/nvidia0"));
    CHECK(mount_at(out, "/sys/devices"));
    CHECK(mount_at(out, "/sys/devices")->type->skip_missing_source);
    CHECK(sb::expand_desktop(desktop, desktop_facts({}), {}).mounts.empty());
}

TEST_CASE("fonts and themes show what exists of the user's, read-only, and keep the theme variables", "[desktop]") {
    DesktopSettings desktop;
    desktop.fonts = desktop.themes = true;
    auto out = sb::expand_desktop(desktop, desktop_facts({"/home/tester/.local/share/fonts", "/home/tester/.config/gtk-3.0", "/etc/fonts"}), {});
    std::set<std::string> targets;
    for (const auto& m : out.mounts) {
        CHECK(m.type->kind == sb::MountKind::RoBind);
        targets.insert(m.target);
    }
    CHECK(targets == std::set<std::string>{"/home/tester/.local/share/fonts", "/home/tester/.config/gtk-3.0", "/etc/fonts"});
    CHECK(out.env.at("GTK_THEME") == "Adwaita:dark");
    CHECK_FALSE(out.env.count("XDG_RUNTIME_DIR"));  // no socket: no runtime directory
}

TEST_CASE("[desktop] in a profile: loaded, merged, rendered, and expanded in the plan under the profile's own", "[desktop]") {
    sb::Profile profile = test::load_text(R"(
command = ["/bin/true"]
[env]
set = { WAYLAND_DISPLAY = "mine" }
[[mount]]
type = "tmpfs"
target = "/run/user/1000"
mode = "0755"
[desktop]
wayland = true
audio = "pipewire"
)");
    CHECK(profile.desktop.wayland);
    CHECK(profile.desktop.audio == sb::AudioMode::Pipewire);
    CHECK_FALSE(profile.desktop.x11);
    CHECK(profile.desktop.where.line == 9);
    sb::Profile again = test::load_text(sb::render_profile_toml(profile));
    CHECK(again.desktop.wayland);
    CHECK(again.desktop.audio == sb::AudioMode::Pipewire);

    HostFacts facts = desktop_facts({"/run/user/1000/wayland-1"});
    sb::Plan plan = sb::build_plan(profile, {}, facts);
    auto runtime = std::find_if(plan.mounts.begin(), plan.mounts.end(), [](const sb::MountStep& m) { return m.target == "/run/user/1000"; });
    REQUIRE(runtime != plan.mounts.end());
    CHECK(runtime->mode == 0755u);  // the profile's own mount of that target wins
    CHECK(std::count_if(plan.mounts.begin(), plan.mounts.end(), [](const sb::MountStep& m) { return m.target == "/run/user/1000/wayland-1"; }) == 1);
    CHECK(std::find(plan.process.env.begin(), plan.process.env.end(), "WAYLAND_DISPLAY=mine") != plan.process.env.end());
    CHECK(std::find(plan.process.env.begin(), plan.process.env.end(), "XDG_RUNTIME_DIR=/run/user/1000") != plan.process.env.end());
    CHECK_THAT(sb::render_plan(plan), Catch::Contains("desktop:\n  wayland: the compositor's socket /run/user/1000/wayland-1"));
    CHECK_THAT(sb::render_bind_sources(plan), Catch::Contains("# [desktop], in this session:\n#   wayland: the compositor's socket"));

    CHECK(test::config_error("[desktop]\naudio = \"alsa\"\n"));
    CHECK(test::config_error("[desktop]\nclipboard = true\n"));
    CHECK(test::config_error("[desktop]\nwayland = \"yes\"\n"));
}

TEST_CASE("[desktop] home: an empty tmpfs, the app's own kept directory, or the host's read-only", "[desktop]") {
    HostFacts facts = desktop_facts({"/home/tester", "/home/tester/.local/share", "/home/tester/.local/share/sandbox/apps/editor/home"});
    facts.data_dir = "/home/tester/.local/share/sandbox";
    auto plan_of = [&](const std::string& home, const std::string& name_line) {
        sb::Profile profile = test::load_text("command = [\"/bin/true\"]\n" + name_line +
                                              "[[mount]]\ntype = \"tmpfs\"\ntarget = \"/home/tester\"\nmode = \"0755\"\n"
                                              "[desktop]\nhome = \"" + home + "\"\n");
        return sb::build_plan(profile, {}, facts);
    };
    auto at_home = [](const sb::Plan& plan) {
        auto found = std::find_if(plan.mounts.begin(), plan.mounts.end(), [](const sb::MountStep& m) { return m.target == "/home/tester"; });
        REQUIRE(found != plan.mounts.end());
        return *found;
    };
    sb::Plan plan = plan_of("persistent", "name = \"editor\"\n");
    sb::MountStep home = at_home(plan);  // in place of the profile's own tmpfs
    CHECK(home.kind == sb::MountKind::Bind);
    CHECK(home.app_home);
    CHECK(home.source == "/home/tester/.local/share/sandbox/apps/editor/home");
    CHECK(plan.app_home == home.source);
    // The homes of apps are hidden like the kept changes; this one is the sandbox's own.
    CHECK(std::find(plan.hidden_dirs.begin(), plan.hidden_dirs.end(), "/home/tester/.local/share/sandbox/apps") != plan.hidden_dirs.end());
    // Without a name, the profile file's: /mem/test.toml.
    CHECK(plan_of("persistent", "").app_home == "/home/tester/.local/share/sandbox/apps/test/home");
    CHECK(at_home(plan_of("tmpfs", "")).mode == 0700u);
    CHECK(at_home(plan_of("tmpfs", "")).kind == sb::MountKind::Tmpfs);
    home = at_home(plan_of("host", ""));
    CHECK(home.kind == sb::MountKind::RoBind);
    CHECK(home.source == "/home/tester");
    CHECK(test::config_error("[desktop]\nhome = \"shared\"\n"));
    // --name labels the sandbox; it does not choose whose home it gets.
    sb::Overrides named;
    named.name = "other";
    sb::Profile editor = test::load_text("command = [\"/bin/true\"]\nname = \"editor\"\n[desktop]\nhome = \"persistent\"\n");
    CHECK(sb::build_plan(editor, named, facts).app_home == "/home/tester/.local/share/sandbox/apps/editor/home");
    CHECK(sb::build_plan(editor, named, facts).app_home_profile == "/mem/test.toml");
    // home = "profile": back to the profile's own mounts (a later file undoes a base's home).
    CHECK(at_home(plan_of("profile", "")).kind == sb::MountKind::Tmpfs);
    CHECK(at_home(plan_of("profile", "")).mode == 0755u);
    // A persistent home gets none of the user's settings bound into it.
    sb::DesktopSettings fonts;
    fonts.fonts = true;
    fonts.home = sb::HomeMode::Persistent;
    HostFacts with_fonts = desktop_facts({"/home/tester/.fonts", "/etc/fonts"});
    with_fonts.data_dir = facts.data_dir;
    sb::DesktopContext app;
    app.app = "editor";
    auto expanded = sb::expand_desktop(fonts, with_fonts, app);
    CHECK(mount_at(expanded, "/etc/fonts"));
    CHECK_FALSE(mount_at(expanded, "/home/tester/.fonts"));

    // Another sandbox binding the data directory sees no app's home: it is covered.
    sb::Profile other = test::load_text("command = [\"/bin/true\"]\n[[mount]]\ntype = \"ro-bind\"\n"
                                        "source = \"/home/tester/.local/share\"\ntarget = \"/d\"\n");
    sb::Plan seen = sb::build_plan(other, {}, facts);
    CHECK(std::any_of(seen.mounts.begin(), seen.mounts.end(),
                      [](const sb::MountStep& m) { return m.state_dir_cover && m.target == "/d/sandbox/apps"; }));
    CHECK(std::find(seen.changes.make_dirs.begin(), seen.changes.make_dirs.end(), "/home/tester/.local/share/sandbox/apps") !=
          seen.changes.make_dirs.end());
    // And binding an app's home directly is refused, as anything inside a hidden directory.
    sb::Profile direct = test::load_text("command = [\"/bin/true\"]\n[[mount]]\ntype = \"ro-bind\"\n"
                                         "source = \"/home/tester/.local/share/sandbox/apps/editor/home\"\ntarget = \"/d\"\n");
    CHECK_THROWS_AS(sb::build_plan(direct, {}, facts), sb::ConfigError);
}

TEST_CASE("Menu entries: Exec quoted as the Desktop Entry Specification says, read back by name", "[desktop]") {
    CHECK(sb::desktop_exec_value({"/usr/bin/sandbox", "desktop", "launch", "app", "/p/app.toml"}) ==
          "/usr/bin/sandbox desktop launch app /p/app.toml");
    // Reserved characters: the word in double quotes, with " ` $ \ escaped; then '\' doubled as
    // a string value; '%' doubled (a field code otherwise).
    CHECK(sb::desktop_exec_value({"/opt/my apps/sandbox", "50%", "a\"b", "$HOME", "back\\slash", ""}) ==
          "\"/opt/my apps/sandbox\" 50%% \"a\\\\\"b\" \"\\\\$HOME\" \"back\\\\\\\\slash\" \"\"");
    CHECK_THROWS_AS(sb::desktop_exec_value({"a\nb"}), sb::UsageError);

    sb::Launcher launcher{"notes", "/home/u/.config/sandbox/profiles/notes.toml",
                          {"/usr/bin/sandbox", "desktop", "launch", "notes", "/home/u/.config/sandbox/profiles/notes.toml"},
                          "/home/u/.local/share/icons/sandbox-notes.png", "notes"};
    std::string text = sb::render_launcher(launcher);
    CHECK_THAT(text, Catch::StartsWith("[Desktop Entry]\nType=Application\n"));
    CHECK_THAT(text, Catch::Contains("\nExec=/usr/bin/sandbox desktop launch notes /home/u/.config/sandbox/profiles/notes.toml\n"));
    CHECK_THAT(text, Catch::Contains("\nIcon=/home/u/.local/share/icons/sandbox-notes.png\n"));
    auto back = sb::parse_launcher(text);
    REQUIRE(back);
    CHECK(back->name == "notes");
    CHECK(back->profile == launcher.profile);
    CHECK(back->icon == launcher.icon);
    CHECK_FALSE(sb::parse_launcher("[Desktop Entry]\nName=x\nExec=x\n"));  // not one of ours
    CHECK(sb::launcher_file_name("notes") == "sandbox-notes.desktop");
}

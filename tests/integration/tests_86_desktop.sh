# [desktop] with the real components (issue 12): a headless Weston, Xvfb, a PulseAudio daemon
# with a null sink, each started here as the user, and their own clients inside the sandbox.

# session_dir: a runtime directory of this test's ($T/rt, 0700), exported as XDG_RUNTIME_DIR.
session_dir() {
  mkdir -p -m 0700 "$T/rt"
  export XDG_RUNTIME_DIR=$T/rt
}

wait_for_socket() { # wait_for_socket PATH SECONDS
  local deadline=$(($(now_ms) + $2 * 1000))
  while [ ! -S "$1" ] && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.1; done
  [ -S "$1" ]
}

need_program() { command -v "$1" >/dev/null || skip "$1 is not installed (scripts/install-deps.sh installs it)"; }

start_xvfb() { # start_xvfb: Xvfb on a free display :$XN, with a cookie for it in $T/xa
  local n
  for n in $(seq 140 199); do [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] || break; done
  xauth -f "$T/xa" add ":$n" . "$(mcookie)" 2>/dev/null
  start_bg Xvfb ":$n" -auth "$T/xa" -nolisten tcp >"$T/xvfb.log" 2>&1
  wait_for_socket "/tmp/.X11-unix/X$n" 20 || fail "Xvfb did not start" "$(tail -5 "$T/xvfb.log")"
  XN=$n
}

poll_output() { # poll_output FILE PATTERN CMD...: run CMD into FILE until it matches PATTERN (10 s)
  local file=$1 pattern=$2 i
  shift 2
  for i in $(seq 100); do
    "$@" >"$file" 2>/dev/null
    grep -q -- "$pattern" "$file" && return 0
    sleep 0.1
  done
  return 1
}

t_desktop_wayland_client_reaches_the_compositor_only_when_asked() {
  need_program weston
  need_program wayland-info
  session_dir
  start_bg weston --backend=headless-backend.so --socket=wayland-sbt --idle-time=0 --no-config >"$T/weston.log" 2>&1
  wait_for_socket "$T/rt/wayland-sbt" 20 || fail "weston did not start" "$(tail -5 "$T/weston.log")"
  export WAYLAND_DISPLAY=wayland-sbt
  local p
  p=$(mkprofile -n p gui)
  sb run "$p" -- /bin/sh -c 'echo "runtime=$XDG_RUNTIME_DIR display=$WAYLAND_DISPLAY"; ls -A "$XDG_RUNTIME_DIR"; wayland-info'
  expect_rc 0 "wayland-info in a sandbox with wayland = true"
  grep -q "interface: 'wl_compositor'" "$T/out" || fail "wayland-info does not list the compositor's globals" "$(head -20 "$T/out")"
  expect_kv runtime "$T/rt display=wayland-sbt"
  # The runtime directory inside holds the socket alone (not the host's, with weston's lock file).
  [ "$(sed -n 2p "$T/out")" = wayland-sbt ] || fail "the runtime directory inside is not the socket alone" "$(head -5 "$T/out")"
  sb run --dry-run "$p"
  grep -q "wayland: the compositor's socket $T/rt/wayland-sbt" "$T/out" || fail "--dry-run does not say what wayland gives" "$(cat "$T/out")"
  p=$(mkprofile -n q default)
  sb run "$p" -- /bin/sh -c 'XDG_RUNTIME_DIR='"$T/rt"' WAYLAND_DISPLAY=wayland-sbt wayland-info'
  [ "$RC" != 0 ] || fail "a sandbox without wayland = true reached the compositor"
}

t_desktop_x11_client_reaches_the_display_with_one_cookie() {
  need_program Xvfb
  need_program xdpyinfo
  need_program xauth
  session_dir
  start_xvfb
  local n=$XN
  xauth -f "$T/xa" add ":$((n + 1))" . "$(mcookie)"
  xauth -f "$T/xa" add "otherhost/unix:$n" . "$(mcookie)"
  export DISPLAY=:$n XAUTHORITY=$T/xa
  local p
  p=$(mkprofile -n p gui)
  sb run "$p" -- /bin/sh -c 'xdpyinfo | head -1; echo "entries=$(xauth list | wc -l)"; xauth list'
  expect_rc 0 "xdpyinfo in a sandbox with x11 = true"
  grep -q "^name of display:.*:$n" "$T/out" || fail "xdpyinfo does not reach the display" "$(cat "$T/out") $(cat "$T/err")"
  expect_kv entries 1
  grep -q "$(xauth -f "$T/xa" list ":$n" | grep -v otherhost | awk '{print $3}')" "$T/out" ||
    fail "the cookie inside is not this display's" "$(cat "$T/out")"
  # Without x11: neither the socket file nor the server's abstract socket (@/tmp/.X11-unix/XN,
  # reachable from the host's network namespace only) lets a client in, with the cookie given.
  p=$(mkprofile -n q default '[[mount]]' 'type = "ro-bind"' "source = \"$T/xa\"" "target = \"$T/xa\"")
  sb run "$p" -- /bin/sh -c "DISPLAY=:$n XAUTHORITY=$T/xa xdpyinfo"
  [ "$RC" != 0 ] || fail "a sandbox without x11 = true reached the display"
}

t_desktop_pulseaudio_answers_inside() {
  need_program pulseaudio
  need_program pactl
  session_dir
  mkdir -p "$T/home"
  HOME=$T/home start_bg pulseaudio -n --daemonize=no --exit-idle-time=-1 --use-pid-file=no --system=no \
    -L "module-native-protocol-unix socket=$T/rt/pulse/native" -L "module-null-sink sink_name=sbt_null" >"$T/pa.log" 2>&1
  wait_for_socket "$T/rt/pulse/native" 20 || fail "pulseaudio did not start" "$(tail -5 "$T/pa.log")"
  export HOME=$T/home
  local p
  p=$(mkprofile -n p gui)
  sb run "$p" -- /bin/sh -c 'pactl info; pactl list short sinks'
  expect_rc 0 "pactl in a sandbox with audio = \"pulse\""
  grep -q "^Server Name: pulseaudio" "$T/out" || fail "pactl info does not answer" "$(cat "$T/out") $(cat "$T/err")"
  grep -q "sbt_null" "$T/out" || fail "the null sink is not listed" "$(cat "$T/out")"
  p=$(mkprofile -n q gui '[desktop]' 'audio = "none"')
  sb run "$p" -- /bin/sh -c "PULSE_SERVER=unix:$T/rt/pulse/native pactl info"
  [ "$RC" != 0 ] || fail "a sandbox with audio = \"none\" reached the sound server"
}

# The shipped examples open their windows: weston-terminal's top-level is in the compositor's
# scene graph (weston --debug, weston-debug), xclock's window in the display's tree (xwininfo).
t_desktop_shipped_weston_terminal_opens_its_window() {
  need_program weston
  need_program weston-terminal
  need_program weston-debug
  session_dir
  start_bg weston --backend=headless-backend.so --socket=wayland-sbt --idle-time=0 --no-config --debug >"$T/weston.log" 2>&1
  wait_for_socket "$T/rt/wayland-sbt" 20 || fail "weston did not start" "$(tail -5 "$T/weston.log")"
  export WAYLAND_DISPLAY=wayland-sbt
  start_bg "$SANDBOX" run --timeout 20s weston-terminal </dev/null >"$T/term.out" 2>"$T/term.err"
  local term=$BG found=0
  poll_output "$T/scene" "top-level window 'Wayland Terminal'" weston-debug scene-graph && found=1
  kill -TERM "$term" 2>/dev/null
  wait_exit "$term" 10 || fail "the sandbox did not end on TERM"
  [ "$found" = 1 ] || fail "weston-terminal's window is not in the compositor" "$(cat "$T/term.err") $(tail -20 "$T/scene")"
}

t_desktop_shipped_xclock_opens_its_window() {
  need_program Xvfb
  need_program xclock
  need_program xwininfo
  session_dir
  start_xvfb
  export DISPLAY=:$XN XAUTHORITY=$T/xa
  start_bg "$SANDBOX" run --timeout 20s xclock </dev/null >"$T/clock.out" 2>"$T/clock.err"
  local clock=$BG found=0
  poll_output "$T/tree" '"xclock"' xwininfo -root -tree && found=1
  kill -TERM "$clock" 2>/dev/null
  wait_exit "$clock" 10 || fail "the sandbox did not end on TERM"
  [ "$found" = 1 ] || fail "xclock's window is not on the display" "$(cat "$T/clock.err") $(cat "$T/tree")"
}

# home = "persistent": the app's own home, kept across runs in the data directory, the only one a
# sandbox of it sees; another sandbox showing the data directory sees no app's home.
t_desktop_persistent_home_kept_across_runs_and_hidden_from_others() {
  export XDG_DATA_HOME=$T/data
  local p q
  p=$(mkprofile -n p default 'name = "notes"' '[desktop]' 'home = "persistent"')
  sb run "$p" -- /bin/sh -c 'echo remembered >"$HOME/kept"; echo "home=$HOME"; ls -A "$HOME"'
  expect_rc 0 "the first run"
  [ "$(cat "$T/data/sandbox/apps/notes/home/kept" 2>/dev/null)" = remembered ] ||
    fail "the file is not in the app's home on the host" "$(find "$T/data" 2>&1)"
  [ "$(stat -c %a "$T/data/sandbox/apps/notes/home")" = 700 ] || fail "the app's home is not 0700"
  sb run "$p" -- /bin/cat "$HOME/kept"
  expect_rc 0 "the second run"
  [ "$(cat "$T/out")" = remembered ] || fail "the second run does not see the first one's file" "$(cat "$T/out") $(cat "$T/err")"
  q=$(mkprofile -n q default '[[mount]]' 'type = "ro-bind"' "source = \"$T/data\"" 'target = "/seen"')
  sb run "$q" -- /bin/sh -c 'ls -A /seen/sandbox/apps; cat /seen/sandbox/apps/notes/home/kept'
  [ "$RC" != 0 ] && ! grep -q remembered "$T/out" || fail "another sandbox reads the app's home" "$(cat "$T/out")"
  [ -z "$(head -1 "$T/out")" ] || fail "another sandbox lists the homes of apps" "$(cat "$T/out")"
  # Another profile file of the same app name does not get this home; nor does --name.
  mkdir -p "$T/elsewhere"
  cp "$p" "$T/elsewhere/p.toml"
  sb run "$T/elsewhere/p.toml" -- /bin/cat "$HOME/kept"
  expect_rc 125 "another profile named notes"
  grep -q "the home of the app of $p" "$T/err" || fail "the refusal does not name the owning profile" "$(cat "$T/err")"
  p=$(mkprofile -n r default 'name = "other"' '[desktop]' 'home = "persistent"')
  sb run --name notes "$p" -- /bin/sh -c 'cat "$HOME/kept"'
  ! grep -q remembered "$T/out" || fail "--name handed notes' home to another profile"
}

# sandbox desktop install writes a valid menu entry whose Exec line starts the app in its
# sandbox; a second launch while it runs starts in that sandbox (exec), not in a second one.
t_desktop_launcher_installs_starts_and_reuses_the_running_sandbox() {
  need_program desktop-file-validate
  export XDG_DATA_HOME=$T/share
  local p
  p=$(mkprofile -n app default 'command = ["/bin/sh", "-c", "echo $$ >>/tmp/starts; exec sleep 30"]')
  printf '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>\n' >"$T/icon.svg"
  sb desktop install --name app1 --icon "$T/icon.svg" "$p"
  expect_rc 0 "desktop install"
  local entry=$T/share/applications/sandbox-app1.desktop
  [ -f "$entry" ] || fail "no menu entry at $entry" "$(cat "$T/out") $(cat "$T/err")"
  desktop-file-validate "$entry" >"$T/validate" 2>&1 || fail "desktop-file-validate refuses the entry" "$(cat "$T/validate") $(cat "$entry")"
  grep -qx "Icon=$T/share/icons/sandbox-app1.svg" "$entry" || fail "the icon is not the copy" "$(cat "$entry")"
  cmp -s "$T/icon.svg" "$T/share/icons/sandbox-app1.svg" || fail "the icon was not copied"
  sb desktop list
  grep -q "^app1 .*$p" "$T/out" || fail "desktop list does not show the entry" "$(cat "$T/out")"
  # An icon reached through a link is refused (one planted in a sandbox's home could point anywhere).
  ln -s "$T/icon.svg" "$T/link.svg"
  sb desktop install --name app9 --icon "$T/link.svg" "$p"
  expect_rc 125 "an icon through a symlink"
  [ ! -e "$T/share/applications/sandbox-app9.desktop" ] || fail "the entry was written anyway"
  # A running sandbox of that name from another profile does not get the app.
  local other
  other=$(mkprofile -n other default)
  sb run --detach --name app2 "$other" -- /bin/sleep 30
  expect_rc 0 "a detached sandbox app2"
  at_exit "'$SANDBOX' stop app2 >/dev/null 2>&1; '$SANDBOX' rm app2 >/dev/null 2>&1"
  sb desktop launch app2 "$p"
  expect_rc 125 "launch into a sandbox of another profile"
  grep -q "runs, but of $other" "$T/err" || fail "the refusal does not say why" "$(cat "$T/err")"
  local exec_line words
  exec_line=$(sed -n 's/^Exec=//p' "$entry")
  read -ra words <<<"${exec_line//\\\\/\\}"
  [ "${words[0]}" = "$SANDBOX" ] || fail "the entry does not run this sandbox binary" "$exec_line"
  start_bg "${words[@]}" </dev/null >"$T/first.out" 2>"$T/first.err"
  local first=$BG i
  for i in $(seq 100); do "$SANDBOX" exec app1 -- /bin/true </dev/null >/dev/null 2>&1 && break; sleep 0.1; done
  start_bg "${words[@]}" </dev/null >"$T/second.out" 2>"$T/second.err"
  local second=$BG
  for i in $(seq 100); do
    sb exec app1 -- /bin/cat /tmp/starts
    [ "$(wc -l <"$T/out")" -ge 2 ] && break
    sleep 0.1
  done
  [ "$(wc -l <"$T/out")" = 2 ] || fail "the second launch did not start in the running sandbox" "$(cat "$T/out") $(cat "$T/second.err")"
  sb ps --json
  [ "$(grep -o '"name":"app1' "$T/out" | wc -l)" = 1 ] || fail "more than one sandbox named app1" "$(cat "$T/out")"
  sb stop app1
  wait_exit "$first" 15 || fail "the first launch did not end with stop"
  wait_exit "$second" 15 || fail "the second launch did not end with the sandbox"
  sb desktop remove app1
  expect_rc 0 "desktop remove"
  [ ! -e "$entry" ] && [ ! -e "$T/share/icons/sandbox-app1.svg" ] || fail "remove left the entry or its icon"
}

# check, --dry-run, extends/merge rules, the shipped profiles, profile lookup by name.

# toml_query FILE PYTHON-EXPR: evaluate EXPR with `d` = the parsed TOML document; prints the
# result, or "ERROR: ..." and exits 1 when FILE is not valid TOML.
toml_query() {
  python3 - "$1" "$2" <<'PY'
import sys, tomllib
try:
    with open(sys.argv[1], "rb") as f:
        d = tomllib.load(f)
except Exception as e:
    print(f"ERROR: not valid TOML: {e}")
    sys.exit(1)
print(eval(sys.argv[2]))
PY
}

t_version() {
  sb --version
  expect_rc 0
  grep -qE '^sandbox [0-9]+\.[0-9]+' "$T/out" || fail "--version: expected 'sandbox VERSION', got '$(head -n 1 "$T/out")'"
}

t_check_valid_profile() {
  local p got
  p=$(mkprofile p default)
  sb check "$p"
  expect_rc 0
  got=$(toml_query "$T/out" 'd.get("hostname")') || fail "sandbox check printed invalid TOML: $got"
  expect_eq "hostname in the effective profile" sandbox "$got"
  got=$(toml_query "$T/out" 'd.get("command")')
  expect_eq "command in the effective profile" "['/probe', 'info']" "$got"
  got=$(toml_query "$T/out" '[m.get("target") for m in d.get("mount", []) if m.get("target") == "/probe"]')
  expect_eq "mounts with target /probe in the effective profile" "['/probe']" "$got"
}

t_check_shipped_profiles() {
  local f n=0
  for f in "$PROFILES"/*.toml; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    sb check "$f"
    expect_rc 0 "exit code of 'sandbox check $f'"
    toml_query "$T/out" 'len(d)' >/dev/null || fail "sandbox check $f printed invalid TOML"
  done
  [ "$n" -ge 3 ] || fail "expected at least 3 shipped profiles (default, shell, readonly-cwd) in $PROFILES, found $n"
}

t_dry_run() {
  local p
  mkdir -p "$T/m"
  p=$(mkprofile -n p default 'command = ["/probe", "write", "/m/started"]' \
    '[[mount]]' 'type = "bind"' "source = \"$T/m\"" 'target = "/m"')
  sb run --dry-run "$p"
  expect_rc 0
  [ ! -e "$T/m/started" ] || fail "--dry-run started the payload"
  grep -qi 'uid_map' "$T/out" || fail "--dry-run: the plan has no uid_map line"
  grep -qi 'gid_map' "$T/out" || fail "--dry-run: the plan has no gid_map line"
  grep -i 'ro-bind' "$T/out" | grep -q '/usr' || fail "--dry-run: the plan has no ro-bind line for /usr"
  grep -q '/probe' "$T/out" || fail "--dry-run: the plan does not mention the /probe mount"
  grep -q "$T/m" "$T/out" || fail "--dry-run: the plan does not mention the bind of $T/m"
}

t_extends_merge_rules() {
  local base child got
  base=$T/base.toml
  child=$T/child.toml
  cat >"$base" <<EOF
extends = ["$PROFILES/default.toml"]
hostname = "base"
cwd = "/usr"
[env]
keep = ["KEEP_A"]
set = { X = "base", Y = "base" }
[[mount]]
type = "file"
target = "/merge-test"
contents = "from-base"
[[mount]]
type = "ro-bind"
source = "$PROBE"
target = "/probe"
EOF
  cat >"$child" <<EOF
extends = ["base.toml"]
hostname = "child"
[env]
keep = ["KEEP_B"]
set = { Y = "child" }
[[mount]]
type = "file"
target = "/merge-test"
contents = "from-child"
EOF
  LAST_CMD="KEEP_A=a KEEP_B=b sandbox run $child -- /probe env"
  RC=0
  KEEP_A=a KEEP_B=b "$SANDBOX" run "$child" -- /probe env </dev/null >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 0
  expect_kv X base
  expect_kv Y child
  expect_kv KEEP_A a
  expect_kv KEEP_B b
  sb run "$child" -- /probe info
  expect_rc 0
  expect_kv hostname child
  expect_kv cwd /usr
  sb run "$child" -- /bin/cat /merge-test
  expect_rc 0
  expect_file_eq "contents of /merge-test (the child's mount replaces the base's)" from-child "$T/out"
  sb check "$child"
  expect_rc 0
  got=$(toml_query "$T/out" 'd.get("hostname")') || fail "sandbox check printed invalid TOML: $got"
  expect_eq "hostname in the effective profile" child "$got"
  got=$(toml_query "$T/out" 'len([m for m in d.get("mount", []) if m.get("target") == "/merge-test"])')
  expect_eq "mounts with target /merge-test in the effective profile" 1 "$got"
}

t_profile_default_shipped() {
  sb run "$PROFILES/default.toml" -- /bin/cat /proc/sys/kernel/hostname
  expect_rc 0
  expect_file_eq "hostname" sandbox "$T/out"
  sb run "$PROFILES/default.toml" -- /bin/sh -c 'exit 3'
  expect_rc 3
}

t_profile_shell() {
  local p d marker=".sandbox-it-marker-$$" got cap
  d=$T/project
  mkdir -p "$d"
  p=$(mkprofile p shell)
  sb_in "$d" run "$p" -- /probe info
  expect_rc 0
  expect_kv cwd "$d"
  expect_kv uid "$MYUID"
  expect_kv gid "$MYGID"
  for cap in inh prm eff bnd amb; do expect_kv "cap.$cap" 0000000000000000; done

  sb_in "$d" run "$p" -- /probe write "$d/f"
  expect_rc 0
  expect_kv write ok
  [ -f "$d/f" ] || fail "$d/f written inside does not exist on the host"
  got=$(stat -c %u:%g "$d/f")
  expect_eq "owner of $d/f on the host" "$MYUID:$MYGID" "$got"

  sb_in "$d" run "$p" -- /probe write /usr/probe-x
  expect_rc 0
  expect_kv write EROFS

  # $HOME inside is an empty tmpfs: a file in the real home is not visible
  [ -d "$HOME" ] || skip "HOME=$HOME does not exist"
  touch "$HOME/$marker" || skip "cannot create a file in HOME=$HOME"
  AT_EXIT+=("rm -f '$HOME/$marker'")
  sb_in "$d" run "$p" -- /probe stat "$HOME/$marker"
  expect_rc 0
  expect_kv exists 0
  sb_in "$d" run "$p" -- /bin/ls -A "$HOME"
  expect_rc 0
  expect_file_eq "ls -A \$HOME inside" "" "$T/out"
  sb_in "$d" run "$p" -- /probe env
  expect_rc 0
  expect_kv HOME "$HOME"
}

t_profile_shell_subcommand() {
  local p d
  d=$T/project
  mkdir -p "$d"
  p=$(mkprofile p shell)
  sb_in "$d" shell "$p" -- /probe info
  expect_rc 0
  expect_kv cwd "$d"
  expect_kv uid "$MYUID"
}

t_profile_readonly_cwd() {
  local p d
  d=$T/project
  mkdir -p "$d"
  echo content >"$d/listed.txt"
  p=$(mkprofile p readonly-cwd)
  sb_in "$d" run "$p" -- /probe write "$d/f"
  expect_rc 0
  expect_kv write EROFS
  [ ! -e "$d/f" ] || fail "$d/f appeared on the host"
  sb_in "$d" run "$p" -- /probe info
  expect_rc 0
  expect_kv cwd "$d"
  sb_in "$d" run "$p" -- /probe stat "$d/listed.txt"
  expect_rc 0
  expect_kv exists 1
  sb_in "$d" run "$p" -- /bin/ls "$d"
  expect_rc 0
  expect_file_eq "ls of the current directory inside" listed.txt "$T/out"
}

t_profile_lookup_by_name() {
  local cfg=$T/config dir
  dir=$cfg/sandbox/profiles
  mkdir -p "$dir"
  cp "$PROFILES"/*.toml "$dir/"
  cat >"$dir/mine.toml" <<'EOF'
extends = ["default"]
hostname = "mine"
EOF
  LAST_CMD="XDG_CONFIG_HOME=$cfg sandbox run mine -- /bin/cat /proc/sys/kernel/hostname"
  RC=0
  XDG_CONFIG_HOME=$cfg "$SANDBOX" run mine -- /bin/cat /proc/sys/kernel/hostname \
    </dev/null >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 0
  expect_file_eq "hostname of profile 'mine' (found in \$XDG_CONFIG_HOME)" mine "$T/out"
  LAST_CMD="XDG_CONFIG_HOME=$cfg sandbox run default -- /bin/sh -c 'exit 4'"
  RC=0
  XDG_CONFIG_HOME=$cfg "$SANDBOX" run default -- /bin/sh -c 'exit 4' </dev/null >"$T/out" 2>"$T/err" ||
    RC=$?
  expect_rc 4
  # `shell` without a profile uses the profile named "shell"
  LAST_CMD="XDG_CONFIG_HOME=$cfg sandbox shell -- /bin/sh -c 'exit 5'"
  RC=0
  XDG_CONFIG_HOME=$cfg "$SANDBOX" shell -- /bin/sh -c 'exit 5' </dev/null >"$T/out" 2>"$T/err" ||
    RC=$?
  expect_rc 5
}

# The mount kinds that create things: dir, symlink, file, tmpfs with size and mode.
# A `dir` creates what is missing with its mode; an existing directory (here one of the user's
# own, through a bind) is left exactly as it was.
t_mount_kinds_create() {
  local p
  mkdir -p "$T/proj/existing" && chmod 0755 "$T/proj/existing"
  p=$(mkprofile p default \
    '[[mount]]' 'type = "bind"' "source = \"$T/proj\"" 'target = "/proj"' \
    '[[mount]]' 'type = "dir"' 'target = "/proj/existing"' 'mode = "0700"' \
    '[[mount]]' 'type = "dir"' 'target = "/proj/made"' 'mode = "0710"' \
    '[[mount]]' 'type = "symlink"' 'source = "/proj"' 'target = "/p-link"' \
    '[[mount]]' 'type = "file"' 'target = "/etc/hostname"' 'contents = "hello\n"' \
    '[[mount]]' 'type = "tmpfs"' 'target = "/scratch"' 'size = "1M"' 'mode = "0750"' \
    '[[mount]]' 'type = "bind-try"' "source = \"$T/does-not-exist\"" 'target = "/missing"' \
    '[[mount]]' 'type = "ro-bind-try"' "source = \"$T/proj\"" 'target = "/proj-ro"')
  sb run "$p" -- /bin/sh -c 'stat -c "%a %n" /proj/existing /proj/made /scratch; readlink /p-link;
    cat /etc/hostname; /probe write /etc/hostname; /probe stat /missing; /probe write /proj-ro/x;
    df -k /scratch | tail -n 1'
  expect_rc 0
  grep -qx '755 /proj/existing' "$T/out" || fail "an existing directory was changed by a dir mount: $(cat "$T/out")"
  grep -qx '710 /proj/made' "$T/out" || fail "dir did not create /proj/made with mode 0710: $(cat "$T/out")"
  grep -qx '750 /scratch' "$T/out" || fail "tmpfs mode 0750 not applied: $(cat "$T/out")"
  grep -qx '/proj' "$T/out" || fail "symlink /p-link -> /proj missing"
  grep -qx 'hello' "$T/out" || fail "file contents missing"
  [ "$(grep -c '^write=EROFS$' "$T/out")" -eq 2 ] || fail "a file mount or a ro-bind-try is writable: $(grep write= "$T/out")"
  grep -qx 'exists=0' "$T/out" || fail "bind-try of a missing source created /missing"
  awk '$2 == 1024 { ok = 1 } END { exit !ok }' "$T/out" || fail "tmpfs size 1M not applied: $(tail -n 1 "$T/out")"
  [ "$(stat -c %a "$T/proj/existing")" = 755 ] || fail "the host directory's mode changed"
  # Made in a mirror of /proj (issue 8 A.8), not in the host's directory.
  [ ! -e "$T/proj/made" ] || fail "the dir mount created $T/proj/made on the host"
  grep -q "warning: /proj is shown through a read-only mirror" "$T/err" || fail "no warning about the mirror of /proj: $(cat "$T/err")"
}

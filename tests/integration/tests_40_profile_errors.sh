# Invalid profiles: exit 125, nothing started, and "FILE:LINE:COL: message" as the first line of
# stderr. LINE and COL are 1-based; COL is where toml++ puts the offending key (unknown keys) or
# value (wrong types, bad values). Both `run` and `check` are tried.

# badprofile NAME TOP-LINES TABLE-LINES: write $T/NAME.toml and print its path. The profile is
# valid apart from what the caller adds. Its payload would create $T/m/started, so we can tell
# whether anything ran. TOP-LINES go before the first table (a "command" there replaces ours).
badprofile() {
  local f=$T/$1.toml top=$2 tables=$3
  mkdir -p "$T/m"
  {
    echo "extends = [\"$PROFILES/default.toml\"]"
    grep -q '^command' <<<"$top" || echo 'command = ["/probe", "write", "/m/started"]'
    [ -n "$top" ] && printf '%s\n' "$top"
    printf '[[mount]]\ntype = "ro-bind"\nsource = "%s"\ntarget = "/probe"\n' "$PROBE"
    printf '[[mount]]\ntype = "bind"\nsource = "%s"\ntarget = "/m"\n' "$T/m"
    [ -n "$tables" ] && printf '%s\n' "$tables"
  } >"$f"
  echo "$f"
}

# locate FILE TEXT TOKEN [N]: LOC = "FILE:LINE:COL" of TOKEN in the Nth line starting with TEXT
locate() {
  local file=$1 text=$2 token=$3 n=${4:-1} line content col
  line=$(awk -v t="$text" 'index($0, t) == 1 { print NR }' "$file" | sed -n "${n}p")
  [ -n "$line" ] || fail "test bug: '$text' not found in $file"
  content=$(sed -n "${line}p" "$file")
  col=$(awk -v s="$content" -v t="$token" 'BEGIN { print index(s, t) }')
  [ "$col" -gt 0 ] || fail "test bug: '$token' not found in line $line of $file"
  LOC=$file:$line:$col
}

# expect_profile_error PROFILE LOCATION...: each LOCATION is FILE:LINE:COL (COL may be '*');
# stderr's first line must start with one of them followed by ": " and a message.
# ERROR_SUBCOMMANDS (default "run check") says which subcommands are tried.
expect_profile_error() {
  local profile=$1 sub first loc ok
  shift
  for sub in ${ERROR_SUBCOMMANDS:-run check}; do
    rm -f "$T/m/started"
    sb "$sub" "$profile"
    expect_rc 125 "exit code of 'sandbox $sub' with an invalid profile"
    [ ! -e "$T/m/started" ] || fail "'sandbox $sub' started the payload although the profile is invalid"
    first=$(head -n 1 "$T/err")
    ok=0
    for loc in "$@"; do
      if [ "${loc##*:}" = '*' ]; then
        [[ $first =~ ^"${loc%:*}":[0-9]+:\ .+ ]] && ok=1
      else
        [[ $first == "$loc: "?* ]] && ok=1
      fi
    done
    if [ "$ok" -ne 1 ]; then
      local want
      want=$(printf "'%s: MESSAGE' or " "$@")
      fail "'sandbox $sub': stderr's first line should start with ${want% or }" "got: $first"
    fi
  done
}

t_bad_unknown_top_level_key() {
  local p
  p=$(badprofile bad 'frobnicate = true' '')
  locate "$p" 'frobnicate' 'frobnicate'
  expect_profile_error "$p" "$LOC"
}

t_bad_unknown_key_in_user() {
  local p
  p=$(badprofile bad '' $'[user]\nmode = "root"\nfrobnicate = 1')
  locate "$p" 'frobnicate' 'frobnicate'
  expect_profile_error "$p" "$LOC"
}

t_bad_wrong_type() {
  local p
  p=$(badprofile bad 'hostname = 3' '')
  locate "$p" 'hostname = 3' '3'
  expect_profile_error "$p" "$LOC"
}

t_bad_mount_type() {
  local p
  p=$(badprofile bad '' $'[[mount]]\ntype = "bogus"\ntarget = "/x"')
  locate "$p" 'type = "bogus"' '"bogus"'
  expect_profile_error "$p" "$LOC"
}

t_bad_mount_relative_target() {
  local p
  p=$(badprofile bad '' $'[[mount]]\ntype = "tmpfs"\ntarget = "relative/dir"')
  locate "$p" 'target = "relative/dir"' '"relative/dir"'
  expect_profile_error "$p" "$LOC"
}

t_bad_bind_missing_source() {
  local p
  [ ! -e /nonexistent-sandbox-test-src ] || skip "/nonexistent-sandbox-test-src exists on this host"
  p=$(badprofile bad '' $'[[mount]]\ntype = "bind"\nsource = "/nonexistent-sandbox-test-src"\ntarget = "/x"')
  locate "$p" 'source = "/nonexistent-sandbox-test-src"' '"/nonexistent'
  expect_profile_error "$p" "$LOC"
}

t_bad_extends_cycle() {
  local a b loc_array loc_elem
  a=$T/a.toml
  b=$T/b.toml
  mkdir -p "$T/m"
  cat >"$a" <<EOF
extends = ["b.toml"]
command = ["/probe", "write", "/m/started"]
[[mount]]
type = "ro-bind"
source = "$PROBE"
target = "/probe"
[[mount]]
type = "bind"
source = "$T/m"
target = "/m"
EOF
  cat >"$b" <<EOF
# b.toml extends a.toml, which extends b.toml
extends = ["a.toml"]
EOF
  # The cycle closes at b.toml's reference to a.toml: the array (col 11) or its element (col 12).
  locate "$b" 'extends' '['
  loc_array=$LOC
  locate "$b" 'extends' '"a.toml"'
  loc_elem=$LOC
  expect_profile_error "$a" "$loc_elem" "$loc_array"
}

t_bad_mount_conflict() {
  local p
  p=$(badprofile bad '' $'[[mount]]\ntype = "tmpfs"\ntarget = "/dup"\n[[mount]]\ntype = "dir"\ntarget = "/dup"')
  # the second mount with the same target is the conflict
  locate "$p" 'target = "/dup"' '"/dup"' 2
  expect_profile_error "$p" "$LOC"
}

t_bad_unknown_variable() {
  local p
  p=$(badprofile bad 'hostname = "${NO_SUCH_VARIABLE}"' '')
  locate "$p" 'hostname' '"${NO_SUCH'
  expect_profile_error "$p" "$LOC"
}

t_bad_capabilities_with_keep_id() {
  local p key value
  p=$(badprofile bad '' $'[user]\nmode = "keep-id"\ncapabilities = ["CAP_NET_BIND_SERVICE"]')
  locate "$p" 'capabilities' 'capabilities'
  key=$LOC
  locate "$p" 'capabilities' '['
  value=$LOC
  expect_profile_error "$p" "$key" "$value"
}

t_bad_toml_syntax() {
  local p line
  p=$(badprofile bad 'hostname = "unterminated' '')
  line=$(grep -n -F 'hostname = "unterminated' "$p" | cut -d: -f1)
  expect_profile_error "$p" "$p:$line:*"
}

t_bad_env_set_and_unset() {
  local p l1 l2
  p=$(badprofile bad '' $'[env]\nunset = ["SAME_NAME"]\nset = { SAME_NAME = "1" }')
  l1=$(grep -n '^unset = ' "$p" | cut -d: -f1)
  l2=$(grep -n '^set = {' "$p" | cut -d: -f1)
  expect_profile_error "$p" "$p:$l1:*" "$p:$l2:*"
}

t_bad_network_mode() {
  local p
  p=$(badprofile bad '' $'[network]\nmode = "bogus"')
  locate "$p" 'mode = "bogus"' '"bogus"'
  expect_profile_error "$p" "$LOC"
}

t_bad_user_mode() {
  local p
  p=$(badprofile bad '' $'[user]\nmode = "bogus"')
  locate "$p" 'mode = "bogus"' '"bogus"'
  expect_profile_error "$p" "$LOC"
}

t_bad_tmpfs_size() {
  local p
  p=$(badprofile bad '' $'[[mount]]\ntype = "tmpfs"\ntarget = "/t"\nsize = "12X"')
  locate "$p" 'size = "12X"' '"12X"'
  expect_profile_error "$p" "$LOC"
}

t_bad_mode_not_octal() {
  local p
  p=$(badprofile bad '' $'[[mount]]\ntype = "dir"\ntarget = "/d"\nmode = "0999"')
  locate "$p" 'mode = "0999"' '"0999"'
  expect_profile_error "$p" "$LOC"
}

t_bad_empty_command() {
  local p
  p=$(badprofile bad 'command = []' '')
  locate "$p" 'command = []' '['
  expect_profile_error "$p" "$LOC"
}

t_bad_relative_cwd() {
  local p
  p=$(badprofile bad 'cwd = "relative/dir"' '')
  locate "$p" 'cwd' '"relative'
  expect_profile_error "$p" "$LOC"
}

t_bad_namespaces_user_false() {
  local p key value
  # user, mount and pid namespaces are always new: not a key, or not a value one may choose
  p=$(badprofile bad '' $'[namespaces]\nuser = false')
  locate "$p" 'user = false' 'user'
  key=$LOC
  locate "$p" 'user = false' 'false'
  value=$LOC
  expect_profile_error "$p" "$key" "$value"
}

t_bad_extends_missing_file() {
  local p array elem
  mkdir -p "$T/m"
  p=$T/bad.toml
  cat >"$p" <<EOF
extends = ["$T/no-such-base.toml"]
command = ["/probe", "write", "/m/started"]
EOF
  locate "$p" 'extends' '['
  array=$LOC
  locate "$p" 'extends' '"'
  elem=$LOC
  expect_profile_error "$p" "$elem" "$array"
}

t_bad_user_uid_unmapped() {
  need_subids
  local p uid key value
  uid=$((${SUBUID#* } + 1000)) # beyond 0 (you) and 1..COUNT (the subordinate range)
  p=$(badprofile bad '' $'[user]\nmode = "root"\nuid = '"$uid")
  locate "$p" "uid = $uid" 'uid'
  key=$LOC
  locate "$p" "uid = $uid" "$uid"
  value=$LOC
  # whether a uid is mapped depends on /etc/subuid: only `run` is bound to know
  ERROR_SUBCOMMANDS=run expect_profile_error "$p" "$value" "$key"
}

# [network] slirp settings are validated with their location, and need mode = "slirp".
t_bad_network_port_forward() {
  local p
  p=$(badprofile bad '' $'[network]\nmode = "slirp"\nports = ["8080:80", "8080"]')
  locate "$p" 'ports = ' '"8080"'
  expect_profile_error "$p" "$LOC"
}

t_bad_network_slirp_only_key() {
  local p
  p=$(badprofile bad '' $'[network]\nmode = "none"\nallow_host_loopback = true')
  locate "$p" 'allow_host_loopback' 'allow_host_loopback'
  expect_profile_error "$p" "$LOC"
}

# A slirp profile's settings show in check and --dry-run.
t_network_slirp_check_and_dry_run() {
  local p
  p=$(mkprofile p default '[network]' 'mode = "slirp"' 'ports = ["8080:80"]' 'egress = "public-only"')
  sb check "$p"
  expect_rc 0
  grep -q '^ports = \["127.0.0.1:8080:80/tcp"\]' "$T/out" || fail "check does not show the forward: $(grep ports "$T/out")"
  sb run --dry-run "$p"
  expect_rc 0
  grep -q 'forward 127.0.0.1:8080:80/tcp' "$T/out" || fail "--dry-run does not show the forward"
  grep -q 'egress deny 10.0.0.0/8 (preset public-only)' "$T/out" || fail "--dry-run does not show the preset's rules: $(grep egress "$T/out")"
  grep -q '^  file /etc/resolv.conf' "$T/out" || fail "--dry-run does not show the sandbox's resolv.conf"
}

# ------------------------------------------------------------------ reading profiles, bounded
# A profile that names a device, a FIFO or a huge file, or holds bytes that are not UTF-8, is
# refused at once with exit 125: never read forever, never waited on, never an abort.

# expect_bounded_error PROFILE LOCATION FRAGMENT [ARGS...]: `sandbox run|check ARGS PROFILE` ends
# within 30 s (not killed by timeout) with 125, nothing started, and stderr's first line is
# "LOCATION: ..." containing FRAGMENT (LOCATION "sandbox" for an error with no file position).
expect_bounded_error() {
  local profile=$1 loc=$2 fragment=$3 sub first
  shift 3
  for sub in run check; do
    rm -f "$T/m/started"
    LAST_CMD="timeout 30 sandbox $sub $* $profile"
    RC=0
    timeout -k 5 30 "$SANDBOX" "$sub" "$@" "$profile" </dev/null >"$T/out" 2>"$T/err" || RC=$?
    [ "$RC" -ne 124 ] && [ "$RC" -ne 137 ] || fail "'sandbox $sub' did not finish within 30 s (it hangs on $profile)"
    expect_rc 125 "exit code of 'sandbox $sub' with an unreadable profile"
    [ ! -e "$T/m/started" ] || fail "'sandbox $sub' started the payload"
    first=$(head -n 1 "$T/err")
    [[ $first == "$loc: "* ]] || fail "'sandbox $sub': stderr's first line should start with '$loc: '" "got: $first"
    [[ $first == *"$fragment"* ]] || fail "'sandbox $sub': stderr's first line should say '$fragment'" "got: $first"
  done
}

# extends_profile NAME REF: $T/NAME.toml extends REF (line 1, the entry at column 12).
extends_profile() {
  mkdir -p "$T/m"
  printf 'extends = ["%s"]\ncommand = ["/probe", "write", "/m/started"]\n' "$2" >"$T/$1.toml"
  echo "$T/$1.toml"
}

t_bad_extends_dev_zero() {
  local p
  p=$(extends_profile bad /dev/zero)
  expect_bounded_error "$p" "$p:1:12" "cannot read profile /dev/zero: not a regular file (a character device)"
}

t_bad_profile_is_dev_zero() {
  mkdir -p "$T/m"
  expect_bounded_error /dev/zero "sandbox" "cannot read profile /dev/zero: not a regular file"
}

t_bad_extends_fifo() {
  local p
  mkfifo "$T/fifo.toml" || fail "mkfifo failed"
  p=$(extends_profile bad fifo.toml)
  expect_bounded_error "$p" "$p:1:12" "cannot read profile $T/fifo.toml: not a regular file (a FIFO)"
  # given directly, too
  expect_bounded_error "$T/fifo.toml" "sandbox" "not a regular file (a FIFO)"
}

t_bad_extends_too_large() {
  local p
  head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' '\n' >"$T/big.toml"
  p=$(extends_profile bad big.toml)
  expect_bounded_error "$p" "$p:1:12" "cannot read profile $T/big.toml: larger than 1 MiB"
}

t_bad_nul_byte() {
  local p
  p=$(badprofile bad 'cwd = "/"' '')
  printf 'hostname = "a\0b"\n' >>"$p"
  expect_bounded_error "$p" "$p:$(wc -l <"$p"):14" "a NUL byte"
}

t_bad_invalid_utf8() {
  local p
  p=$(badprofile bad 'cwd = "/"' '')
  printf '# caf\xc3\xa9 \xff\n' >>"$p"
  expect_bounded_error "$p" "$p:$(wc -l <"$p"):8" "invalid UTF-8 (byte 0xff)"
}

t_bad_hostname_newline() {
  local p
  p=$(badprofile bad 'hostname = "box\nevil"' '')
  locate "$p" 'hostname' '"box'
  expect_profile_error "$p" "$LOC"
  grep -qF "'hostname' may contain only letters, digits, '-' and '.', not '\\n' at byte 4" "$T/err" ||
    fail "the message does not name the newline" "got: $(head -n 1 "$T/err")"
}

t_bad_hostname_option() {
  local p bad
  p=$(badprofile ok '' '')
  for bad in $'box\nevil' 'a b' 'a_b' '' "$(printf 'h%.0s' {1..65})"; do
    rm -f "$T/m/started"
    sb run --hostname "$bad" "$p"
    expect_rc 125 "exit code of --hostname '$bad'"
    [ ! -e "$T/m/started" ] || fail "--hostname '$bad' started the payload"
    grep -q -- '--hostname' "$T/err" || fail "--hostname '$bad': the error does not name --hostname" "$(cat "$T/err")"
  done
  grep -q "must be at most 64 characters" "$T/err" || fail "no length message for 65 characters" "$(cat "$T/err")"
  sb run --hostname build-01.example "$p"
  expect_rc 0 "a valid --hostname"
}

# toml++'s own assert() aborted here (exit 134): a syntax error like any other.
t_bad_toml_triple_bracket() {
  local p
  p=$(badprofile bad 'cwd = "/"' '[[[mount]]]')
  # toml++ points at the third '['
  locate "$p" '[[[mount]]]' '[mount'
  expect_profile_error "$p" "$LOC"
}

# Copy-on-write overlays with kept changes: run --overlay, diff, commit, discard, ps --all.

# project DIR: a small tree to put behind an overlay; its listing is in $T/before.
project() {
  local d=$1
  mkdir -p "$d/sub" "$d/gone" "$d/tree"
  printf 'one\ntwo\nthree\n' >"$d/a.txt"
  echo keep >"$d/sub/k"
  echo x >"$d/gone/x"
  echo del >"$d/del.txt"
  echo old >"$d/tree/old"
  listing "$d" >"$T/before"
}

# listing DIR: every path with its type, mode and contents' checksum.
listing() {
  (cd "$1" && find . -printf '%p %y %m\n' | sort && find . -type f -exec md5sum {} + | sort)
}

# kept_data NAME...: kept changes go below $T/data; those of NAME are discarded when the test ends
# (overlayfs leaves a work directory without permissions that a plain rm cannot remove).
kept_data() {
  export XDG_DATA_HOME=$T/data
  local name
  for name in "$@"; do at_exit "XDG_DATA_HOME='$T/data' '$SANDBOX' discard $name >/dev/null 2>&1"; done
}

t_overlay_changes_stay_out_of_the_project_and_diff_shows_them() {
  kept_data ov1
  local d=$T/proj
  project "$d"
  sb_in "$d" run --name ov1 --overlay shell -- /bin/sh -c '
    echo four >>a.txt; echo new >n.txt; rm del.txt; rm -r gone; mkdir gone; echo y >gone/y
    chmod 700 sub; ln -s a.txt link; mv tree/old tree/renamed; rm -r tree; mkdir tree; ls -A tree'
  expect_rc 0 "the overlay shell"
  [ -z "$(cat "$T/out")" ] || fail "a directory made again is not empty (opaque): $(cat "$T/out")"
  listing "$d" >"$T/after"
  cmp -s "$T/before" "$T/after" || fail "the project changed on the host" "$(diff "$T/before" "$T/after")"
  grep -q 'sandbox diff ov1' "$T/err" || fail "the end of the run does not say the changes are kept" "$(cat "$T/err")"
  sb_in "$d" diff --stat ov1
  expect_rc 0 "diff --stat"
  for line in 'M a.txt' 'D del.txt' 'R gone' 'A gone/y' 'A link' 'A n.txt' 'M sub' 'R tree'; do
    grep -q "^ $line " "$T/out" || fail "diff --stat lacks '$line'" "$(cat "$T/out")"
  done
  grep -q 'tree/old\|tree/renamed' "$T/out" && fail "diff --stat shows an entry of a replaced directory" "$(cat "$T/out")"
  sb_in "$d" diff ov1 a.txt
  expect_rc 0 "diff PATH"
  expect_file_eq "diff of a.txt" "diff --git a/a.txt b/a.txt
--- a/a.txt
+++ b/a.txt
@@ -1,3 +1,4 @@
 one
 two
 three
+four" "$T/out"
  sb diff --json ov1
  /usr/bin/python3 -c '
import json, sys
changes = {c["path"]: c for c in map(json.loads, sys.stdin)}
assert changes["del.txt"]["change"] == "deleted" and changes["del.txt"]["new"] is None, changes["del.txt"]
assert changes["sub"]["old"]["mode"] == "0755" and changes["sub"]["new"]["mode"] == "0700", changes["sub"]
assert changes["link"]["new"] == {"type": "symlink", "mode": "0777", "target": "a.txt"}, changes["link"]
assert changes["gone"]["change"] == "replaced", changes["gone"]
' <"$T/out" || fail "diff --json does not describe the changes" "$(cat "$T/out")"
  sb ps --all
  grep -Eq '^ov1 +- +- +changes ' "$T/out" || fail "ps --all does not list the kept changes" "$(cat "$T/out")"
}

t_overlay_kept_across_runs_then_committed() {
  kept_data ov2
  local d=$T/proj
  project "$d"
  sb_in "$d" run --name ov2 --overlay shell -- /bin/sh -c 'echo four >>a.txt; rm -r gone; mkdir gone; echo y >gone/y; chmod 4755 sub/k'
  expect_rc 0
  sb_in "$d" run --name ov2 --overlay shell -- /bin/sh -c 'cat a.txt; echo more >n.txt'
  expect_rc 0
  [ "$(tail -n 1 "$T/out")" = four ] || fail "a second run does not see the first one's change" "$(cat "$T/out")"
  sb_in "$d" commit ov2
  expect_rc 0 "commit"
  [ "$(cat "$d/a.txt")" = "$(printf 'one\ntwo\nthree\nfour')" ] || fail "a.txt was not committed" "$(cat "$d/a.txt")"
  [ "$(cat "$d/n.txt")" = more ] || fail "n.txt was not committed"
  [ "$(ls -A "$d/gone")" = y ] || fail "the replaced directory holds: $(ls -A "$d/gone")"
  [ "$(stat -c %a "$d/sub/k")" = 755 ] || fail "a set-uid bit was committed: $(stat -c %a "$d/sub/k")"
  ls -A "$d" | grep -q '^\.sandbox-commit' && fail "commit left a temporary file"
  [ ! -e "$T/data/sandbox/changes/ov2" ] || fail "a fully committed change set stays"
  sb diff ov2
  expect_rc 125 "diff after everything was committed"
}

t_overlay_commit_leaves_conflicts_and_protected_paths() {
  kept_data ov3
  local d=$T/proj
  project "$d"
  sb_in "$d" run --name ov3 --overlay shell -- /bin/sh -c '
    echo sandbox >>a.txt; mkdir -p .git/hooks; echo "#!/bin/sh" >.git/hooks/pre-commit; echo evil >.bashrc; echo fine >ok.txt'
  expect_rc 0
  echo host >>"$d/a.txt"
  sb_in "$d" commit --violations "$T/v.jsonl" ov3
  expect_rc 1 "commit with a conflict and protected paths"
  grep -q "{\"kind\":\"protected\",\"path\":\"$d/.bashrc\",\"change\":\"added\",\"action\":\"left\"}" "$T/v.jsonl" ||
    fail "the protected path left out is not in the violation log" "$(cat "$T/v.jsonl")"
  grep -q "conflict, left alone: $d/a.txt" "$T/out" || fail "the conflict is not reported" "$(cat "$T/out")"
  grep -q "protected, left alone: $d/.bashrc" "$T/out" || fail ".bashrc is not reported as protected" "$(cat "$T/out")"
  grep -q "protected, left alone: $d/.git" "$T/out" || fail ".git/hooks is not reported as protected" "$(cat "$T/out")"
  [ "$(tail -n 1 "$d/a.txt")" = host ] || fail "the conflicting file was overwritten"
  [ ! -e "$d/.bashrc" ] && [ ! -e "$d/.git/hooks/pre-commit" ] || fail "a protected path was committed"
  [ "$(cat "$d/ok.txt")" = fine ] || fail "an ordinary change was not committed"
  sb_in "$d" commit --force ov3 a.txt
  expect_rc 0 "commit --force PATH"
  [ "$(tail -n 1 "$d/a.txt")" = sandbox ] || fail "commit --force did not apply the conflicting change"
  [ ! -e "$d/.bashrc" ] || fail "commit --force PATH committed another path"
  sb discard ov3
  expect_rc 0 "discard"
  [ ! -e "$T/data/sandbox/changes/ov3" ] || fail "discard left the change set"
  [ ! -e "$d/.bashrc" ] || fail "discard touched the project"
}

# What a sandbox leaves in its upper is untrusted: commit writes links as links (never through
# them), leaves FIFOs, and reads files a sandbox made as another id (in the sandbox's ids).
t_overlay_commit_of_hostile_upper() {
  kept_data ov4
  need_subids
  local d=$T/proj outside=$T/outside p
  project "$d"
  mkdir "$outside"
  p=$(mkprofile -n p shell '[user]' 'mode = "root"' 'capabilities = ["CAP_CHOWN"]')
  sb_in "$d" run --name ov4 --overlay "$p" -- /bin/sh -c '
    ln -s '"$outside"'/planted esc; mkfifo pipe; echo secret >priv; chmod 600 priv; chown 1000:1000 priv'
  expect_rc 0
  sb_in "$d" diff ov4 priv
  expect_rc 0 "diff of a file owned by a subordinate id"
  grep -qx '+secret' "$T/out" || fail "diff cannot read a file the sandbox made as another id" "$(cat "$T/out") $(cat "$T/err")"
  timeout 20 "$SANDBOX" commit ov4 </dev/null >"$T/out" 2>"$T/err"
  RC=$?
  expect_rc 1 "commit of an upper with a FIFO"
  grep -q "left: $d/pipe" "$T/out" || fail "the FIFO is not reported as left" "$(cat "$T/out")"
  [ -L "$d/esc" ] && [ "$(readlink "$d/esc")" = "$outside/planted" ] || fail "the link was not committed as a link"
  [ ! -e "$outside/planted" ] || fail "commit wrote through a link"
  [ "$(cat "$d/priv")" = secret ] && [ "$(stat -c %u "$d/priv")" = "$(id -u)" ] || fail "priv was not committed as ours"
  sb discard ov4
  expect_rc 0 "discard of an upper with files of another id"
  [ ! -e "$T/data/sandbox/changes/ov4" ] || fail "discard left the change set"
}

t_overlay_tmpfs_upper_keeps_nothing() {
  kept_data
  local d=$T/proj p
  project "$d"
  p=$(mkprofile p default '[[mount]]' 'type = "overlay"' "source = \"$d\"" 'upper = "tmpfs"' 'size = "1M"')
  sb run "$p" -- /bin/sh -c "echo x >>$d/a.txt && rm $d/del.txt && cat $d/a.txt"
  expect_rc 0
  grep -qx x "$T/out" || fail "the overlay is not writable" "$(cat "$T/out") $(cat "$T/err")"
  listing "$d" >"$T/after"
  cmp -s "$T/before" "$T/after" || fail "a tmpfs upper changed the project"
  [ ! -e "$T/data/sandbox/changes" ] || fail "a tmpfs upper left kept changes"
  sb run "$p" -- /bin/sh -c "head -c 2000000 /dev/zero >$d/big"
  [ "$RC" -ne 0 ] || fail "the tmpfs upper's size is not enforced"
}

# Another sandbox's kept changes are hidden from a sandbox whose binds or overlays show the data
# directory: it could read them, or (writable) rewrite where a commit goes.
t_overlay_kept_changes_hidden_from_other_sandboxes() {
  kept_data ov5
  local d=$T/proj p
  project "$d"
  sb_in "$d" run --name ov5 --overlay shell -- /bin/sh -c 'echo secret >s.txt'
  expect_rc 0
  [ -d "$T/data/sandbox/changes/ov5" ] || fail "no kept changes to hide"
  p=$(mkprofile p default '[[mount]]' 'type = "ro-bind"' "source = \"$T/data\"" \
    '[[mount]]' 'type = "overlay"' "source = \"$T\"" "target = \"/view\"")
  sb run "$p" -- /bin/sh -c "ls -A $T/data/sandbox/changes; ls -A /view/data/sandbox/changes; echo end"
  expect_rc 0 "a run with the data directory in view"
  [ "$(cat "$T/out")" = end ] || fail "the kept changes are visible inside" "$(cat "$T/out")"
  sb run --dry-run "$p"
  grep -q "hides the kept changes of sandboxes" "$T/out" || fail "--dry-run does not show the cover" "$(cat "$T/out")"
}

# Regressions of an attacker's review: each of these got a payload's change committed past the
# protected paths, hid it from the review, or left the user unable to commit or discard.
t_overlay_commit_protects_git_and_links_into_protected_paths() {
  kept_data ov6
  local d=$T/proj
  project "$d"
  sb_in "$d" run --name ov6 --overlay shell -- /bin/sh -c '
    mkdir -p sub/.git/refs; printf "[core]\n\tfsmonitor = evil\n" >sub/.git/config
    mkdir cfg; echo "[build]" >cfg/config.toml; ln -s cfg .cargo; echo fine >ok.txt'
  expect_rc 0
  sb_in "$d" commit ov6
  expect_rc 1 "commit with protected paths"
  [ ! -e "$d/sub/.git" ] || fail "a nested .git was committed"
  [ ! -L "$d/.cargo" ] || fail "a link to a directory at .cargo was committed"
  grep -q "protected, left alone: $d/.cargo" "$T/out" || fail ".cargo is not reported" "$(cat "$T/out")"
  [ "$(cat "$d/ok.txt")" = fine ] || fail "an ordinary change was not committed"
}

t_overlay_diff_quotes_names_and_commit_keeps_holes_and_parents() {
  kept_data ov7
  local d=$T/proj
  project "$d"
  sb_in "$d" run --name ov7 --overlay shell -- /bin/sh -c '
    touch "$(printf "b\n M README | 1 +")" "$(printf "z\033[2Kx")"
    truncate -s 1G sparse; ln sparse sparse-link
    rm -r tree; mkdir -p deep; cd deep; i=0; while [ $i -lt 300 ]; do mkdir d; cd d; i=$((i+1)); done; echo end >f'
  expect_rc 0
  sb_in "$d" diff --stat ov7
  expect_rc 0 "diff --stat of a deep tree"
  grep -q '^ M README' "$T/out" && fail "a file name forged a line of diff --stat" "$(cat "$T/out")"
  grep -q $'\033' "$T/out" && fail "a file name put an escape sequence in diff --stat"
  grep -q '^ A "b\\n M README | 1 +"' "$T/out" || fail "the name is not shown quoted" "$(cat "$T/out")"
  sb_in "$d" commit ov7 tree/nothing-here
  [ -d "$d/tree" ] || fail "commit of a path below a replaced directory removed the directory"
  sb_in "$d" commit ov7 sparse sparse-link deep
  expect_rc 0 "commit of a sparse file and a deep tree"
  [ "$(stat -c %s "$d/sparse-link")" = 1073741824 ] || fail "the sparse file has the wrong size"
  [ "$(du -k "$d/sparse-link" | cut -f1)" -lt 1024 ] || fail "committing a sparse file wrote its holes: $(du -k "$d/sparse-link")"
  [ -f "$d/deep/$(printf 'd/%.0s' $(seq 300))f" ] || fail "the deep tree was not committed"
  echo '{"version": 2}' >"$T/data/sandbox/changes/ov7/changes.json"
  sb discard ov7
  expect_rc 0 "discard of a change set whose changes.json is damaged"
}

# A host directory owned by another of the sandbox's ids (made by an earlier sandbox through a
# writable bind), removed in the overlay: commit must reach into it as that id. The change set
# alone is all the user's, so the quick path (the user's own id only) must see the host's side
# too; with the change set looked at alone, the removal was a false conflict.
t_overlay_commit_removes_a_host_tree_of_another_id() {
  kept_data ov9
  need_subids
  local d=$T/proj p
  project "$d"
  p=$(mkprofile -n p shell '[user]' 'mode = "root"' 'capabilities = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER"]')
  sb_in "$d" run "$p" -- /bin/sh -c 'mkdir other; echo x >other/f; chmod 700 other; chown -R 1000:1000 other'
  expect_rc 0 "a tree of another id made through a bind"
  at_exit "(cd '$d' && '$SANDBOX' run '$p' -- /bin/rm -rf other) </dev/null >/dev/null 2>&1"
  [ "$(stat -c %u "$d/other")" != "$(id -u)" ] || fail "the tree is not of another id"
  sb_in "$d" run --name ov9 --overlay "$p" -- /bin/rm -rf other
  expect_rc 0
  sb_in "$d" diff --stat ov9
  expect_rc 0 "diff"
  grep -q "D other " "$T/out" || fail "diff does not show the directory removed" "$(cat "$T/out") $(cat "$T/err")"
  sb_in "$d" commit ov9
  expect_rc 0 "commit of the removal of a tree of another id: $(cat "$T/out")"
  [ ! -e "$d/other" ] || fail "the host's tree of another id is still there"
}

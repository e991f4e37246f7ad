# The result lines of a test runner (tests/integration/run.sh, tests/vm/guest.sh), counted in
# PASSED FAILED SKIPPED. They go to fd RESULT_FD (default 1).
PASSED=0
FAILED=0
SKIPPED=0

result() { # result KIND NAME [REASON-FILE] [LOG-FILE]
  local kind=$1 name=$2 reason=${3:-} log=${4:-} first=
  [ -n "$reason" ] && [ -s "$reason" ] && first=$(head -n 1 "$reason")
  {
    case $kind in
      PASS) echo "PASS $name"; PASSED=$((PASSED + 1)); return ;;
      SKIP) echo "SKIP $name: ${first:-skipped}"; SKIPPED=$((SKIPPED + 1)); return ;;
    esac
    echo "FAIL $name: ${first:-no reason given}"
    FAILED=$((FAILED + 1))
    [ -n "$reason" ] && [ -s "$reason" ] && tail -n +2 "$reason" | sed 's/^\([^ ]\)/    \1/'
    if [ -n "$log" ] && [ -s "$log" ]; then
      echo "    test's own output (last lines):"
      tail -n 10 "$log" | cut -c1-200 | sed 's/^/    | /'
    fi
  } >&"${RESULT_FD:-1}"
  return 0
}

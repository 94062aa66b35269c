# Sourced by every tests/shell/*_test.sh (not a test itself): the checks' counts and lines, which test.sh reads, and
# what more than one script needs.
passed=0; failed=0

# check NAME STATUS [DETAIL]: STATUS 0 passes ("ok - NAME"); a failure says "not ok - NAME" and the last 20 lines of
# DETAIL, indented.
check() {
  if [ "$2" -eq 0 ]; then
    passed=$((passed + 1)); echo "ok - $1"
  else
    failed=$((failed + 1)); echo "not ok - $1"
    [ -z "${3:-}" ] || printf '%s\n' "$3" | tail -n 20 | sed 's/^/    /'
  fi
}

# listening PORT: something accepts TCP connections on 127.0.0.1:PORT.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# summary: the line test.sh sums ("N passed, N failed"), and a status that fails if a check did.
summary() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

#!/bin/bash
# run.sh: runs Go standard library test binaries natively and in a domain and compares them per test (issue 17).
#
# Usage: B=build tests/conformance/run.sh [--set quick|full] [--e2e] [PACKAGE...]
#   --set quick   only the packages marked quick in tests/conformance/packages (what
#                 `make test` runs); full (the default) runs them all (`make conformance`)
#   --e2e         also print "PASS: go/PKG" / "FAIL: go/PKG" lines (tests/run.sh's protocol)
#   PACKAGE...    only these packages (as named in the list)
#
# Each package's test binary (built by `make conformance-bins` with `go test -c`) runs twice
# with the same flags, working directory ($GOROOT/src/PKG, where its testdata is) and
# environment: natively as the domain's user (the oracle), then in a domain as that user with
# a private writable scratch tree for TMPDIR, HOME and GOCACHE, and /tmp writable too (os's
# tests write there whatever TMPDIR says, as native runs may). Results are read per test from
# -test.v ("--- PASS: name"). A regression is a test that passes natively and does not pass
# in the domain, or a binary that exits 0 natively and not in the domain (a crash or a hang:
# the run is bounded by the package's timeout and ends loudly). A regression is run once more
# on its own in the domain (-test.run); one that passes then is reported as flaky, not counted.
# Tests listed in tests/conformance/known-differences (with why) are reported as known, not
# counted; the table says when one of them passes again.
# Output: a table (package, native pass/fail/skip, pdvm pass/fail/skip, differences), then one
# line "conformance: N packages, N regressions, N known differences, N flaky"; exit 1 on any
# regression.
# Logs: $B/conformance/logs/PKG.{native,pdvm}.log and the domain's log PKG.domain.log.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${B:-build}
case "$B" in /*) ;; *) B=$ROOT/$B ;; esac
PDVM=${PDVM:-$B/pdvm}
LIST=$ROOT/tests/conformance/packages
USER_=pdvm
SET=full E2E=""
WANT=()
while [ $# -gt 0 ]; do
	case "$1" in
	--set) SET=$2; shift 2 ;;
	--e2e) E2E=1; shift ;;
	-h|--help) sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) WANT+=("$1"); shift ;;
	esac
done
case "$SET" in quick|full) ;; *) echo "run.sh: --set is quick or full, not $SET" >&2; exit 2 ;; esac

if ! command -v go >/dev/null; then
	echo "run.sh: no go toolchain (tools/deps.sh installs golang-go)" >&2
	exit 1
fi
GOROOT=$(go env GOROOT)
BIN=$B/conformance
LOGS=$BIN/logs
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdvm-conf.XXXXXX") || exit 1
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$LOGS" || exit 1

# results LOG: "STATUS NAME" for every test -test.v reported, subtests included.
results() {
	sed -n 's/^ *--- \(PASS\|FAIL\|SKIP\): \([^ ]*\).*/\1 \2/p' "$1" | sort -u -k2,2
}

KNOWN=$ROOT/tests/conformance/known-differences
# known_tests PKG: the tests of PKG listed as known differences.
known_tests() { awk -v p="$1" '$1 == p { print $2 }' "$KNOWN"; }
# is_known PKG NAME: NAME (or the top-level test it is a subtest of) is listed.
is_known() { known_tests "$1" | grep -qx "${2%%/*}"; }

# count STATUS FILE
count() { grep -c "^$1 " "$2"; }

# scratch NAME: a fresh writable tree owned by the domain's user.
scratch() {
	local d=$WORK/$1
	rm -rf "$d"
	mkdir -p "$d/tmp" "$d/home" "$d/gocache"
	chown -R "$USER_:" "$d"
	echo "$d"
}

# run_native PKG TIMEOUT LOG ARGS...
run_native() {
	local pkg=$1 t=$2 log=$3 d
	shift 3
	d=$(scratch native)
	(cd "$GOROOT/src/$pkg" && exec timeout -k 10 "$t" env -i PATH=/usr/local/bin:/usr/bin:/bin \
		HOME="$d/home" TMPDIR="$d/tmp" GOCACHE="$d/gocache" GOROOT="$GOROOT" \
		setpriv --reuid="$USER_" --regid="$USER_" --clear-groups -- "$@") \
		</dev/null >"$log" 2>&1
}

# run_domain PKG TIMEOUT LOG ARGS...
run_domain() {
	local pkg=$1 t=$2 log=$3 d
	shift 3
	d=$(scratch pdvm)
	timeout -k 10 "$t" "$PDVM" run --name "conf-${pkg//\//-}" --user "$USER_" \
		--writable "$d" --writable /tmp --cwd "$GOROOT/src/$pkg" --memory 4G \
		--log "$LOGS/${pkg//\//_}.domain.log" \
		--env PATH=/usr/local/bin:/usr/bin:/bin --env HOME="$d/home" --env TMPDIR="$d/tmp" \
		--env GOCACHE="$d/gocache" --env GOROOT="$GOROOT" -- "$@" \
		</dev/null >"$log" 2>&1
}

npkg=0 nreg=0 nflaky=0 nknown=0
TABLE=$WORK/table
printf '%-20s %-16s %-16s %s\n' PACKAGE "NATIVE p/f/s" "PDVM p/f/s" DIFFERENCES >"$TABLE"

while read -r pkg set t flags; do
	case "$pkg" in ''|'#'*) continue ;; esac
	[ "$SET" = full ] || [ "$set" = quick ] || continue
	if [ ${#WANT[@]} -gt 0 ]; then
		hit=""
		for w in "${WANT[@]}"; do [ "$w" = "$pkg" ] && hit=1; done
		[ -n "$hit" ] || continue
	fi
	npkg=$((npkg + 1))
	name=${pkg//\//_}
	bin=$BIN/$name.test
	# shellcheck disable=SC2206
	args=("$bin" -test.v -test.count=1 -test.timeout=$((t - 20))s $flags)
	if [ ! -x "$bin" ]; then
		printf '%-20s %s\n' "$pkg" "no test binary $bin (make conformance-bins)" >>"$TABLE"
		nreg=$((nreg + 1))
		[ -z "$E2E" ] || echo "FAIL: go/$pkg (no test binary)"
		continue
	fi
	nl=$LOGS/$name.native.log pl=$LOGS/$name.pdvm.log
	run_native "$pkg" "$t" "$nl" "${args[@]}"; nrc=$?
	run_domain "$pkg" "$t" "$pl" "${args[@]}"; prc=$?
	results "$nl" >"$WORK/n"
	results "$pl" >"$WORK/p"
	# passed natively, not passed in the domain
	# (A subtest whose line is missing under a parent that passed did pass: a
	# parent fails with any subtest, and Go's testing can drop the line of a
	# subtest t.Run from another goroutine, as os/signal's TestNohup does.)
	lost=$(join -1 2 -2 2 -a 1 -o 1.1,1.2,2.1 -e MISSING "$WORK/n" "$WORK/p" |
		awk 'NR == FNR { st[$2] = $1; next }
		     $1 == "PASS" && $3 != "PASS" {
			top = $2; sub(/\/.*/, "", top)
			if ($3 == "MISSING" && top != $2 && st[top] == "PASS") next
			print $2 }' "$WORK/p" -)
	why="" still="" flaky=0
	if [ -n "$lost" ]; then
		# Run them once more on their own: top-level names only, as -test.run wants.
		re=$(echo "$lost" | sed 's,/.*,,' | sort -u | paste -sd'|')
		rl=$LOGS/$name.pdvm-retry.log
		# shellcheck disable=SC2206
		run_domain "$pkg" "$t" "$rl" "$bin" -test.v -test.count=1 -test.timeout=$((t - 20))s \
			$flags -test.run "^($re)\$"
		results "$rl" >"$WORK/r"
		for n in $lost; do
			if grep -qx "PASS $n" "$WORK/r"; then flaky=$((flaky + 1)); else still="$still $n"; fi
		done
		# Known differences (tests/conformance/known-differences) are
		# reported, not counted.
		new="" known=""
		for n in $still; do
			if is_known "$pkg" "$n"; then known="$known $n"; else new="$new $n"; fi
		done
		still=$new
		[ -z "$still" ] || why="lost:$still"
		[ -z "$known" ] || why="${why:+$why; }known:$known"
		[ "$flaky" -eq 0 ] || why="${why:+$why; }flaky: $flaky passed on retry"
		nflaky=$((nflaky + flaky))
		nknown=$((nknown + $(echo $known | wc -w)))
	fi
	# A known difference that passes now: its line should go.
	for n in $(known_tests "$pkg"); do
		if grep -qx "PASS $n" "$WORK/p"; then
			why="${why:+$why; }passes now (drop from known-differences): $n"
		fi
	done
	# A binary that passes natively and dies in the domain for no test's failure: a crash
	# or a hang.
	bad=$still
	if [ "$nrc" -eq 0 ] && [ "$prc" -ne 0 ] && [ "$prc" -ne 124 ] && [ "$prc" -ne 137 ] && [ -z "$lost" ]; then
		why="exit status $prc (native 0)"
		bad=1
	fi
	# A hang is a regression even when what it kept from running passes on retry.
	if [ "$nrc" -ne 124 ] && [ "$nrc" -ne 137 ] &&
	   { [ "$prc" -eq 124 ] || [ "$prc" -eq 137 ] || grep -q '^panic: test timed out' "$pl"; }; then
		why="${why:+$why; }hung: timed out after ${t}s"
		bad=1
	fi
	printf '%-20s %-16s %-16s %s\n' "$pkg" \
		"$(count PASS "$WORK/n")/$(count FAIL "$WORK/n")/$(count SKIP "$WORK/n")" \
		"$(count PASS "$WORK/p")/$(count FAIL "$WORK/p")/$(count SKIP "$WORK/p")" \
		"${why:--}" >>"$TABLE"
	if [ -n "$bad" ]; then
		nreg=$((nreg + 1))
		[ -z "$E2E" ] || echo "FAIL: go/$pkg ($why; logs $pl)"
	else
		[ -z "$E2E" ] || echo "PASS: go/$pkg"
	fi
done <"$LIST"

cat "$TABLE"
echo "conformance: $npkg packages, $nreg regressions, $nknown known differences, $nflaky flaky"
[ "$nreg" -eq 0 ]

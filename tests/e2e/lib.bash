# lib.bash: shared helpers for the end-to-end tests (source it; see tests/run.sh for the protocol).
# shellcheck shell=bash disable=SC2034
#
# Provides:
#   SCRATCH            a private scratch directory, removed on exit
#   GUEST              the directory of the built guest programs ($B/guest)
#   DEFAULT_ENV        the environment pdvm gives a domain by default (PATH, HOME)
#   pass/fail/skip NAME [WHY]          print one sub-test result line
#   check NAME CMD...                  PASS if CMD exits 0
#   run_pdvm [PDVM-RUN-OPTS...] -- PROG [ARGS...]
#                      runs "$PDVM run OPTS -- PROG ARGS" with a timeout; sets RC, OUT, ERR (files)
#   run_native [--cwd DIR] [--env K=V]... -- PROG [ARGS...]
#                      runs PROG natively with `env -i` + DEFAULT_ENV + the --env's, as the
#                      domain's default user (the oracle of a domain); sets RC, OUT, ERR
#   compare NAME [--cwd DIR] [--stdin FILE] [--stderr] [--sort] [--env K=V]... -- PROG [ARGS...]
#                      runs both, PASS if exit status and stdout (and stderr with --stderr) match
#   finish             prints a summary, exits 1 if any FAIL was printed, else 0
#   domain_dir DIR...  creates DIRs a domain writes to, owned by the domain's default user
#   need_kvm / need_pdvm / need_file FILE   exit 77 (skip) or fail when a prerequisite is missing
#   host_signals_rrsignals PID OUT   sends tests/guest/rrsignals its host signals (RC: its status)
set -u

: "${B:=build}"
case "$B" in /*) ;; *) B=$(cd "$B" 2>/dev/null && pwd || echo "$PWD/$B") ;; esac
: "${PDVM:=$B/pdvm}"
GUEST=$B/guest
DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
DEFAULT_ENV=("PATH=$DEFAULT_PATH" "HOME=/")
# Per pdvm start: a hang must not eat the whole script's budget.
PDVM_TIMEOUT=${PDVM_TIMEOUT:-120}

E2E_FAILS=0
E2E_PASSES=0
E2E_SKIPS=0

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/pdvm-e2e.XXXXXX") || { echo "FAIL: mktemp"; exit 1; }
chmod 755 "$SCRATCH"
OUT=$SCRATCH/.out
ERR=$SCRATCH/.err
RC=0
_e2e_cleanup() { [ -n "${KEEP_SCRATCH:-}" ] || rm -rf "$SCRATCH"; }
trap _e2e_cleanup EXIT

pass() { E2E_PASSES=$((E2E_PASSES + 1)); echo "PASS: $1"; }
skip() { E2E_SKIPS=$((E2E_SKIPS + 1)); echo "SKIP: $1${2:+ ($2)}"; }
fail() {
	E2E_FAILS=$((E2E_FAILS + 1))
	echo "FAIL: $1"
	if [ -n "${2:-}" ]; then printf '%s\n' "$2" | sed 's/^/    /'; fi
}

# check NAME CMD...: one sub-test that passes when CMD succeeds.
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name" "command failed: $*"; fi
}

# wait_text FILE TEXT PID [SECS]: 0 once FILE contains TEXT (a grep pattern; up to SECS,
# default 20), 1 if PID ended first or the time ran out.
wait_text() {
	local i
	for ((i = 0; i < ${4:-20} * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# host_signals_rrsignals PID OUT: drives tests/guest/rrsignals running as PID (a pdvm, which
# forwards them) with its output in OUT: SIGHUP once it waits for it, then SIGTERM; waits
# 10 s at most for the end (then SIGKILL). Sets RC to its exit status.
host_signals_rrsignals() {
	wait_text "$2" "waiting for SIGHUP" "$1" 30 && kill -HUP "$1"
	wait_text "$2" "waiting for SIGTERM" "$1" 30 && kill -TERM "$1"
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$1" 2>/dev/null && kill -KILL "$1"
	wait "$1"
	RC=$?
}

# Shows the tail of the last run's stdout/stderr (for failure messages).
last_output() {
	echo "exit status: $RC"
	echo "--- stdout (tail):"
	tail -n 15 "$OUT" 2>/dev/null
	echo "--- stderr (tail):"
	tail -n 15 "$ERR" 2>/dev/null
}

# (PDVM_E2E_DRY_RUN=1 skips the check: for trying the scripts' native halves with a stand-in PDVM.)
need_kvm() {
	if [ ! -c /dev/kvm ] && [ -z "${PDVM_E2E_DRY_RUN:-}" ]; then
		echo "SKIP: no /dev/kvm here"
		exit 77
	fi
}

need_pdvm() {
	if [ ! -x "$PDVM" ]; then
		echo "FAIL: pdvm binary $PDVM is missing (build it with make)"
		exit 1
	fi
}

# need_file FILE...: a missing prerequisite (e.g. a guest program) is a failure, not a skip.
need_file() {
	local f
	for f in "$@"; do
		if [ ! -e "$f" ]; then
			echo "FAIL: $f is missing (make builds it)"
			exit 1
		fi
	done
}

# free_port: a TCP/UDP port for a test's server: below the kernel's ephemeral range (where
# connect() picks source ports, so a random port there may be taken by any connection of the
# host) and not in use now.
free_port() {
	local lo=20000 hi p i
	hi=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	[ "$hi" -gt $((lo + 1000)) ] || lo=1024
	for ((i = 0; i < 100; i++)); do
		p=$((lo + RANDOM % (hi - lo)))
		ss -Hatun "( sport = :$p )" 2>/dev/null | grep -q . || break
	done
	echo "$p"
}

# Domains run as an unprivileged account (pdvm run --user); a tree one may write must
# be its, as a directory an unprivileged program writes must be that program's.
DOMAIN_USER=pdvm
domain_dir() {
	mkdir -p "$@" && chown "$DOMAIN_USER:" "$@"
}

# run_pdvm OPTS... -- PROG ARGS...: stdin is $STDIN if set, else /dev/null.
run_pdvm() {
	timeout -k 5 "$PDVM_TIMEOUT" "$PDVM" run "$@" <"${STDIN:-/dev/null}" >"$OUT" 2>"$ERR"
	RC=$?
	return 0
}

# run_native [--cwd DIR] [--env K=V]... -- PROG ARGS...
run_native() {
	local cwd=/ envs=("${DEFAULT_ENV[@]}")
	while [ $# -gt 0 ]; do
		case "$1" in
		--cwd) cwd=$2; shift 2 ;;
		--env) envs+=("$2"); shift 2 ;;
		--) shift; break ;;
		*) echo "run_native: bad option $1" >&2; return 2 ;;
		esac
	done
	(cd "$cwd" && exec env -i "${envs[@]}" setpriv --reuid="$DOMAIN_USER" --regid="$DOMAIN_USER" \
		--clear-groups -- "$@") <"${STDIN:-/dev/null}" >"$OUT" 2>"$ERR"
	RC=$?
	return 0
}

# compare NAME [--cwd DIR] [--stdin FILE] [--stderr] [--sort] [--env K=V]... -- PROG ARGS...
# Runs PROG natively and in pdvm (root /, same cwd and environment) and compares.
compare() {
	local name=$1 cwd=/ stdin=/dev/null want_err="" sort="" envs=() popts=() nenv=()
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--cwd) cwd=$2; shift 2 ;;
		--stdin) stdin=$2; shift 2 ;;
		--stderr) want_err=1; shift ;;
		--sort) sort=1; shift ;;
		--env) envs+=("$2"); shift 2 ;;
		--) shift; break ;;
		*) echo "compare: bad option $1" >&2; return 2 ;;
		esac
	done
	local e
	for e in "${envs[@]+"${envs[@]}"}"; do
		nenv+=(--env "$e")
		popts+=(--env "$e")
	done
	# with explicit --env, pdvm gets the default variables explicitly too
	if [ ${#envs[@]} -gt 0 ]; then
		popts=(--env "PATH=$DEFAULT_PATH" --env "HOME=/" "${popts[@]}")
	fi
	STDIN=$stdin run_native --cwd "$cwd" "${nenv[@]+"${nenv[@]}"}" -- "$@"
	local nrc=$RC d=$SCRATCH/.cmp
	mkdir -p "$d"
	cp "$OUT" "$d/nout"
	cp "$ERR" "$d/nerr"
	STDIN=$stdin run_pdvm --cwd "$cwd" "${popts[@]+"${popts[@]}"}" -- "$@"
	cp "$OUT" "$d/pout"
	cp "$ERR" "$d/perr"
	if [ -n "$sort" ]; then
		LC_ALL=C sort "$d/nout" -o "$d/nout"
		LC_ALL=C sort "$d/pout" -o "$d/pout"
	fi
	local why=""
	[ "$nrc" = "$RC" ] || why="exit status: native $nrc, pdvm $RC"
	if ! cmp -s "$d/nout" "$d/pout"; then
		why="${why:+$why
}stdout differs:
$(diff "$d/nout" "$d/pout" | head -n 10)"
	fi
	if [ -n "$want_err" ] && ! cmp -s "$d/nerr" "$d/perr"; then
		why="${why:+$why
}stderr differs:
$(diff "$d/nerr" "$d/perr" | head -n 10)"
	fi
	if [ -z "$why" ]; then
		pass "$name"
	else
		fail "$name" "$why
pdvm stderr: $(head -c 600 "$d/perr")"
	fi
}

finish() {
	echo "# $E2E_PASSES passed, $E2E_FAILS failed, $E2E_SKIPS skipped"
	if [ "$E2E_FAILS" -gt 0 ]; then exit 1; fi
	exit 0
}

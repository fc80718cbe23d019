#!/bin/bash
# control.sh: the control socket — pdvm list/pause/resume/kill on a running ticker, name conflicts, stale sockets, protocol errors, and a paused run printing exactly what an uninterrupted one does.
# timeout: 240
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/ticker"

# Under TCG every process start costs a good fraction of a second, so the
# checks below use bash builtins (no grep, wc or sleep) wherever they can.

# A private control directory: the tests neither see nor disturb other domains.
export PDVM_RUN_DIR=$SCRATCH/run
T=$SCRATCH/ctl
mkdir -p "$T"
TICKER=$GUEST/ticker
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || true)

# Background pdvm processes still running at exit are ours to end.
BG_PIDS=()
_ctl_cleanup() {
	local p
	for p in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do kill -9 "$p" 2>/dev/null; done
	_e2e_cleanup
}
trap _ctl_cleanup EXIT

# nap SECS: sleep without starting a process (a read that times out on a FIFO nobody writes).
mkfifo "$T/nap"
exec {NAP_FD}<>"$T/nap"
nap() { read -r -t "$1" -u "$NAP_FD" _ || true; }

# pdvm_ctl ARGS...: a control command (they bound their own waits); sets RC, OUT, ERR.
pdvm_ctl() {
	"$PDVM" "$@" </dev/null >"$OUT" 2>"$ERR"
	RC=$?
}

# slurp FILE: FILE's contents in S.
slurp() { S=""; [ -e "$1" ] && IFS= read -r -d '' S <"$1"; return 0; }
# has_text FILE TEXT: FILE contains TEXT.
has_text() { slurp "$1"; [[ $S == *"$2"* ]]; }
# has_line FILE REGEX: a line of FILE starts with a match of the extended REGEX.
has_line() {
	local re=$'\n'"$2"
	slurp "$1"
	[[ $'\n'$S =~ $re ]]
}
# count_lines FILE: sets N.
count_lines() {
	local a=()
	[ -e "$1" ] && mapfile -t a <"$1"
	N=${#a[@]}
}
has_lines() { count_lines "$1"; [ "$N" -ge "$2" ]; }
sock_exists() { [ -S "$PDVM_RUN_DIR/$1.sock" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }

# wait_until SECS CMD...: polls CMD every 0.1 s; false if it never succeeds.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		nap 0.1
	done
}

# bg_status PID: waits (at most 30 s) for a background pdvm and sets st to
# its exit status, or "timeout". Not for $(...): a subshell cannot wait.
bg_status() {
	st=timeout
	wait_until 30 gone "$1" || return 0
	wait "$1"
	st=$?
}

# start_bg NAME OUTFILE ERRFILE TICKER-ARGS...: pdvm run --name NAME in the
# background; sets BG to its pid.
start_bg() {
	local name=$1 out=$2 err=$3
	shift 3
	"$PDVM" run --name "$name" -- "$TICKER" "$@" </dev/null >"$out" 2>"$err" &
	BG=$!
	BG_PIDS+=("$BG")
}

# ---- help and usage errors ---------------------------------------------------------------------
why=""
for c in list pause resume kill snapshot; do
	pdvm_ctl "$c" --help
	[ "$RC" = 0 ] && has_line "$OUT" "Usage: pdvm $c" || why+="$c --help: exit $RC; "
done
[ -z "$why" ] && pass "help" || fail "help" "$why"

why=""
pdvm_ctl pause
[ "$RC" = 2 ] && has_text "$ERR" 'no NAME given' || why+="pause without NAME: $RC $S; "
pdvm_ctl list extra
[ "$RC" = 2 ] || why+="list extra: $RC; "
pdvm_ctl kill --bogus x
[ "$RC" = 2 ] && has_text "$ERR" "unknown option '--bogus'" || why+="kill --bogus: $RC $S; "
pdvm_ctl snapshot tick1
[ "$RC" = 2 ] && has_text "$ERR" 'no DIR given' || why+="snapshot without DIR: $RC $S; "
pdvm_ctl pause 'a/b'
[ "$RC" = 2 ] && has_text "$ERR" 'bad domain name' || why+="pause a/b: $RC $S; "
[ -z "$why" ] && pass "usage-errors" || fail "usage-errors" "$why"

# ---- no domains yet: the directory does not even exist -----------------------------------------
pdvm_ctl list
count_lines "$OUT"
if [ "$RC" = 0 ] && [ "$N" = 1 ] && has_line "$OUT" 'NAME +PID +STATE +MEMORY +UPTIME' && [ ! -s "$ERR" ]; then
	pass "list-empty"
else
	fail "list-empty" "$(last_output)"
fi
pdvm_ctl list --json
slurp "$OUT"
[ "$RC" = 0 ] && [ "$S" = $'[]\n' ] && pass "list-empty-json" || fail "list-empty-json" "$(last_output)"
pdvm_ctl pause nosuch
if [ "$RC" = 1 ] && has_text "$ERR" 'pdvm pause: nosuch: no such domain'; then
	pass "no-such-domain-no-dir"
else
	fail "no-such-domain-no-dir" "$(last_output)"
fi

# ---- a running domain --------------------------------------------------------------------------
start_bg tick1 "$T/t1.out" "$T/t1.err" 1000 20
P1=$BG
if wait_until 30 sock_exists tick1; then
	pass "socket-appears"
else
	fail "socket-appears" "no $PDVM_RUN_DIR/tick1.sock; pdvm stderr: $(head -c 600 "$T/t1.err")"
fi
perms=$(stat -c %a "$PDVM_RUN_DIR" "$PDVM_RUN_DIR/tick1.sock" 2>&1)
[ "$perms" = $'700\n600' ] && pass "private-permissions" || fail "private-permissions" "directory and socket modes: $perms"
wait_until 30 has_lines "$T/t1.out" 3 || fail "ticker-runs" "no output; stderr: $(head -c 600 "$T/t1.err")"

pdvm_ctl list
if [ "$RC" = 0 ] && has_line "$OUT" "tick1 +$P1 +running +[0-9.]+[BKMG] +[0-9][0-9a-z]*"$'\n'; then
	pass "list-running"
else
	fail "list-running" "want a row 'tick1 $P1 running MEM UPTIME'
$(last_output)"
fi

pdvm_ctl list --json
cp "$OUT" "$T/list.json"
if command -v jq >/dev/null; then
	got=$(jq -r '.[] | select(.name == "tick1") |
		"\(.pid) \(.state) \(.memory >= 4194304) \(.memory_limit) \(.threads) \(.uptime > 0)"' "$T/list.json" 2>&1)
elif [ -n "$PY" ]; then
	got=$("$PY" -c 'import json, sys
d = [o for o in json.load(open(sys.argv[1])) if o["name"] == "tick1"][0]
print(d["pid"], d["state"], str(d["memory"] >= 4 << 20).lower(), d["memory_limit"], d["threads"],
      str(d["uptime"] > 0).lower())' "$T/list.json" 2>&1)
else
	got=skip
fi
if [ "$got" = skip ]; then
	skip "list-json" "neither jq nor python3"
elif [ "$got" = "$P1 running true 536870912 1 true" ]; then
	pass "list-json"
else
	fail "list-json" "got '$got' from: $(cat "$T/list.json")"
fi

# ---- pause: the output stops ---------------------------------------------------------------------
pdvm_ctl pause tick1
[ "$RC" = 0 ] && [ ! -s "$OUT" ] && [ ! -s "$ERR" ] && pass "pause" || fail "pause" "$(last_output)"
count_lines "$T/t1.out"
n1=$N
nap 1
count_lines "$T/t1.out"
[ "$n1" = "$N" ] && pass "pause-stops-output" || fail "pause-stops-output" "lines went from $n1 to $N while paused"
pdvm_ctl list
has_line "$OUT" "tick1 +$P1 +paused " && pass "list-paused" || fail "list-paused" "$(last_output)"
pdvm_ctl pause tick1
if [ "$RC" = 1 ] && has_text "$ERR" 'pdvm pause: tick1: domain is already paused'; then
	pass "pause-twice"
else
	fail "pause-twice" "$(last_output)"
fi

# ---- a name is one domain's at a time --------------------------------------------------------------
"$PDVM" run --name tick1 -- "$TICKER" 1 0 </dev/null >"$OUT" 2>"$ERR"
RC=$?
if [ "$RC" = 125 ] && has_text "$ERR" "a domain named tick1 is already running (pid $P1)" && [ ! -s "$OUT" ]; then
	pass "name-conflict"
else
	fail "name-conflict" "want exit 125 naming tick1 and pid $P1
$(last_output)"
fi
pdvm_ctl list
if sock_exists tick1 && has_line "$OUT" "tick1 +$P1 +paused "; then
	pass "conflict-leaves-owner"
else
	fail "conflict-leaves-owner" "the failed start disturbed the first tick1: $(last_output)"
fi
"$PDVM" run --name 'a/b' -- "$TICKER" 1 0 </dev/null >"$OUT" 2>"$ERR"
RC=$?
[ "$RC" = 125 ] && has_text "$ERR" 'bad name' && pass "bad-name-rejected" || fail "bad-name-rejected" "$(last_output)"

# ---- resume: the output goes on ------------------------------------------------------------------
count_lines "$T/t1.out"
n1=$N
pdvm_ctl resume tick1
[ "$RC" = 0 ] && [ ! -s "$OUT" ] && [ ! -s "$ERR" ] && pass "resume" || fail "resume" "$(last_output)"
if wait_until 20 has_lines "$T/t1.out" $((n1 + 3)); then
	pass "resume-continues"
else
	fail "resume-continues" "still $N lines (had $n1); stderr: $(head -c 600 "$T/t1.err")"
fi
pdvm_ctl resume tick1
if [ "$RC" = 1 ] && has_text "$ERR" 'pdvm resume: tick1: domain is not paused'; then
	pass "resume-twice"
else
	fail "resume-twice" "$(last_output)"
fi

# ---- kill ---------------------------------------------------------------------------------------
pdvm_ctl kill tick1
[ "$RC" = 0 ] && [ ! -s "$OUT" ] && [ ! -s "$ERR" ] && pass "kill" || fail "kill" "$(last_output)"
bg_status "$P1"
[ "$st" = 137 ] && pass "kill-exit-137" || fail "kill-exit-137" "pdvm run exited with $st; stderr: $(head -c 600 "$T/t1.err")"
sock_exists tick1 && fail "kill-removes-socket" "$PDVM_RUN_DIR/tick1.sock is still there" || pass "kill-removes-socket"
why=""
pdvm_ctl pause tick1
[ "$RC" = 1 ] && has_text "$ERR" "pdvm pause: tick1: no such domain" || why+="pause: $RC $S; "
pdvm_ctl snapshot tick1 "$T/snap"
[ "$RC" = 1 ] && has_text "$ERR" "pdvm snapshot: tick1: no such domain" || why+="snapshot: $RC $S; "
[ -z "$why" ] && pass "no-such-domain" || fail "no-such-domain" "$why"

# ---- stale sockets: pdvm killed with SIGKILL leaves its socket behind ---------------------------------
start_bg stale1 /dev/null /dev/null 1000 20
PA=$BG
start_bg stale2 /dev/null /dev/null 1000 20
PB=$BG
wait_until 30 sock_exists stale1
wait_until 30 sock_exists stale2
kill -9 "$PA" "$PB"
bg_status "$PA"
bg_status "$PB"
pdvm_ctl pause stale1
if sock_exists stale1 && [ "$RC" = 1 ] && has_text "$ERR" 'no such domain'; then
	pass "stale-is-no-such-domain"
else
	fail "stale-is-no-such-domain" "socket there: $(sock_exists stale1 && echo yes || echo no); $(last_output)"
fi

# ---- a paused and resumed run prints what an uninterrupted one does ------------------------------------
# Four threads: the main one, one in a futex wait, one in nanosleep loops, one
# blocked reading a pipe. The reference runs natively meanwhile.
"$TICKER" 200 10 4 >"$T/ref.out" 2>&1 &
PREF=$!
start_bg stale1 "$T/t2.out" "$T/t2.err" 200 10 4
P2=$BG
wait_until 30 has_lines "$T/t2.out" 10
why=""
pdvm_ctl pause stale1
[ "$RC" = 0 ] || why+="first pause: $(cat "$ERR"); "
pdvm_ctl list
# stale1's old socket was replaced by the new domain; stale2's is removed by list.
has_line "$OUT" "stale1 +$P2 +paused " || why+="list: $(cat "$OUT"); "
has_line "$OUT" 'stale2 ' && why+="list shows the dead stale2; "
sock_exists stale2 && why+="list left the stale socket stale2.sock; "
pdvm_ctl resume stale1
[ "$RC" = 0 ] || why+="first resume: $(cat "$ERR"); "
pdvm_ctl pause stale1
[ "$RC" = 0 ] || why+="second pause: $(cat "$ERR"); "
nap 0.3
pdvm_ctl resume stale1
[ "$RC" = 0 ] || why+="second resume: $(cat "$ERR"); "
[ -z "$why" ] && pass "stale-replaced-paused-twice" || fail "stale-replaced-paused-twice" "$why"
bg_status "$P2"
wait "$PREF"
if [ "$st" = 0 ] && cmp -s "$T/ref.out" "$T/t2.out"; then
	pass "paused-output-identical"
else
	count_lines "$T/t2.out"
	fail "paused-output-identical" "exit status $st (want 0), $N lines; diff native pdvm:
$(diff "$T/ref.out" "$T/t2.out" | head -n 10)
stderr: $(head -c 600 "$T/t2.err")"
fi
sock_exists stale1 && fail "exit-removes-socket" "stale1.sock remains after the domain ended" || pass "exit-removes-socket"

# ---- the protocol itself: bad requests get errors, the connection goes on; kill while paused -------------
start_bg proto /dev/null "$T/p.err" 100000 20
P3=$BG
wait_until 30 sock_exists proto
if [ -n "$PY" ]; then
	got=$("$PY" - "$PDVM_RUN_DIR/proto.sock" <<'EOF' 2>&1
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rwb")
for req in [b'not json', b'{"cmd":"frob"}', b'[1]', b'{"cmd":"info","extra":1}',
            b'{"cmd":"pause"} {}', b'{"cmd":"snapshot","dir":"relative"}',
            b'{"cmd":"exec","argv":[]}', b'{"cmd":"exec","argv":["x"],"cwd":"rel"}',
            b'{"cmd":"exec","argv":["x"],"bogus":1}', b"x" * 70000,
            b'{"cmd":"info"}']:
    f.write(req + b"\n")
    f.flush()
    r = json.loads(f.readline())
    print(r["ok"], r.get("state", "-"), r.get("error", "-"))
EOF
)
	want="False - malformed JSON: null expected
False - unknown cmd \"frob\" (known: info, pause, resume, kill, exec, snapshot, migrate)
False - a request must be a JSON object
False - info: unknown member \"extra\"
False - malformed JSON: more after the value
False - \"dir\" must be an absolute path
False - exec: \"argv\" must be a non-empty array of strings
False - exec: \"cwd\" must be an absolute path
False - exec: unknown member \"bogus\"
False - request longer than 65536 bytes
True running -"
	[ "$got" = "$want" ] && pass "protocol-errors" || fail "protocol-errors" "got:
$got"
else
	skip "protocol-errors" "no python3"
fi
pdvm_ctl pause proto
pdvm_ctl kill proto
bg_status "$P3"
[ "$st" = 137 ] && pass "kill-paused" || fail "kill-paused" "exit $st: $(head -c 600 "$T/p.err")"

finish

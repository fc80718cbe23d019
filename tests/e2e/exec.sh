#!/bin/bash
# exec.sh: pdvm exec — a command run as a new process of a running domain: its output and status, env and workdir, stdin only with -i, ppid 0 and seen by the domain's processes, 126/127, signals passed on, the process ending with its caller and with the domain, a paused domain refused, and a snapshot refused while it runs, taken after.
# timeout: 240
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file /bin/busybox

export PDVM_RUN_DIR=$SCRATCH/run
W=$SCRATCH/w
domain_dir "$W"
BB=/bin/busybox
BG_PIDS=()
_exec_cleanup() {
	local p
	for p in ${BG_PIDS[@]+"${BG_PIDS[@]}"}; do kill -9 "$p" 2>/dev/null; done
	_e2e_cleanup
}
trap _exec_cleanup EXIT

# wait_until SECS CMD...: polls CMD every 0.1 s.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}
# ex ARGS...: pdvm exec ARGS with a time bound; RC, OUT, ERR.
ex() {
	timeout -k 5 60 "$PDVM" exec "$@" </dev/null >"$OUT" 2>"$ERR"
	RC=$?
}
# start NAME: a domain whose first process sleeps; waits for its socket.
start() {
	"$PDVM" run --name "$1" --writable "$W" --env DOMVAR=from-domain -- $BB sleep 1000 \
		</dev/null >"$SCRATCH/$1.out" 2>&1 &
	DOM=$!
	BG_PIDS+=("$DOM")
	wait_until 30 test -S "$PDVM_RUN_DIR/$1.sock" || { fail setup "domain $1 did not start: $(cat "$SCRATCH/$1.out")"; finish; }
}
start d1

ex d1 $BB sh -c 'echo hi; echo oops >&2; exit 7'
[ "$RC" = 7 ] && [ "$(cat "$OUT")" = hi ] && [ "$(cat "$ERR")" = oops ] && pass output-and-status ||
	fail output-and-status "rc $RC, out '$(cat "$OUT")', err '$(cat "$ERR")'"

# The domain's environment plus --env; --workdir; the first process's cwd (/) otherwise.
ex -e FOO=bar -w "$W" d1 $BB sh -c 'echo $DOMVAR $FOO; pwd'
[ "$RC" = 0 ] && [ "$(cat "$OUT")" = "from-domain bar
$W" ] && pass env-and-workdir || fail env-and-workdir "rc $RC: $(cat "$OUT" "$ERR")"

# stdin: /dev/null unless -i.
echo data-in >"$SCRATCH/in"
timeout 60 "$PDVM" exec d1 $BB cat <"$SCRATCH/in" >"$OUT" 2>&1
r1=$? o1=$(cat "$OUT")
timeout 60 "$PDVM" exec -i d1 $BB cat <"$SCRATCH/in" >"$OUT" 2>&1
r2=$? o2=$(cat "$OUT")
[ "$r1" = 0 ] && [ -z "$o1" ] && [ "$r2" = 0 ] && [ "$o2" = data-in ] && pass stdin-only-with-i ||
	fail stdin-only-with-i "without -i: $r1 '$o1'; with -i: $r2 '$o2'"

# No parent inside the domain; the domain's other processes see it in /proc.
"$PDVM" exec d1 $BB sh -c "echo \$\$ > $W/a.pid; exec $BB sleep 100" </dev/null >/dev/null 2>&1 &
A=$!
BG_PIDS+=("$A")
wait_until 20 test -s "$W/a.pid"
apid=$(cat "$W/a.pid" 2>/dev/null)
wait_until 10 eval '{ ex d1 $BB cat /proc/'"$apid"'/cmdline; [ "$(tr "\\0" " " <"$OUT")" = "$BB sleep 100 " ]; }'
ex d1 $BB sh -c "echo \$PPID; tr '\\0' ' ' </proc/$apid/cmdline; echo; $BB ps -o args | grep -c 'sleep 100'"
mapfile -t L <"$OUT"
[ "$RC" = 0 ] && [ "${L[0]:-}" = 0 ] && [ "${L[1]:-}" = "$BB sleep 100 " ] && [ "${L[2]:-0}" -ge 2 ] &&
	pass ppid-0-and-seen-by-the-domain || fail ppid-0-and-seen-by-the-domain "rc $RC: ${L[*]:-} $(cat "$ERR")"

# A snapshot cannot carry a process whose stdio is a caller's: refused, saying why,
# and the domain goes on; once it has ended, the snapshot is taken.
timeout 60 "$PDVM" snapshot d1 "$SCRATCH/img1" >"$OUT" 2>"$ERR"
src=$?
serr=$(cat "$ERR")
kill -0 "$A" 2>/dev/null && still=yes || still=no
# The caller killed: its process goes too.
kill -9 "$A"
wait "$A" 2>/dev/null
gone_ok=no
wait_until 20 eval '! { ex d1 $BB test -e /proc/'"$apid"'; [ "$RC" = 0 ]; }' && gone_ok=yes
[ "$src" = 1 ] && [[ $serr == *"started by exec"* ]] && [ "$still" = yes ] && pass snapshot-refused-while-exec-runs ||
	fail snapshot-refused-while-exec-runs "snapshot rc $src: $serr; exec still running: $still"
[ "$gone_ok" = yes ] && pass ends-with-its-caller || fail ends-with-its-caller "process $apid still there after its pdvm exec was killed"
timeout 60 "$PDVM" snapshot d1 "$SCRATCH/img2" >"$OUT" 2>"$ERR"
[ $? = 0 ] && pass snapshot-after-exec-ended || fail snapshot-after-exec-ended "$(cat "$ERR")"

# 127 for a program not there, 126 for one that cannot run; 125 for no such domain.
ex d1 /no/such/program
r1=$RC e1=$(cat "$ERR")
ex d1 /etc/passwd
r2=$RC e2=$(cat "$ERR")
ex nosuchdomain $BB true
r3=$RC e3=$(cat "$ERR")
[ "$r1" = 127 ] && [ "$r2" = 126 ] && [ "$r3" = 125 ] && [[ $e3 == *"no such domain"* ]] && pass exit-statuses ||
	fail exit-statuses "not found: $r1 $e1; not executable: $r2 $e2; no domain: $r3 $e3"

# Signals to pdvm exec reach the process (its TERM handler runs).
"$PDVM" exec d1 $BB sh -c 'trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 0.1; done' \
	</dev/null >"$SCRATCH/sig.out" 2>&1 &
S=$!
BG_PIDS+=("$S")
wait_until 20 grep -q ready "$SCRATCH/sig.out"
kill -TERM "$S"
wait_until 20 eval '! kill -0 '"$S"' 2>/dev/null'
wait "$S"
sr=$?
[ "$sr" = 3 ] && grep -q got-term "$SCRATCH/sig.out" && pass signals-passed-on ||
	fail signals-passed-on "exit $sr: $(cat "$SCRATCH/sig.out")"

# A paused domain takes no new process (as runc); resumed, it does.
"$PDVM" pause d1
ex d1 $BB true
r1=$RC e1=$(cat "$ERR")
"$PDVM" resume d1
ex d1 $BB true
[ "$r1" = 125 ] && [[ $e1 == *paused* ]] && [ "$RC" = 0 ] && pass paused-refused ||
	fail paused-refused "paused: $r1 $e1; resumed: $RC $(cat "$ERR")"

# The domain's end ends its exec'd processes: their callers hear SIGKILL (137).
"$PDVM" exec d1 $BB sleep 100 </dev/null >/dev/null 2>"$SCRATCH/k.err" &
K=$!
BG_PIDS+=("$K")
wait_until 20 eval '{ ex d1 $BB sh -c "$BB ps -o args | grep -qx \"$BB sleep 100\""; [ "$RC" = 0 ]; }' ||
	fail ends-with-the-domain "the exec'd sleep never showed in ps"
"$PDVM" kill d1
wait_until 20 eval '! kill -0 '"$K"' 2>/dev/null'
wait "$K"
kr=$?
[ "$kr" = 137 ] && pass ends-with-the-domain || fail ends-with-the-domain "exit $kr: $(cat "$SCRATCH/k.err")"

ex --help
[ "$RC" = 0 ] && grep -q "Usage: pdvm exec" "$OUT" && { ex d1; [ "$RC" = 2 ]; } && pass help-and-usage ||
	fail help-and-usage "rc $RC"

finish

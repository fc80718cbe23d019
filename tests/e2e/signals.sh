#!/bin/bash
# signals.sh: signal semantics against native (tests/guest/dyn/sigtest.c), default actions, host signals forwarded to the domain (Ctrl-C; a blocked one wakes sigwaitinfo), and signal state across snapshot/restore.
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
DYN=$B/guest/dyn
need_file "$DYN/sigtest" "$DYN/sigsnap" "$GUEST/cpuprof" "$GUEST/rrsignals"

# ---- semantics: identical output, natively and in pdvm ----------------------------------------
compare sigtest -- "$DYN/sigtest"
compare default-action-sigterm --stderr -- "$DYN/sigtest" die
run_pdvm -- "$DYN/sigtest" die
if [ "$RC" = 143 ]; then pass "sigterm-exit-143"; else fail "sigterm-exit-143" "$(last_output)"; fi

# ---- host signals reach the domain ------------------------------------------------------------
"$PDVM" run -- "$DYN/sigtest" wait-int >"$SCRATCH/int.out" 2>"$SCRATCH/int.err" </dev/null &
P=$!
if wait_text "$SCRATCH/int.out" ready "$P"; then
	kill -INT "$P"
	for ((i = 0; i < 100; i++)); do kill -0 "$P" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$P" 2>/dev/null && kill -KILL "$P"
	wait "$P"
	RC=$?
	if [ "$RC" = 0 ] && grep -q '^got SIGINT code=0$' "$SCRATCH/int.out"; then
		pass "sigint-to-handler"
	else
		fail "sigint-to-handler" "exit $RC: $(cat "$SCRATCH/int.out" "$SCRATCH/int.err")"
	fi
else
	kill -KILL "$P" 2>/dev/null
	wait "$P"
	fail "sigint-to-handler" "the program never got ready: $(cat "$SCRATCH/int.out" "$SCRATCH/int.err")"
fi

# A program without handlers dies of the forwarded signal, as it would natively.
for s in INT TERM; do
	"$PDVM" run -- /bin/sleep 60 >/dev/null 2>"$SCRATCH/sleep.err" </dev/null &
	P=$!
	sleep 2
	kill -"$s" "$P"
	for ((i = 0; i < 100; i++)); do kill -0 "$P" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$P" 2>/dev/null && kill -KILL "$P"
	wait "$P"
	RC=$?
	want=$((128 + $(kill -l "$s")))
	if [ "$RC" = "$want" ]; then pass "sig$s-kills-sleep-$want"; else fail "sig$s-kills-sleep-$want" "exit $RC: $(cat "$SCRATCH/sleep.err")"; fi
done

# ---- timers, a pending signal and an altstack across snapshot/restore ---------------------------
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"
stop_restore timers-pending-altstack-restored 8 / -- "$DYN/sigsnap" 30
verdict timers-pending-altstack-restored

# Timers on CPU time go on firing after a restore (the threads' CPU clocks start anew:
# the image keeps the CPU time left).
stop_restore cpu-timers-restored 4 / -- "$GUEST/cpuprof" 30
verdict cpu-timers-restored

# A host signal the program blocks and waits for with sigwaitinfo wakes it (as Linux's
# real_blocked: the waited set is unblocked for the wait); SIGHUP ends a pause() first.
"$PDVM" run -- "$GUEST/rrsignals" >"$SCRATCH/hs.out" 2>&1 &
host_signals_rrsignals $! "$SCRATCH/hs.out"
hrc=$RC
if [ "$hrc" = 4 ] && grep -qx "sigwaitinfo 15 code 0" "$SCRATCH/hs.out"; then
	pass "sigwaitinfo-takes-blocked-host-signal"
else
	fail "sigwaitinfo-takes-blocked-host-signal" "exit $hrc: $(cat "$SCRATCH/hs.out")"
fi

finish

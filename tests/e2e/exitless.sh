#!/bin/bash
# exitless.sh: exitless system calls (vmm/exl.c): calls that cannot block are answered in the guest by the VMM's server thread, counted in the domain log; `--syscall-path exit` and the config key turn it off; signals hitting threads mid-call lose or double no call; pauses and a snapshot taken mid-call restore with every call counted once; threads scribbling on every slot of their process neither crash nor hang pdvm; exec'd processes get their own slots; registers and flags come back as Linux's sysret leaves them.
# timeout: 200
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/getpid_loop" "$GUEST/sig_storm" "$GUEST/seek_count" "$GUEST/exlscribble" "$GUEST/regsave" "$GUEST/mmstorm" "$GUEST/streamio"
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"

LOG=$SCRATCH/dom.log

# answered LOG: how many calls the domain's server answered in the guest (0 if none).
answered() {
	grep -o 'exitless: [0-9]* calls answered' "$1" 2>/dev/null | tail -n 1 | grep -o '[0-9]*' || echo 0
}

# The host's default: exitless on either backend (the entry code runs at CPL3 on a PVM host,
# at ring 0 under standard KVM).
"$PDVM" info >"$SCRATCH/info" 2>&1
if ! grep -q '^syscall path: *exitless' "$SCRATCH/info"; then
	fail info-says-syscall-path "$(cat "$SCRATCH/info")"
	finish
fi
pass info-says-syscall-path

# A raw getpid loop: calls answered in the guest, each with the right pid. (Nearly all of
# them on an idle host; a host whose CPUs are all busy leaves the server little time, and
# calls it does not take in 40 us go through the exit: the count says the path works, the
# bench says how fast.)
run_pdvm --log "$LOG" -- "$GUEST/getpid_loop" 3000
n=$(answered "$LOG")
if [ "$RC" = 0 ] && grep -q "syscall path: exitless" "$LOG" && [ "$n" -ge 100 ]; then
	pass exitless-answers-getpid
else
	fail exitless-answers-getpid "exit $RC, $n answered: $(last_output; tail -n 3 "$LOG")"
fi

# Off: by flag, and by the config key.
rm -f "$LOG"
run_pdvm --syscall-path exit --log "$LOG" -- "$GUEST/getpid_loop" 300
[ "$RC" = 0 ] && grep -q "syscall path: exit$" "$LOG" && ! grep -q "exitless:" "$LOG" &&
	pass exitless-off-by-flag || fail exitless-off-by-flag "exit $RC: $(tail -n 3 "$LOG")"
rm -f "$LOG"
printf 'program = "%s"\nargs = [ "300" ]\nsyscall_path = "exit"\nlog = "%s"\n' "$GUEST/getpid_loop" "$LOG" \
	>"$SCRATCH/exit.cfg"
timeout -k 5 60 "$PDVM" run "$SCRATCH/exit.cfg" </dev/null >"$OUT" 2>"$ERR"
RC=$?
[ "$RC" = 0 ] && grep -q "syscall path: exit$" "$LOG" && pass exitless-off-by-config ||
	fail exitless-off-by-config "exit $RC: $(last_output; tail -n 3 "$LOG")"
run_pdvm --syscall-path fast -- "$GUEST/getpid_loop" 10
[ "$RC" = 125 ] && grep -q "want auto, exitless or exit" "$ERR" && pass syscall-path-bad-value ||
	fail syscall-path-bad-value "$(last_output)"

# Signals from a 1 ms timer and tgkill hit threads looping on lseek(fd, 1, SEEK_CUR), a call
# the server answers: the file offset must equal the calls made (none lost, none run twice
# when a kick catches a thread inside its entry code) and every signal must be handled. How
# many the server answers varies (3% to 90% here: the storm holds the domain lock it needs),
# so the check is only that it answered some.
for nw in 1 2; do
	t=exitless-signal-storm$([ "$nw" = 1 ] || echo -threads)
	rm -f "$LOG"
	run_pdvm --log "$LOG" -- "$GUEST/sig_storm" "$nw" 1500 lseek
	n=$(answered "$LOG")
	[ "$RC" = 0 ] && ! grep -q '^not ok' "$OUT" && [ "$n" -ge 20 ] && pass "$t" ||
		fail "$t" "exit $RC, $n answered: $(grep '^not ok' "$OUT"; last_output)"
done

# Paused twenty times and then snapshotted mid-loop, the lseek counter restores and goes on:
# its count of calls and the file offset agree at the end.
t=exitless-pause-snapshot-restore
d=$SCRATCH/$t
domain_dir "$d"
WHY=""
start_run "$t" "$d/run.out" "$d/run.err" --writable "$d" --log "$d/run.log" -- "$GUEST/seek_count" "$d/stop"
pid=$BGPID
if wait_sock "$t" "$pid" && wait_lines "$d/run.out" 1 "$pid"; then
	for i in $(seq 20); do
		timeout 20 "$PDVM" pause "$t" >/dev/null 2>&1 && timeout 20 "$PDVM" resume "$t" >/dev/null 2>&1 ||
			{ WHY="pause/resume $i failed"; break; }
	done
	[ -n "$WHY" ] || { snap --stop "$t" "$d/img"; [ "$SRC" = 0 ] || WHY="snapshot failed: $(cat "$SERR")"; }
	wait_pid "$pid"
	if [ -z "$WHY" ]; then
		start_restore "$t" "$d/restore.out" "$d/restore.err" --writable "$d" "$d/img"
		rpid=$BGPID
		sleep 1
		touch "$d/stop"
		wait_pid "$rpid"
		[ "$WRC" = 0 ] && grep -q "equal" "$d/restore.out" ||
			WHY="restore exit $WRC: $(tails "$d/restore.out" "$d/restore.err")"
		n=$(answered "/var/log/pdvm/$t.log")   # the restored domain's log: the default place
		[ -n "$WHY" ] || [ "$n" -ge 100 ] || WHY="the restored domain answered $n calls in the guest"
	fi
else
	wait_pid "$pid"
	WHY="the program did not get going: $(tails "$d/run.out" "$d/run.err")"
fi
[ -n "$WHY" ] || echo "# $t: $(cat "$d/restore.out" | tail -n 1)"
verdict "$t"

# A second process whose vfork children had slots in its address space, snapshotted and
# restored: the restore takes over those pages (each address space at its first attach), and
# the next vfork child gets one of them (a slot the restore did not own was refused:
# "Cannot fork" after a migration).
t=exitless-restore-second-process-vforks
d=$SCRATCH/$t
mkdir -p "$d"
WHY=""
start_run "$t" "$d/run.out" "$d/run.err" -- /bin/sh -c '( i=0; while [ $i -lt 80 ]; do /bin/true; i=$((i+1)); echo $i; done ); exit 3'
pid=$BGPID
if wait_sock "$t" "$pid" && wait_lines "$d/run.out" 20 "$pid"; then
	snap --stop "$t" "$d/img"
	wait_pid "$pid"
	if [ "$SRC" = 0 ]; then
		restore_fg "$d/restore.out" "$d/restore.err" "$d/img"
		[ "$RRC" = 3 ] && [ "$(tail -n 1 "$d/restore.out")" = 80 ] ||
			WHY="restore exit $RRC (want 3): $(tails "$d/restore.out" "$d/restore.err")"
	else
		WHY="snapshot failed: $(cat "$SERR")"
	fi
else
	wait_pid "$pid"
	WHY="the program did not get going: $(tails "$d/run.out" "$d/run.err")"
fi
verdict "$t"

# Threads writing anything into every slot of their process (their calls' numbers, arguments,
# results and states), beside threads calling getpid: pdvm neither crashes nor hangs, and the
# program ends by itself.
rm -f "$LOG"
run_pdvm --log "$LOG" -- "$GUEST/exlscribble" 1500
[ "$RC" = 0 ] && grep -q "exlscribble: done" "$OUT" && ! grep -q "^pdvm:" "$ERR" && pass exitless-scribblers ||
	fail exitless-scribblers "exit $RC: $(last_output; tail -n 3 "$LOG")"

# Processes exec'd by a shell (fork, exec, vfork) get slots of their own.
rm -f "$LOG"
run_pdvm --log "$LOG" -- /bin/sh -c "$GUEST/getpid_loop 1000 && $GUEST/getpid_loop 1000 | cat && $GUEST/getpid_loop 1000"
n=$(answered "$LOG")
[ "$RC" = 0 ] && [ "$(grep -c 'getpid_loop: 1000 calls' "$OUT")" = 3 ] && [ "$n" -ge 100 ] && pass exitless-exec ||
	fail exitless-exec "exit $RC, $n answered: $(last_output)"

# Opens are answered in the guest, but not a FIFO's, which waits for its other end: the server
# sends it to the exit (it never blocks: a wait on the server thread is logged as a BUG), and
# the reader gets what a writer started later sends.
t=exitless-fifo-open-takes-the-exit
d=$SCRATCH/$t
domain_dir "$d"
rm -f "$LOG"
run_pdvm --cwd "$d" --writable "$d" --log "$LOG" -- /bin/busybox sh -c \
	'mkfifo f; for i in 1 2 3 4 5 6 7 8; do cat /etc/hostname >/dev/null; done; (sleep 0.3; echo through >f) & cat f; wait'
[ "$RC" = 0 ] && [ "$(cat "$OUT")" = through ] && ! grep -q "BUG" "$LOG" && [ "$(answered "$LOG")" -ge 20 ] &&
	pass "$t" || fail "$t" "exit $RC, $(answered "$LOG") answered: $(last_output; grep BUG "$LOG")"

# Threads map, fill, protect and unmap memory while the others do: mmap is answered in the
# guest (a shootdown then kicks its caller out of the entry code), the rest through the exit;
# pages read back what was written and a page taken away faults at once in its thread.
run_pdvm -- "$GUEST/mmstorm" 2 300
[ "$RC" = 0 ] && pass exitless-mmap-storm || fail exitless-mmap-storm "exit $RC: $(grep '^not ok' "$OUT"; last_output)"

# Pipes and sockets: non-blocking echo loops answered in the guest carry every byte; a
# blocking read that must wait, and MSG_WAITALL, go back to the exit and get what another
# thread writes later; a write to a pipe nobody reads has run its SIGPIPE handler when it
# returns EPIPE (the server holds the answer until the signal is delivered).
t=exitless-pipes-and-sockets
rm -f "$LOG"
run_pdvm --log "$LOG" -- "$GUEST/streamio" 3000
n=$(answered "$LOG")
[ "$RC" = 0 ] && [ "$n" -ge 100 ] && pass "$t" || fail "$t" "exit $RC, $n answered: $(grep '^not ok' "$OUT"; last_output)"

# A raw `syscall` leaves the registers as Linux's sysret does (every register but RAX RCX
# R11 kept, RCX the return address, R11 and RFLAGS the call's flags), answered in the guest
# or not, under every combination of the arithmetic flags and DF: natively first (the
# program's premise), then in a domain on each path.
t=exitless-registers-and-flags
WHY=""
"$GUEST/regsave" 2 >"$OUT" 2>&1 || WHY="natively: $(last_output)"
if [ -z "$WHY" ]; then
	rm -f "$LOG"
	run_pdvm --log "$LOG" -- "$GUEST/regsave" 4
	n=$(answered "$LOG")
	[ "$RC" = 0 ] || WHY="exitless: exit $RC: $(grep '^not ok' "$OUT"; last_output)"
	[ -n "$WHY" ] || [ "$n" -ge 100 ] || WHY="only $n calls answered in the guest"
fi
if [ -z "$WHY" ]; then
	run_pdvm --syscall-path exit -- "$GUEST/regsave" 1
	[ "$RC" = 0 ] || WHY="exit path: exit $RC: $(grep '^not ok' "$OUT"; last_output)"
fi
verdict "$t"

finish

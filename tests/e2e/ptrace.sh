#!/bin/bash
# ptrace.sh: tracing inside a domain — strace -f as it runs natively, and a snapshot refused while a process is traced (the tracer program tests/guest/ptrace.c runs in guest_programs.sh), hostile requests.
# timeout: 240
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/ptrace" /usr/bin/strace
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"

# strace: its start-up probes (SEIZE, TRACEME, GET_SYSCALL_INFO), the seized child's
# stops (group stop, INTERRUPT, SIGCONT), syscall stops and the exit.
compare strace-echo --stderr -- /usr/bin/strace -f -e trace=write /bin/echo hi

# strace -f through a shell's children: auto-attached, their exits reported to the tracer
# before the shell's wait sees them (the shell runs one child at a time: the lines come in
# one order). Pids and addresses differ from run to run: they go.
norm() { sed -E 's/0x[0-9a-f]+/ADDR/g; s/[0-9]{3,}/N/g' "$1"; }
run_native -- /usr/bin/strace -f -qq -e trace=execve,exit_group -e signal=none \
	/bin/sh -c '/bin/echo a; /bin/echo b'
nrc=$RC
norm "$ERR" >"$SCRATCH/strace-f.native"
run_pdvm -- /usr/bin/strace -f -qq -e trace=execve,exit_group -e signal=none \
	/bin/sh -c '/bin/echo a; /bin/echo b'
norm "$ERR" >"$SCRATCH/strace-f.pdvm"
if [ "$nrc" = "$RC" ] && cmp -s "$SCRATCH/strace-f.native" "$SCRATCH/strace-f.pdvm"; then
	pass strace-follow-forks
else
	fail strace-follow-forks "exit native $nrc, pdvm $RC
$(diff "$SCRATCH/strace-f.native" "$SCRATCH/strace-f.pdvm" | head -n 20)"
fi

# gdb attaching to a running process by pid: it finds the threads by listing
# /proc/PID/task and reads memory through /proc/PID/mem; all three threads of the
# python3 process are listed with their stacks.
if [ -x /usr/bin/gdb ]; then
	run_pdvm -- /bin/sh -c '/usr/bin/python3 -c "import os, threading, time
[threading.Thread(target=time.sleep, args=(60,), daemon=True).start() for i in range(2)]
print(os.getpid(), flush=True); time.sleep(60)" | { read p; /usr/bin/gdb -nx -q -batch -p $p -ex "info threads" 2>&1; kill $p; }'
	n=$(grep -cE '^[* ] +[0-9]+ +Thread .*clock_nanosleep' "$OUT")
	if [ "$n" = 3 ]; then pass gdb-attach-threads; else fail gdb-attach-threads "$n threads listed
$(last_output)"; fi
else
	skip gdb-attach-threads "no /usr/bin/gdb"
fi

# Hostile requests at a stopped tracee: every answer a Linux errno, the VMM alive.
run_pdvm -- "$GUEST/ptrace" fuzz 20000
if [ "$RC" = 0 ] && grep -q "^fuzz: 20000 requests, 0 not an errno, the tracee killed$" "$OUT"; then
	pass ptrace-hostile-requests
else
	fail ptrace-hostile-requests "$(last_output)"
fi

# A snapshot while strace holds a tracee is refused, saying why; the domain runs on.
start_run ptsnap "$SCRATCH/snap.out" "$SCRATCH/snap.err" -- /usr/bin/strace -e trace=none /bin/sleep 3
pid=$BGPID
if wait_sock ptsnap "$pid"; then
	sleep 0.5
	snap ptsnap "$SCRATCH/img"
	src=$SRC
	wait_pid "$pid" 30
	if [ "$src" != 0 ] && grep -q "traced (ptrace)" "$SERR" && [ "$WRC" = 0 ]; then
		pass snapshot-refused-while-traced
	else
		fail snapshot-refused-while-traced "snapshot exit $src, run exit $WRC
$(tails "$SERR" "$SCRATCH/snap.err")"
	fi
else
	fail snapshot-refused-while-traced "no control socket
$(tails "$SCRATCH/snap.err")"
fi

finish

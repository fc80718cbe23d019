#!/bin/bash
# guest_programs.sh: runs each guest test program (tests/guest/*.c) in pdvm: the check programs must exit 0, the fault programs must die with the right signal and say where.
# timeout: 480
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/hello" "$GUEST/misc" "$GUEST/sched" "$GUEST/jobctl" "$GUEST/fscalls" "$GUEST/privcalls" "$GUEST/ipcnames" "$GUEST/pty" "$GUEST/cputimer" "$GUEST/execstorm" \
	"$GUEST/xattr" "$GUEST/splice" "$GUEST/memfd" "$GUEST/pidfd" "$GUEST/execat" "$GUEST/rseq" "$GUEST/fileio" "$GUEST/threads" "$GUEST/futex" "$GUEST/remap" \
	"$GUEST/bigmem" "$GUEST/fault_segv" "$GUEST/fault_fpe" "$GUEST/fault_ill"

# expect_ok NAME PDVM-OPTS... -- PROG ARGS...: exit 0 and a clean TAP summary.
expect_ok() {
	local name=$1
	shift
	run_pdvm "$@"
	if [ "$RC" = 0 ] && ! grep -q '^not ok' "$OUT"; then
		pass "$name"
	else
		fail "$name" "$(grep '^not ok' "$OUT" | head -n 10)
$(last_output)"
	fi
}

run_pdvm -- "$GUEST/hello" a b
if [ "$RC" = 0 ] && grep -q "^hello from $GUEST/hello\$" "$OUT"; then pass hello; else fail hello "$(last_output)"; fi

expect_ok misc -- "$GUEST/misc"

# Scheduling calls as an unprivileged process sees them, line by line against native.
compare sched -- "$GUEST/sched"

# A pty pair from the host's devpts (grantpt and ptsname need TIOCGPTN).
compare pty -- "$GUEST/pty"

# Timers on CPU time: ITIMER_PROF, ITIMER_VIRTUAL, a thread's CPU clock (Go's profiler).
compare cputimer -- "$GUEST/cputimer"

# Job control as a parent sees it: stops and continues of children, the wait statuses and
# siginfo they report, SIGCHLD's codes, /proc/PID's state, line by line against native.
compare jobctl -- "$GUEST/jobctl"

# mknod, chroot, sync and mincore likewise, each run in a writable directory of its own.
FN=$SCRATCH/fscalls-native FP=$SCRATCH/fscalls-pdvm
domain_dir "$FN" "$FP"
run_native -- "$GUEST/fscalls" "$FN"
cp "$OUT" "$SCRATCH/fscalls.nout"
nrc=$RC
run_pdvm --writable "$FP" -- "$GUEST/fscalls" "$FP"
if [ "$RC" = 0 ] && [ "$nrc" = 0 ] && cmp -s "$SCRATCH/fscalls.nout" "$OUT"; then
	pass fscalls
else
	fail fscalls "native exit $nrc, pdvm exit $RC
$(diff "$SCRATCH/fscalls.nout" "$OUT" | head -n 12)
$(last_output)"
fi

# FIFOs opened from two threads, UNIX datagram source paths, route netlink.
FN=$SCRATCH/ipc-native FP=$SCRATCH/ipc-pdvm
domain_dir "$FN" "$FP"
run_native -- "$GUEST/ipcnames" "$FN"
cp "$OUT" "$SCRATCH/ipcnames.nout"
nrc=$RC
run_pdvm --writable "$FP" -- "$GUEST/ipcnames" "$FP"
if [ "$RC" = 0 ] && [ "$nrc" = 0 ] && cmp -s "$SCRATCH/ipcnames.nout" "$OUT"; then
	pass ipcnames
else
	fail ipcnames "native exit $nrc, pdvm exit $RC
$(diff "$SCRATCH/ipcnames.nout" "$OUT" | head -n 12)
$(last_output)"
fi

# Privileged and meaningless calls (vmm/sys_priv.c), line by line against native; then what
# a domain refuses though Linux lets an unprivileged process do it (ptrace TRACEME, a user
# namespace), and the log: one line per refused call, however often it is made.
compare privcalls -- "$GUEST/privcalls"
PLOG=$SCRATCH/privcalls.log
expect_ok privcalls-domain -- "$GUEST/privcalls" domain
run_pdvm --log "$PLOG" -- "$GUEST/privcalls"
if [ "$RC" = 0 ] && [ "$(grep -c 'reboot: refused, EPERM (no CAP_SYS_BOOT' "$PLOG")" = 1 ] &&
	grep -q 'nfsservctl: absent, ENOSYS' "$PLOG" && ! grep -q 'unsupported syscall 180' "$PLOG" &&
	[ "$(grep -c 'refused, ' "$PLOG")" = "$(grep 'refused, ' "$PLOG" | cut -d' ' -f2 | sort -u | wc -l)" ]; then
	pass privcalls-logged-once
else
	fail privcalls-logged-once "exit $RC
$(grep -E 'refused|absent|unsupported' "$PLOG" | head -n 20)"
fi

# compare_in_dir NAME: as fscalls, tests/guest/NAME run natively and in a domain, each in a
# writable directory of its own, its output compared line by line.
compare_in_dir() {
	local name=$1 dn=$SCRATCH/$1-native dp=$SCRATCH/$1-pdvm nrc
	domain_dir "$dn" "$dp"
	run_native -- "$GUEST/$name" "$dn"
	cp "$OUT" "$SCRATCH/$name.nout"
	nrc=$RC
	run_pdvm --writable "$dp" -- "$GUEST/$name" "$dp"
	if [ "$RC" = 0 ] && [ "$nrc" = 0 ] && cmp -s "$SCRATCH/$name.nout" "$OUT"; then
		pass "$name"
	else
		fail "$name" "native exit $nrc, pdvm exit $RC
$(diff "$SCRATCH/$name.nout" "$OUT" | head -n 12)
$(last_output)"
	fi
}

# Extended attributes: reads, writes in the writable tree, the errors.
compare_in_dir xattr
# copy_file_range, splice, tee and vmsplice: files, pipes, sockets, waits, the errors.
compare_in_dir splice
# memfd_create, seals, shared mappings of a memfd, /proc/self/fd.
compare_in_dir memfd
# pidfd_open, pidfd_send_signal, waitid(P_PIDFD): readiness, zombies, scopes, the errors.
compare_in_dir pidfd
# execveat: a directory fd, AT_EMPTY_PATH (a memfd, an O_PATH fd, a script), what the program sees.
compare_in_dir execat

# rseq: its argument checks as Linux's (natively with glibc's own registration off); a valid
# registration is refused (EPERM: pdvm cannot abort critical sections on host preemption), the
# reason logged once however many threads ask.
compare rseq --env GLIBC_TUNABLES=glibc.pthread.rseq=0 -- "$GUEST/rseq"
run_pdvm --log "$SCRATCH/rseq.log" -- "$GUEST/rseq"
if [ "$RC" = 0 ] && grep -q '^register: EPERM$' "$ERR" && grep -q '^again: EPERM$' "$ERR" &&
	[ "$(grep -c 'rseq: refused, EPERM (pdvm cannot see the host preempt' "$SCRATCH/rseq.log")" = 1 ]; then
	pass rseq-refused-logged-once
else
	fail rseq-refused-logged-once "$(last_output)
$(grep rseq "$SCRATCH/rseq.log")"
fi

W=$SCRATCH/fileio
domain_dir "$W"
expect_ok fileio --writable "$W" --cwd "$W" -- "$GUEST/fileio" "$W"

expect_ok threads -- "$GUEST/threads"

# Execs that kill threads in the middle of their traps, each followed by new threads
# on those threads' vCPUs: a #PF left queued at LSTAR killed them at their first
# instruction (3 runs of 200 execs in 3 on an Intel PVM host). PDVM_FAULT=pool-event queues an
# exception on every vCPU that goes back to the pool, so the condition is certain.
export PDVM_FAULT=pool-event
expect_ok execstorm -- "$GUEST/execstorm" 5
unset PDVM_FAULT
expect_ok futex -- "$GUEST/futex"
# Kicks landing as system calls trap: none lost, doubled, or left pending.
expect_ok signal-storm-during-syscalls -- "$GUEST/sig_storm" 1 1500

REMAP_ITERS=${REMAP_ITERS:-20000}
expect_ok remap -- "$GUEST/remap" "$REMAP_ITERS"
if [ "$RC" = 0 ] && ! grep -q "^remap: $REMAP_ITERS iterations done" "$OUT"; then
	fail "remap-iteration-count" "$(last_output)"
fi

expect_ok bigmem-1GiB --memory 1536M -- "$GUEST/bigmem" 1024

# A program that wants more than its domain has must fail cleanly (ENOMEM from mmap), not crash the VMM.
run_pdvm --memory 256M -- "$GUEST/bigmem" 1024
if [ "$RC" -ge 1 ] && [ "$RC" -le 127 ] && grep -q 'not ok .* mmap 1024 MiB' "$OUT"; then
	pass "bigmem-over-limit-gets-ENOMEM"
else
	fail "bigmem-over-limit-gets-ENOMEM" "$(last_output)"
fi

# ---- faults: exit 128+signal, one line on stderr naming the signal, the address and RIP ----------
# main's [start, end) from the symbol table: the faulting RIP must be inside it.
main_range() {
	# (a pipeline, not process substitution: the nested VM has no /dev/fd)
	nm -S "$1" 2>/dev/null | while read -r addr size type sym; do
		if [ "$sym" = main ] && [ -n "$type" ]; then
			echo "$((16#$addr)) $((16#$addr + 16#$size))"
			break
		fi
	done
}

# rip_in_main FILE PROG: some hex number after "rip" in FILE lies inside PROG's main.
rip_in_main() {
	local range start end hex
	range=$(main_range "$2")
	[ -n "$range" ] || return 1
	read -r start end <<<"$range"
	for hex in $(grep -oiE 'rip[^0-9a-z]*(0x)?[0-9a-f]+' "$1" | grep -oiE '[0-9a-f]+$'); do
		local v=$((16#$hex))
		if [ "$v" -ge "$start" ] && [ "$v" -lt "$end" ]; then return 0; fi
	done
	return 1
}

# expect_fault NAME PROG STATUS SIGNAME [ADDRESS-REGEX]
expect_fault() {
	local name=$1 prog=$2 want=$3 sig=$4 addr=${5:-}
	run_pdvm -- "$prog"
	local why=""
	[ "$RC" = "$want" ] || why="exit status $RC, want $want"
	grep -q "$sig" "$ERR" || why="${why:+$why; }stderr does not name $sig"
	rip_in_main "$ERR" "$prog" || why="${why:+$why; }stderr has no RIP inside main ($(main_range "$prog"))"
	if [ -n "$addr" ] && ! grep -qiE "$addr" "$ERR"; then
		why="${why:+$why; }stderr does not show the address ($addr)"
	fi
	grep -q "^about to" "$OUT" || why="${why:+$why; }output before the fault was lost"
	if [ -z "$why" ]; then pass "$name"; else fail "$name" "$why
$(last_output)"; fi
}

expect_fault fault-segv "$GUEST/fault_segv" 139 SIGSEGV '(^|[^0-9a-fx])(0x)?0*1000([^0-9a-f]|$)'
expect_fault fault-fpe "$GUEST/fault_fpe" 136 SIGFPE
expect_fault fault-ill "$GUEST/fault_ill" 132 SIGILL

finish

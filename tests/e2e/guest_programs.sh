#!/bin/bash
# guest_programs.sh: runs each guest test program (tests/guest/*.c) in pdvm: the check programs must exit 0, the fault programs must die with the right signal and say where.
# timeout: 480
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/hello" "$GUEST/misc" "$GUEST/sched" "$GUEST/jobctl" "$GUEST/fscalls" "$GUEST/posixlock" "$GUEST/deepcwd" "$GUEST/threadfs" "$GUEST/scmcred" "$GUEST/privcalls" "$GUEST/ipcnames" "$GUEST/pty" "$GUEST/cputimer" "$GUEST/epolldup" "$GUEST/execstorm" "$GUEST/ptrace" "$GUEST/procmem" \
	"$GUEST/xattr" "$GUEST/splice" "$GUEST/memfd" "$GUEST/filemaps" "$GUEST/pidfd" "$GUEST/execat" "$GUEST/rseq" "$GUEST/fileio" "$GUEST/threads" "$GUEST/futex" "$GUEST/remap" \
	"$GUEST/bigmem" "$GUEST/pagecache" "$GUEST/ratewriter" "$GUEST/fault_segv" "$GUEST/fault_fpe" "$GUEST/fault_ill"

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
compare clone3 -- "$GUEST/clone3"

# A pty pair from the host's devpts (grantpt and ptsname need TIOCGPTN).
compare pty -- "$GUEST/pty"

# Timers on CPU time: ITIMER_PROF, ITIMER_VIRTUAL, a thread's CPU clock (Go's profiler).
compare cputimer -- "$GUEST/cputimer"

# epoll registrations by description and fd: a dup registers again (Go's FileListener,
# os/exec's ExtraFiles), and a description's registrations go with it.
compare epolldup -- "$GUEST/epolldup"

# Job control as a parent sees it: stops and continues of children, the wait statuses and
# siginfo they report, SIGCHLD's codes, /proc/PID's state, line by line against native.
compare jobctl -- "$GUEST/jobctl"

# ptrace between the domain's processes: TRACEME and exec, syscall stops (counted, one
# changed), PEEK/POKE (int3 into read-only text), registers, single steps, signals
# suppressed and injected, DETACH, SEIZE/INTERRUPT and fork following, against native.
compare ptrace -- "$GUEST/ptrace"

# /proc/PID/mem, gdb's way into the inferior: pread/pwrite at addresses, the file
# position, a write into read-only data, EIO and short counts at unmapped pages,
# ENODEV for mmap, a child's memory read and written, nothing once it is reaped.
compare procmem -- "$GUEST/procmem"

# compare_writable NAME PROG: PROG DIR run natively and in a domain, each in a writable
# directory of its own, line by line.
compare_writable() {
	local name=$1 prog=$2 fn=$SCRATCH/$1-native fp=$SCRATCH/$1-pdvm nrc
	domain_dir "$fn" "$fp"
	run_native -- "$prog" "$fn"
	cp "$OUT" "$SCRATCH/$name.nout"
	nrc=$RC
	run_pdvm --writable "$fp" -- "$prog" "$fp"
	if [ "$RC" = 0 ] && [ "$nrc" = 0 ] && cmp -s "$SCRATCH/$name.nout" "$OUT"; then
		pass "$name"
	else
		fail "$name" "native exit $nrc, pdvm exit $RC
$(diff "$SCRATCH/$name.nout" "$OUT" | head -n 12)
$(last_output)"
	fi
}

# mknod, chroot, sync and mincore likewise.
compare_writable fscalls "$GUEST/fscalls"

# MAP_SHARED file mappings as one page cache: two mappings and two unrelated processes see
# each other, read/write/copy_file_range/sendfile/truncate agree with the mappings, msync,
# partial munmap, mremap, and 20,000 mappings of one page.
compare_writable pagecache "$GUEST/pagecache"

# FIFOs opened from two threads, UNIX datagram source paths, route netlink.
compare_writable ipcnames "$GUEST/ipcnames"

# POSIX record locks between a parent and its children.
compare_writable posixlock "$GUEST/posixlock"

# A working directory and directory fds deeper than PATH_MAX: relative lookups from them,
# getcwd's ENAMETOOLONG, walking back with "..", removing the tree.
compare_writable deepcwd "$GUEST/deepcwd"

# A thread's own working directory and umask: unshare(CLONE_FS), threads made with and
# without CLONE_FS, fork from such a thread, /proc/self/cwd against /proc/thread-self/cwd.
compare_writable threadfs "$GUEST/threadfs"

# SCM_CREDENTIALS and SO_PEERCRED between a parent and its child (a path socket in the directory).
compare_writable scmcred "$GUEST/scmcred"

# lock_interop native|pdvm DIR OUT: the domain's locks as another host process sees them
# (F_GETLK: a holder of pid > 0, the union of the domain's locks even after a close of
# another fd of the file), and a lock of that process's that the program sees and waits for.
lock_interop() {
	local mode=$1 dir=$2 out=$3 pid i
	domain_dir "$dir"
	if [ "$mode" = native ]; then
		setpriv --reuid="$DOMAIN_USER" --regid="$DOMAIN_USER" --clear-groups -- \
			"$GUEST/posixlock" "$dir" interop >"$out.prog" 2>&1 &
	else
		timeout -k 5 "$PDVM_TIMEOUT" "$PDVM" run --writable "$dir" -- \
			"$GUEST/posixlock" "$dir" interop >"$out.prog" 2>&1 &
	fi
	pid=$!
	for ((i = 0; i < 200; i++)); do
		grep -q '^ready' "$out.prog" && break
		sleep 0.05
	done
	python3 - "$dir/lockfile" >"$out.host" 2>&1 <<'EOF'
import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fmt = "hhxxxxqqixxxx"  # struct flock on x86-64
names = {fcntl.F_RDLCK: "read", fcntl.F_WRLCK: "write", fcntl.F_UNLCK: "unlocked"}
for start, length in ((0, 1), (9, 1), (10, 1), (100, 1), (150, 1), (199, 1), (200, 1), (249, 1), (0, 0)):
    b = fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack(fmt, fcntl.F_WRLCK, 0, start, length, 0))
    t, _, s, l, p = struct.unpack(fmt, b)
    held = "" if t == fcntl.F_UNLCK else " pid>0" if p > 0 else " pid %d" % p
    print("host: getlk write %d len %d: %s %d %d%s" % (start, length, names[t], s, l, held))
fcntl.fcntl(fd, fcntl.F_SETLK, struct.pack(fmt, fcntl.F_WRLCK, 0, 300, 10, 0))
with open(sys.argv[1] + ".holder", "w") as f:
    f.write("%d\n" % os.getpid())
open(os.path.join(os.path.dirname(sys.argv[1]), "go"), "w").close()
time.sleep(0.3)
os.close(fd)
EOF
	wait "$pid"
	echo "exit $?" >>"$out.prog"
	# A holder outside a domain reads as pid 0 in it (as on Linux for a holder outside
	# the caller's pid namespace); natively it is that process's pid.
	sed -i "s/ pid $(cat "$dir/lockfile.holder" 2>/dev/null || echo none) / pid 0 /" "$out.prog"
}
lock_interop native "$SCRATCH/interop-native" "$SCRATCH/interop.n"
lock_interop pdvm "$SCRATCH/interop-pdvm" "$SCRATCH/interop.p"
if cmp -s "$SCRATCH/interop.n.prog" "$SCRATCH/interop.p.prog" &&
	cmp -s "$SCRATCH/interop.n.host" "$SCRATCH/interop.p.host"; then
	pass posixlock-host-interop
else
	fail posixlock-host-interop "$(diff "$SCRATCH/interop.n.host" "$SCRATCH/interop.p.host" | head -n 12)
$(diff "$SCRATCH/interop.n.prog" "$SCRATCH/interop.p.prog" | head -n 12)"
fi

# Privileged and meaningless calls (vmm/sys_priv.c), line by line against native; then what
# a domain refuses though Linux lets an unprivileged process do it (a user
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

# Extended attributes: reads, writes in the writable tree, the errors.
compare_writable xattr "$GUEST/xattr"
# copy_file_range, splice, tee and vmsplice: files, pipes, sockets, waits, the errors.
compare_writable splice "$GUEST/splice"
# memfd_create, seals, shared mappings of a memfd, /proc/self/fd.
compare_writable memfd "$GUEST/memfd"

# /proc/self/maps of file mappings (private, shared, split by munmap, mprotect and MAP_FIXED,
# moved by mremap, deleted, a memfd), a child's, and the program's own segments.
compare_writable filemaps "$GUEST/filemaps"
# pidfd_open, pidfd_send_signal, waitid(P_PIDFD): readiness, zombies, scopes, the errors.
compare_writable pidfd "$GUEST/pidfd"
# execveat: a directory fd, AT_EMPTY_PATH (a memfd, an O_PATH fd, a script), what the program sees.
compare_writable execat "$GUEST/execat"

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

# make bench's migration writer: once it is ready, half a second of writes paced at 50 MB/s (1 ms slices on the
# domain's clock; never ahead of the pace), then every page holds its last write and the rest its sum.
RW=$SCRATCH/ratewriter
domain_dir "$RW"
: >"$OUT"
(for _ in $(seq 200); do grep -q '^ready' "$OUT" 2>/dev/null && break; sleep 0.1; done; sleep 0.5; touch "$RW/stop") &
rwpid=$!
run_pdvm --memory 256M -- "$GUEST/ratewriter" 32 50 "$RW/stop"
wait "$rwpid"
rate=$(sed -n 's/^wrote [1-9][0-9]* pages in [0-9]* ms: \([0-9.]*\) MB\/s.*/\1/p' "$OUT")
if [ "$RC" = 0 ] && grep -qx consistent "$OUT" && awk -v r="${rate:-0}" 'BEGIN { exit !(r >= 10 && r <= 51) }'; then
	pass ratewriter
else
	fail ratewriter "rate ${rate:-none}
$(last_output)"
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

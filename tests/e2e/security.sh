#!/bin/bash
# security.sh: holes a hostile guest tried (issue 15), each attempt answered as Linux answers an unprivileged process, checked against a native run of the same program.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/holes" "$GUEST/ticker" /usr/bin/python3
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"

# A sanitizer build leaves pdvm's own threads unfiltered (LeakSanitizer's exit needs a
# non-thread clone and ptrace: vmm/vfilter.c); its vCPU threads are filtered as always.
SANITIZED=""
ldd "$PDVM" 2>/dev/null | grep -q 'libasan\|libubsan' && SANITIZED=1

# listen_unix PATH: a host process listening on UNIX socket PATH (ended at exit), open to
# every user as a service for others is (a domain connects as its unprivileged user).
listen_unix() {
	/usr/bin/python3 -c 'import os, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666); s.listen(8); time.sleep(120)' "$1" &
	BGPIDS+=("$!")
	for _ in $(seq 50); do [ -S "$1" ] && return 0; sleep 0.1; done
	return 1
}

# clone(2) with a kernel-half TLS base: EPERM for a thread and for a new process.
run_native -- "$GUEST/holes" clone-tls
NRC=$RC
run_pdvm -- "$GUEST/holes" clone-tls
if [ "$NRC" = 0 ] && [ "$RC" = 0 ] && ! grep -q '^not ok' "$OUT"; then
	pass "clone-kernel-tls-eperm"
else
	fail "clone-kernel-tls-eperm" "native exit $NRC; $(last_output)"
fi

# rt_sigreturn to a non-canonical RIP: the program dies of SIGSEGV (139), not pdvm (125).
run_native -- "$GUEST/holes" sigreturn-rip
NRC=$RC
run_pdvm -- "$GUEST/holes" sigreturn-rip
if [ "$NRC" = 139 ] && [ "$RC" = 139 ]; then
	pass "sigreturn-noncanonical-rip-sigsegv"
else
	fail "sigreturn-noncanonical-rip-sigsegv" "native exit $NRC; $(last_output)"
fi
# Sockets: the oracle is Linux itself, the same program as the domain's unprivileged user.
if command -v setpriv >/dev/null; then
	run_native -- "$GUEST/holes" sockets
	NRC=$RC
	cp "$OUT" "$SCRATCH/sockets.native"
	run_pdvm -- "$GUEST/holes" sockets
	if [ "$NRC" = 0 ] && [ "$RC" = 0 ] && ! grep -q '^not ok' "$OUT"; then
		pass "sockets-as-unprivileged"
	else
		fail "sockets-as-unprivileged" "native (nobody): exit $NRC $(grep '^not ok' "$SCRATCH/sockets.native")
$(grep '^not ok' "$OUT"); $(last_output)"
	fi
else
	skip "sockets-as-unprivileged" "no setpriv for the native oracle"
fi

# UNIX socket paths resolve wholly inside the root: a final symlink to a host socket
# outside leads nowhere (ENOENT, as in a chroot), one to a socket inside still works.
R=$SCRATCH/root
mkdir -p "$R/bin"
cp "$GUEST/holes" "$R/bin/holes"
if listen_unix "$SCRATCH/outside.sock" && listen_unix "$R/in.sock"; then
	ln -s "$SCRATCH/outside.sock" "$R/evil.sock"
	ln -s /in.sock "$R/link.sock"
	run_pdvm --root "$R" --cwd / -- /bin/holes unix-connect /evil.sock
	out=$(grep '^connect:' "$OUT")
	run_pdvm --root "$R" --cwd / -- /bin/holes unix-connect /link.sock
	if [ "$out" = "connect: ENOENT" ] && grep -qx "connect: OK" "$OUT"; then
		pass "unix-connect-symlink-stays-in-root"
	else
		fail "unix-connect-symlink-stays-in-root" "through /evil.sock: $out; through /link.sock: $(last_output)"
	fi
else
	fail "unix-connect-symlink-stays-in-root" "the host listeners did not start"
fi

# Abstract UNIX names of the host (X11, D-Bus ...) have no permissions to stop anyone: in the
# host's network a domain reaches only those its own sockets hold, unless the operator says
# --abstract-unix host. Unreachable looks unbound: ECONNREFUSED.
ABS=pdvm-e2e-abstract-$$
/usr/bin/python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind("\0" + sys.argv[1]); s.listen(8); time.sleep(120)' "$ABS" &
BGPIDS+=("$!")
for _ in $(seq 50); do grep -q "@$ABS\$" /proc/net/unix && break; sleep 0.1; done
run_pdvm -- "$GUEST/holes" unix-connect "@$ABS"
own=$(cat "$OUT")
run_pdvm --abstract-unix host -- "$GUEST/holes" unix-connect "@$ABS"
host=$(grep '^connect:' "$OUT")
run_pdvm -- "$GUEST/holes" abstract-self "$ABS-own"
if [ "$(grep '^connect:' <<<"$own")" = "connect: ECONNREFUSED" ] && [ "$host" = "connect: OK" ] && [ "$RC" = 0 ] &&
   [ "$(grep '^connect:' "$OUT" | tr '\n' ' ')" = "connect: OK connect: ECONNREFUSED " ]; then
	pass "host-abstract-unix-unreachable"
else
	fail "host-abstract-unix-unreachable" "default: $own; --abstract-unix host: $host; own name: $(last_output)"
fi

# pdvm's control sockets are out of reach even with the host's / as root: EACCES, as for
# an unprivileged process in root's private directory.
: >"$SCRATCH/victim.out"
start_run victim "$SCRATCH/victim.out" "$SCRATCH/victim.err" -- "$GUEST/ticker" 1000 50
vpid=$BGPID
if wait_sock victim "$vpid"; then
	run_pdvm -- "$GUEST/holes" unix-connect "$PDVM_RUN_DIR/victim.sock"
	if grep -qx "connect: EACCES" "$OUT" && kill -0 "$vpid" 2>/dev/null; then
		pass "control-socket-unreachable"
	else
		fail "control-socket-unreachable" "$(last_output)"
	fi
	# The victim's pdvm (start_run's pid is its timeout wrapper's).
	dpid=$(pgrep -P "$vpid" -x pdvm | head -n1)
	# Every thread of its pdvm runs under seccomp (host view): the vCPU thread with two
	# filters (pdvm's and its own), the others with pdvm's.
	filtered=0 threads=0 vcpu=0
	for s in /proc/"$dpid"/task/*/status; do
		threads=$((threads + 1))
		grep -q '^Seccomp:[[:space:]]*2' "$s" 2>/dev/null && filtered=$((filtered + 1))
		grep -q '^Seccomp_filters:[[:space:]]*2' "$s" 2>/dev/null && vcpu=$((vcpu + 1))
	done
	if [ -n "$SANITIZED" ]; then
		if [ -n "$dpid" ] && [ "$filtered" -ge 1 ]; then
			pass "vcpu-threads-under-seccomp-sanitized"
		else
			fail "vcpu-threads-under-seccomp-sanitized" "pdvm pid '$dpid': $filtered of $threads threads filtered"
		fi
	elif [ -n "$dpid" ] && [ "$threads" -ge 3 ] && [ "$filtered" = "$threads" ] && [ "$vcpu" -ge 1 ]; then
		pass "every-pdvm-thread-under-seccomp"
	else
		fail "every-pdvm-thread-under-seccomp" "pdvm pid '$dpid': $filtered of $threads threads filtered, $vcpu with two filters"
	fi
	# The other domain's pdvm, by its host pid: a real SIGKILL, PTRACE_ATTACH, and
	# /proc/PID/mem, environ, fd/0. As root, the /proc opens all worked.
	run_pdvm -- "$GUEST/holes" reach "${dpid:-$vpid}"
	if [ -n "$dpid" ] && [ "$RC" = 0 ] && [ "$(grep -c ': ' "$OUT")" = 5 ] && ! grep -q ': OK$' "$OUT" &&
	   kill -0 "$dpid" 2>/dev/null; then
		pass "other-domain-unreachable"
	else
		fail "other-domain-unreachable" "victim pdvm '$dpid' alive: $(kill -0 "$dpid" 2>/dev/null && echo yes || echo no); $(last_output)"
	fi
else
	fail "control-socket-unreachable" "the victim domain did not start: $(tails "$SCRATCH/victim.err")"
fi
"$PDVM" kill victim >/dev/null 2>&1
wait_pid "$vpid" 20

# Least privilege: the default identity is the unprivileged account, for every host
# call the guest makes, and the guest is told so; root is an explicit opt-in.
run_pdvm -- /bin/cat /etc/shadow
if [ "$RC" != 0 ] && grep -q "Permission denied" "$ERR"; then
	pass "default-user-cannot-read-shadow"
else
	fail "default-user-cannot-read-shadow" "exit $RC; $(last_output)"
fi
uid=$(id -u pdvm) gid=$(id -g pdvm)
want=$(printf 'Uid:\t%s\t%s\t%s\t%s\nGid:\t%s\t%s\t%s\t%s\nCapPrm:\t%016x\nCapEff:\t%016x' \
	"$uid" "$uid" "$uid" "$uid" "$gid" "$gid" "$gid" "$gid" 0 0)
run_pdvm -- /bin/grep -E '^(Uid|Gid|CapPrm|CapEff):' /proc/self/status
status=$(cat "$OUT")
run_pdvm -- /usr/bin/id
did=$(cat "$OUT")
run_native -- /usr/bin/id
if [ "$status" = "$want" ] && [ -n "$did" ] && [ "$did" = "$(cat "$OUT")" ]; then
	pass "proc-status-tells-the-identity"
else
	fail "proc-status-tells-the-identity" "status: $status (want $want); id: $did; natively as pdvm: $(cat "$OUT")"
fi
# The guest's own set*id calls get what an unprivileged process gets: its own ids are fine,
# others and setgroups are EPERM (they were ENOSYS, and the host identity never moves).
compare "set-ids-as-unprivileged" -- /usr/bin/python3 "$(pwd)/tests/guest/py/ids.py"

# The opt-in as a config file says it, and the log names it unsafe.
cat >"$SCRATCH/root.cfg" <<EOF
name = "as-root";
user = "root";
command = ["/bin/sh", "-c", "id -u; head -c 4 /etc/shadow >/dev/null && echo readable"];
log = "$SCRATCH/as-root.log";
EOF
run_pdvm "$SCRATCH/root.cfg"
if [ "$RC" = 0 ] && [ "$(tr '\n' ' ' <"$OUT")" = "0 readable " ] && grep -q "identity: root.*unsafe" "$SCRATCH/as-root.log"; then
	pass "user-root-opt-in"
else
	fail "user-root-opt-in" "exit $RC; log: $(grep identity "$SCRATCH/as-root.log" 2>&1); $(last_output)"
fi
# A forbidden host call from a vCPU thread ends pdvm with a line naming it. The test hook
# (PDVM_FAULT=seccomp) makes the call a hijacked thread would try first: setresuid(0, 0, 0),
# root back through the saved uid.
PDVM_FAULT=seccomp run_pdvm -- /bin/true
if [ "$RC" = 125 ] && grep -q "seccomp: a vCPU thread made the host system call setresuid (117)" "$ERR"; then
	pass "seccomp-forbidden-call-stops-pdvm"
else
	fail "seccomp-forbidden-call-stops-pdvm" "exit $RC; $(last_output)"
fi
# pdvm's own threads too, once set-up is over: the hook makes the main thread try setns
# (ip and nft run in the spawner process, forked before any thread).
PDVM_FAULT=seccomp-main run_pdvm -- /bin/true
if [ -n "$SANITIZED" ]; then
	skip "seccomp-on-pdvm-own-threads" "sanitizer build: pdvm's own threads are not filtered"
elif [ "$RC" = 125 ] && grep -q "seccomp: a thread of pdvm's own made the host system call setns (308)" "$ERR"; then
	pass "seccomp-on-pdvm-own-threads"
else
	fail "seccomp-on-pdvm-own-threads" "exit $RC; $(last_output)"
fi
# pdvm run by an unprivileged member of /dev/kvm's group: the domain is that user, who
# cannot name another.
kvm_gid=$(stat -c %g /dev/kvm)
if [ "$kvm_gid" != 0 ] && [ "$(stat -c %a /dev/kvm | cut -c2)" -ge 6 ]; then
	as_nobody=(setpriv --reuid=65534 --regid=65534 --groups="$kvm_gid" --)
	out=$("${as_nobody[@]}" timeout 60 "$PDVM" run -- /usr/bin/id -u 2>/dev/null)
	rc=$?
	"${as_nobody[@]}" timeout 60 "$PDVM" run --user root -- /usr/bin/id -u >/dev/null 2>"$SCRATCH/nobody.err"
	rc2=$?
	if [ "$rc" = 0 ] && [ "$out" = 65534 ] && [ "$rc2" = 125 ] &&
	   grep -q "only root can run a domain as another user" "$SCRATCH/nobody.err"; then
		pass "unprivileged-pdvm-runs-as-its-user"
	else
		fail "unprivileged-pdvm-runs-as-its-user" "exit $rc, id -u '$out'; --user root: exit $rc2 $(cat "$SCRATCH/nobody.err")"
	fi
else
	skip "unprivileged-pdvm-runs-as-its-user" "/dev/kvm is not open to a group here"
fi
run_pdvm --user no-such-account-here -- /bin/true
if [ "$RC" = 125 ] && grep -q "no account 'no-such-account-here'" "$ERR"; then
	pass "unknown-user-refused"
else
	fail "unknown-user-refused" "exit $RC; $(last_output)"
fi

# Set-ID bits and chown in a writable tree: no setuid binary of pdvm's user, no file
# given to another user; the host's view of the file is the proof.
W=$SCRATCH/w
domain_dir "$W"
run_pdvm --writable "$W" --cwd "$W" -- "$GUEST/holes" setid "$W"
host_mode=$(stat -c '%a %u' "$W/suid" 2>/dev/null)
if [ "$RC" = 0 ] && ! grep -q '^not ok' "$OUT" && [ "${host_mode%% *}" = 755 ] &&
   [ "$(stat -c %a "$W/sgid-dir" 2>/dev/null)" = 755 ] && [ "${host_mode#* }" != 4321 ]; then
	pass "no-setid-bits-no-chown-away"
else
	fail "no-setid-bits-no-chown-away" "host sees suid as '$host_mode', sgid-dir as $(stat -c %a "$W/sgid-dir" 2>/dev/null); $(grep '^not ok' "$OUT"); $(last_output)"
fi
# memfds live in the host's memory, beside the guest's frames: together they may hold
# no more than the domain's memory limit. With --memory 64M, 1 MiB writes stop short of
# 64 MiB with ENOSPC at the latest (a native run goes on); a sparse 1 GiB ftruncate costs nothing and
# stays allowed; fallocate and a writable shared mapping of the 1 GiB hole do not fit.
run_pdvm --memory 64M -- /usr/bin/python3 -c '
import errno, mmap, os
fds, n, err = [], 0, None
try:
    while n < 256:
        if n % 16 == 0:
            fds.append(os.memfd_create("m%d" % n))
        os.write(fds[-1], b"x" * (1 << 20))
        n += 1
except OSError as e:
    err = e.errno
print("written", 48 <= n <= 64, err == errno.ENOSPC)
for f in fds:
    os.close(f)
f = os.memfd_create("sparse")
os.ftruncate(f, 1 << 30)
try:
    os.posix_fallocate(f, 0, 1 << 30); print("fallocate", "fits")
except OSError as e:
    print("fallocate", e.errno == errno.ENOSPC)
try:
    mmap.mmap(f, 1 << 30, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE); print("map", "fits")
except OSError as e:
    print("map", e.errno == errno.ENOMEM)
os.write(f, b"small")
print("again", os.pread(f, 5, 0) == b"small")
'
if [ "$RC" = 0 ] && [ "$(tr '\n' ' ' <"$OUT")" = "written True True fallocate True map True again True " ]; then
	pass "memfd-bounded-by-memory-limit"
else
	fail "memfd-bounded-by-memory-limit" "$(last_output)"
fi

finish

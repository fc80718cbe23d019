#!/bin/bash
# procfs.sh: the domain's own /proc/self (exe, cmdline, status, stat, maps, fd/) and /proc/meminfo, from a test program and from python3; /proc shows the domain's processes and nothing of the host's.
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/procself" "$GUEST/procmem" /usr/bin/python3

run_pdvm --memory 256M -- "$GUEST/procself" 262144
if [ "$RC" = 0 ] && grep -q '^# all 10 checks passed' "$OUT"; then pass "procself"; else fail "procself" "$(last_output)"; fi

run_pdvm -- /usr/bin/python3 -c 'import os; fds = sorted(os.listdir("/proc/self/fd")); print(fds[:3], os.getpid() == int(open("/proc/self/stat").read().split()[0]), open("/proc/self/comm").read().strip())'
if [ "$RC" = 0 ] && grep -qx "\['0', '1', '2'\] True python3" "$OUT"; then pass "python-proc-self"; else fail "python-proc-self" "$(last_output)"; fi

# The host's processes are not the domain's business: /proc lists the domain's pids
# only, /proc/<host pid> does not exist (by name or through a symlink), /proc/self
# names the guest's pid, and the VMM's own entries that describe it are out of reach:
# /proc/PID/mem is the guest's memory (a string found at its address), auxv the guest
# program's own (AT_PAGESZ 4096, AT_NULL last). A sleeping host process gives a pid that surely exists.
sleep 60 &
HOSTPID=$!
mkdir -p "$SCRATCH/w" && chmod 777 "$SCRATCH/w"
run_pdvm --writable "$SCRATCH/w" -- /usr/bin/python3 -c '
import os, sys
hp, w = int(sys.argv[1]), sys.argv[2]
me = os.getpid()
def gone(p):
    try:
        open(p).read()
    except OSError:
        return True
    return False
def guest_mem(p):
    import ctypes
    b = ctypes.create_string_buffer(b"pdvm-mem-probe")
    with open(p, "rb", buffering=0) as f:
        f.seek(ctypes.addressof(b))
        return f.read(14) == b"pdvm-mem-probe"
def guest_auxv(p):
    import struct
    b = open(p, "rb").read()
    v = [struct.unpack_from("QQ", b, i) for i in range(0, len(b) - len(b) % 16, 16)]
    return len(b) % 16 == 0 and (6, 4096) in v and v[-1] == (0, 0)
os.symlink("/proc/%d" % hp, w + "/l")
print("list", sorted(n for n in os.listdir("/proc") if n.isdigit()) == [str(me)])
print("self", os.readlink("/proc/self") == str(me), os.readlink("/proc/thread-self") == "%d/task/%d" % (me, me))
print("host", gone("/proc/%d/cmdline" % hp), gone("/proc/1/cmdline"), not os.path.exists("/proc/%d" % hp), gone(w + "/l/cmdline"))
print("vmm", guest_mem("/proc/self/mem"), guest_mem("/proc/%d/mem" % me), guest_auxv("/proc/self/auxv"))
print("own", os.path.isdir("/proc/%d" % me), open("/proc/%d/limits" % me).read().startswith("Limit"), os.path.exists("/proc/self/maps"))
' "$HOSTPID" "$SCRATCH/w"
kill "$HOSTPID" 2>/dev/null
if [ "$RC" = 0 ] && [ "$(tr '\n' ' ' <"$OUT")" = "list True self True True host True True True True vmm True True True own True True True " ]; then
	pass "proc-hides-host"
else
	fail "proc-hides-host" "$(last_output)"
fi
# An O_PATH fd of /proc/self/mem or maps (the host's entry behind the synthetic
# name, which stat may see) reopened through /proc/self/fd is refused: it would be
# the VMM's own memory or map.
run_pdvm -- "$GUEST/procmem" reopen
if [ "$RC" = 0 ] && grep -q '^# all 2 checks passed' "$OUT"; then pass "proc-opath-reopen"; else fail "proc-opath-reopen" "$(last_output)"; fi
finish

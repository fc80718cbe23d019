#!/bin/bash
# procfs.sh: the domain's own /proc/self (exe, cmdline, status, stat, maps, fd/) and /proc/meminfo, from a test program and from python3.
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/procself" /usr/bin/python3

run_pdvm --memory 256M -- "$GUEST/procself" 262144
if [ "$RC" = 0 ] && grep -q '^# all 10 checks passed' "$OUT"; then pass "procself"; else fail "procself" "$(last_output)"; fi

run_pdvm -- /usr/bin/python3 -c 'import os; fds = sorted(os.listdir("/proc/self/fd")); print(fds[:3], os.getpid() == int(open("/proc/self/stat").read().split()[0]), open("/proc/self/comm").read().strip())'
if [ "$RC" = 0 ] && grep -qx "\['0', '1', '2'\] True python3" "$OUT"; then pass "python-proc-self"; else fail "python-proc-self" "$(last_output)"; fi
finish

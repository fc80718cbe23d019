#!/bin/bash
# dynamic.sh: dynamically linked programs (ld.so from the root, libc, dlopen, TLS), Debian coreutils and python3 against native, a missing interpreter, and a Python computation snapshotted mid-run.
# timeout: 420
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
DYN=$B/guest/dyn
PY=tests/guest/py
need_file "$DYN/dynlib" "$DYN/noldso" /usr/bin/python3 "$PY/stdlib.py" "$PY/compute.py"
ROOTDIR=$(pwd)

# ---- our own dynamic C program, and Debian's dynamically linked tools ----------------------
compare dynlib --env DYNTEST=yes -- "$DYN/dynlib" arg1
compare coreutils-ls -- /bin/ls -a /usr/share/doc/libc6
compare coreutils-sha256sum -- /usr/bin/sha256sum /etc/services
compare coreutils-sort-uniq --stdin /etc/services -- /usr/bin/sort -u
compare coreutils-wc --stdin /etc/services -- /usr/bin/wc
compare grep-count -- /bin/grep -c tcp /etc/services
compare sed-subst --stdin /etc/services -- /bin/sed -n 's/tcp/TCP/p'
compare awk-sum --stdin /etc/services -- /usr/bin/awk '{ n += length($0) } END { print NR, n }'
compare false-exit-1 -- /bin/false

# ---- python3 --------------------------------------------------------------------------------
compare python3-c -- /usr/bin/python3 -c 'import sys, os; print(sys.version_info[:2], os.getcwd(), sum(range(10**5)))'
compare python3-stdlib --cwd "$ROOTDIR" -- /usr/bin/python3 "$PY/stdlib.py" x y

# ---- a missing interpreter: 127, and the message names it -----------------------------------
run_pdvm -- "$DYN/noldso"
if [ "$RC" = 127 ] && grep -q '/nonexistent/ld-pdvm.so' "$ERR" && ! grep -q 'must not run' "$OUT"; then
	pass "missing-interpreter-127"
else
	fail "missing-interpreter-127" "$(last_output)"
fi

# ---- a Python computation snapshotted mid-run, killed, restored ------------------------------
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"
stop_restore python-snapshot-restore 10 "$ROOTDIR" -- /usr/bin/python3 "$PY/compute.py" 40 0.05
verdict python-snapshot-restore

finish

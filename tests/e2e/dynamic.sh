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
py_stop_restore() {
	local d=$SCRATCH/pysnap why=""
	mkdir -p "$d"
	(cd "$ROOTDIR" && exec env -i "${DEFAULT_ENV[@]}" /usr/bin/python3 "$PY/compute.py" 40 0.05) \
		</dev/null >"$d/native.out" 2>&1
	start_run pysnap "$d/run.out" "$d/run.err" --cwd "$ROOTDIR" -- /usr/bin/python3 "$PY/compute.py" 40 0.05
	local pid=$BGPID
	if ! wait_sock pysnap "$pid" || ! wait_lines "$d/run.out" 10 "$pid"; then
		wait_pid "$pid"
		fail "python-snapshot-restore" "python did not get going (exit $WRC)
$(tails "$d/run.out" "$d/run.err")"
		return
	fi
	snap pysnap "$d/img" --stop
	wait_pid "$pid"
	if [ "$SRC" != 0 ] || [ "$WRC" != 0 ]; then
		fail "python-snapshot-restore" "snapshot exit $SRC, run exit $WRC: $(cat "$SERR")
$(tails "$d/run.err")"
		return
	fi
	restore_fg "$d/restore.out" "$d/restore.err" "$d/img"
	[ "$RRC" = 0 ] || why="restore exit $RRC: $(tails "$d/restore.err")"
	if ! concat_is_native "$d/native.out" "$d/run.out" "$d/restore.out"; then
		why="${why:+$why
}output differs from native: $(diff_native "$d/native.out" "$d/run.out" "$d/restore.out")"
	fi
	local k
	k=$(wc -l <"$d/run.out")
	if [ "$k" -ge 40 ]; then why="${why:+$why
}the snapshot came after the end ($k lines before it)"; fi
	if [ -z "$why" ]; then pass "python-snapshot-restore"; else fail "python-snapshot-restore" "$why"; fi
}
py_stop_restore

finish

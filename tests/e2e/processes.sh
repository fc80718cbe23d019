#!/bin/bash
# processes.sh: fork, exec, wait, pipes, process groups and signals across processes — our C test program, busybox sh scripts and python3 subprocess against native; snapshots of several processes are refused clearly.
# timeout: 480
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
DYN=$B/guest/dyn
need_file "$DYN/proctest" /bin/busybox /usr/bin/python3 tests/guest/sh/pipeline.sh tests/guest/py/subproc.py
ROOTDIR=$(pwd)

compare proctest -- "$DYN/proctest"
compare busybox-sh-script -- /bin/busybox sh "$ROOTDIR/tests/guest/sh/pipeline.sh"
compare busybox-sh-c -- /bin/busybox sh -c 'echo $(echo a | /bin/busybox tr a b) | /bin/busybox wc -c; exit 4'
compare dash-pipeline --stdin /etc/services -- /bin/sh -c 'grep tcp | sort | uniq | wc -l'
compare python3-subprocess --cwd "$ROOTDIR" -- /usr/bin/python3 tests/guest/py/subproc.py
compare exit-status-of-killed-child -- /bin/sh -c 'sh -c "kill -9 \$\$"; echo "status $?"'

# ---- a tree of processes cannot be snapshotted yet: a clear error, and the domain runs on ----
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"
d=$SCRATCH/tree
mkdir -p "$d"
start_run tree "$d/run.out" "$d/run.err" -- /bin/sh -c 'sleep 30 | cat; echo survived'
pid=$BGPID
if wait_sock tree "$pid"; then
	sleep 1
	snap tree "$d/img"
	if [ "$SRC" != 0 ] && grep -q 'processes' "$SERR"; then
		pass "tree-snapshot-refused"
	else
		fail "tree-snapshot-refused" "snapshot exit $SRC: $(cat "$SERR")"
	fi
else
	fail "tree-snapshot-refused" "domain did not start: $(tails "$d/run.err")"
fi
kill -TERM "$pid" 2>/dev/null
wait_pid "$pid"
finish

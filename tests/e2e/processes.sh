#!/bin/bash
# processes.sh: fork, exec, wait, pipes, process groups and signals across processes — our C test program, busybox sh scripts and python3 subprocess against native; snapshots of several processes are refused clearly.
# timeout: 480
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
DYN=$B/guest/dyn
need_file "$DYN/proctest" "$DYN/treesnap" /bin/busybox /usr/bin/python3 tests/guest/sh/pipeline.sh tests/guest/py/subproc.py
ROOTDIR=$(pwd)

compare proctest -- "$DYN/proctest"
compare busybox-sh-script -- /bin/busybox sh "$ROOTDIR/tests/guest/sh/pipeline.sh"
compare busybox-sh-c -- /bin/busybox sh -c 'echo $(echo a | /bin/busybox tr a b) | /bin/busybox wc -c; exit 4'
compare dash-pipeline --stdin /etc/services -- /bin/sh -c 'grep tcp | sort | uniq | wc -l'
compare python3-subprocess --cwd "$ROOTDIR" -- /usr/bin/python3 tests/guest/py/subproc.py
compare proc-self-in-children -- /bin/sh -c 'p=$$; tr "\0" " " </proc/self/cmdline; echo;
	/bin/busybox tr "\0" " " </proc/self/cmdline; echo; cat /proc/self/comm;
	grep -q "^PPid:[[:space:]]*$p\$" /proc/self/status && echo status-ppid-ok;
	sh -c "test \$PPID = $p && echo ppid-ok"'
compare exit-status-of-killed-child -- /bin/sh -c 'sh -c "kill -9 \$\$"; echo "status $?"'

# ---- a three-process pipeline snapshotted mid-run with data in both pipes, killed, restored ----
# The producer writes ~110 KB, more than a pipe holds; the consumer is slow (a read loop that
# sleeps every 200 lines), so at the snapshot both pipes are full and the producer and awk
# are blocked writing. The image's size of `files` shows the pipe data went into it.
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"
BBSH=/bin/busybox
PIPE_SCRIPT='i=0; while [ $i -lt 4000 ]; do echo "record $i of the producer"; i=$((i + 1)); done |
/bin/busybox awk "{ print NR \": \" toupper(\$0) }" |
while read -r l; do echo "$l"; case "$l" in *[02468]00\ OF*) /bin/busybox sleep 0.3 ;; esac; done'
pipeline_snapshot() {
	local d=$SCRATCH/pipe why=""
	mkdir -p "$d"
	(cd / && exec env -i "${DEFAULT_ENV[@]}" $BBSH sh -c "$PIPE_SCRIPT") </dev/null >"$d/native.out" 2>&1
	start_run pipe "$d/run.out" "$d/run.err" -- $BBSH sh -c "$PIPE_SCRIPT"
	local pid=$BGPID
	if ! wait_sock pipe "$pid" || ! wait_lines "$d/run.out" 40 "$pid"; then
		wait_pid "$pid"
		fail "pipeline-snapshot-restore" "the pipeline did not get going (exit $WRC)
$(tails "$d/run.out" "$d/run.err")"
		return
	fi
	snap pipe "$d/img" --stop
	wait_pid "$pid"
	if [ "$SRC" != 0 ] || [ "$WRC" != 0 ]; then
		fail "pipeline-snapshot-restore" "snapshot exit $SRC, run exit $WRC: $(cat "$SERR")
$(tails "$d/run.err")"
		return
	fi
	local before
	before=$(wc -l <"$d/run.out")
	restore_fg "$d/restore.out" "$d/restore.err" "$d/img"
	[ "$RRC" = 0 ] || why="restore exit $RRC: $(tails "$d/restore.err")"
	if ! concat_is_native "$d/native.out" "$d/run.out" "$d/restore.out"; then
		why="${why:+$why
}run+restore output differs from native:
$(cat "$d/run.out" "$d/restore.out" | diff "$d/native.out" - | head -n 8)"
	fi
	if [ "$before" -ge "$(wc -l <"$d/native.out")" ]; then
		why="${why:+$why
}the snapshot came after the pipeline had finished ($before lines)"
	fi
	if [ -z "$why" ]; then
		echo "# pipeline: $before lines before the snapshot, $(wc -l <"$d/restore.out") after;" \
			"files section $(stat -c %s "$d/img/files.bin" 2>/dev/null) bytes"
		pass "pipeline-snapshot-restore"
	else
		fail "pipeline-snapshot-restore" "$why"
	fi
}
pipeline_snapshot

# ---- a zombie, and a child with a blocked pending signal and an armed timer, restored ----
tree_snapshot() {
	local d=$SCRATCH/tree why=""
	mkdir -p "$d"
	"$DYN/treesnap" 30 >"$d/native.out" 2>&1
	start_run tree "$d/run.out" "$d/run.err" -- "$DYN/treesnap" 30
	local pid=$BGPID
	if ! wait_sock tree "$pid" || ! wait_lines "$d/run.out" 4 "$pid"; then
		wait_pid "$pid"
		fail "tree-zombie-signal-timer-restore" "did not get going (exit $WRC)
$(tails "$d/run.out" "$d/run.err")"
		return
	fi
	snap tree "$d/img" --stop
	wait_pid "$pid"
	if [ "$SRC" != 0 ] || [ "$WRC" != 0 ]; then
		fail "tree-zombie-signal-timer-restore" "snapshot exit $SRC, run exit $WRC: $(cat "$SERR")"
		return
	fi
	restore_fg "$d/restore.out" "$d/restore.err" "$d/img"
	[ "$RRC" = 0 ] || why="restore exit $RRC: $(tails "$d/restore.err")"
	if ! concat_is_native "$d/native.out" "$d/run.out" "$d/restore.out"; then
		why="${why:+$why
}run+restore output differs from native:
$(diff_native "$d/native.out" "$d/run.out" "$d/restore.out")"
	fi
	grep -q '^tick 29' "$d/run.out" && why="${why:+$why
}the snapshot came after the ticks"
	if [ -z "$why" ]; then
		pass "tree-zombie-signal-timer-restore"
	else
		fail "tree-zombie-signal-timer-restore" "$why"
	fi
}
tree_snapshot
finish

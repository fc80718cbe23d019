#!/bin/bash
# processes.sh: fork, exec, wait, pipes, process groups and signals across processes — our C test program, busybox sh scripts and python3 subprocess against native; snapshots of several processes are refused clearly.
# timeout: 480
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
DYN=$B/guest/dyn
need_file "$DYN/proctest" "$DYN/treesnap" /bin/busybox /usr/bin/python3 tests/guest/sh/pipeline.sh tests/guest/py/subproc.py tests/guest/py/rusage.py tests/guest/py/tasks.py
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
# A script whose interpreter is a script, five deep (Linux's limit), then six (ELOOP).
mkdir -p "$SCRATCH/sb"
printf '#!/bin/sh\necho "[$0] [$*]"\n' >"$SCRATCH/sb/s1"
for i in 2 3 4 5 6; do printf '#!%s lvl%s\n' "$SCRATCH/sb/s$((i - 1))" "$i" >"$SCRATCH/sb/s$i"; done
chmod 755 "$SCRATCH/sb" "$SCRATCH"/sb/s*
compare rusage-counts-cpu-time -- /usr/bin/python3 "$ROOTDIR/tests/guest/py/rusage.py"
compare proc-task-listing -- /usr/bin/python3 "$ROOTDIR/tests/guest/py/tasks.py"
compare script-as-the-program -- "$SCRATCH/sb/s3" a b
compare proc-of-another-process --cwd /tmp -- /bin/sh -c 'sleep 5 & p=$!; cd /; readlink /proc/$p/exe /proc/$p/cwd /proc/$$/exe /proc/$$/cwd;
	tr "\0" " " </proc/$p/cmdline; echo; cat /proc/$p/comm; wc -w </proc/$p/statm;
	cmp /proc/$p/exe "$(readlink /proc/$p/exe)" && cmp /proc/$$/exe /bin/dash && echo exe-opens; kill $p'
compare nested-interpreters -- /bin/sh -c "$SCRATCH/sb/s2 a; $SCRATCH/sb/s5 a b; $SCRATCH/sb/s6 a b 2>/dev/null; echo \"six: \$?\""

# ---- a three-process pipeline snapshotted mid-run with data in both pipes, killed, restored ----
# The producer writes ~110 KB, more than a pipe holds; the consumer is slow (a read loop that
# sleeps every 200 lines), so at the snapshot both pipes are full and the producer and awk
# are blocked writing. The image's size of `files` shows the pipe data went into it.
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"
BBSH=/bin/busybox
PIPE_SCRIPT='i=0; while [ $i -lt 4000 ]; do echo "record $i of the producer"; i=$((i + 1)); done |
/bin/busybox awk "{ print NR \": \" toupper(\$0) }" |
while read -r l; do echo "$l"; case "$l" in *[02468]00\ OF*) /bin/busybox sleep 0.3 ;; esac; done'
stop_restore pipeline-snapshot-restore 40 / -- $BBSH sh -c "$PIPE_SCRIPT"
[ -n "$WHY" ] || echo "# pipeline: files section $(stat -c %s "$SCRATCH/pipeline-snapshot-restore/img/files.bin" 2>/dev/null) bytes"
verdict pipeline-snapshot-restore

# ---- a zombie, and a child with a blocked pending signal and an armed timer, restored ----
stop_restore tree-zombie-signal-timer-restore 4 / -- "$DYN/treesnap" 30
verdict tree-zombie-signal-timer-restore
# ---- --pid-namespace: the program is init (pid 1, ppid 0), its children 2.., orphans its;
# a signal it leaves at SIG_DFL is dropped from inside (even KILL) and from the host (but
# KILL), one it handles is taken; pid 1 and init's rules survive a snapshot and restore.
run_pdvm --pid-namespace -- /bin/busybox sh -c 'echo $$ $PPID; kill -TERM 1; kill -KILL 1; echo alive
/bin/busybox sh -c "echo child \$\$ \$PPID"; exit 3'
WHY=""
[ "$RC" = 3 ] && [ "$(tr '\n' ' ' <"$OUT")" = "1 0 alive child 2 1 " ] || WHY+="inside: $(last_output); "
"$PDVM" run --name pidns1 --pid-namespace -- /bin/busybox sleep 30 </dev/null >/dev/null 2>&1 &
P1=$!
"$PDVM" run --name pidns2 --pid-namespace -- /bin/busybox sh -c 'trap "echo took; exit 5" TERM; echo ready; while :; do /bin/busybox sleep 0.1; done' \
	</dev/null >"$SCRATCH/pidns2.out" 2>&1 &
P2=$!
for _ in $(seq 100); do grep -q ready "$SCRATCH/pidns2.out" && [ -S "${PDVM_RUN_DIR:-/run/pdvm}/pidns1.sock" ] && break; sleep 0.1; done
kill -TERM "$P1" "$P2"
for _ in $(seq 100); do kill -0 "$P2" 2>/dev/null || break; sleep 0.1; done
wait "$P2"
r2=$?
kill -0 "$P1" 2>/dev/null && alive1=yes || alive1=no
kill -KILL "$P1"
wait "$P1" 2>/dev/null
[ "$r2" = 5 ] && grep -q took "$SCRATCH/pidns2.out" && [ "$alive1" = yes ] || WHY+="from the host: handled TERM exit $r2, unhandled TERM left it alive: $alive1; "
d=$SCRATCH/pidns-snap
mkdir -p "$d"
start_run pidns3 "$d/run.out" "$d/run.err" --pid-namespace -- /bin/busybox sh -c 'i=0; while [ $i -lt 40 ]; do echo "$$ $i"; i=$((i + 1)); /bin/busybox sleep 0.05; done; kill -TERM 1; echo end $$'
if wait_sock pidns3 "$BGPID" && wait_lines "$d/run.out" 5 "$BGPID"; then
	snap pidns3 "$d/img" --stop
	wait_pid "$BGPID"
	restore_fg "$d/restore.out" "$d/restore.err" "$d/img"
	[ "$RRC" = 0 ] && [ "$(tail -n 1 "$d/restore.out")" = "end 1" ] && ! grep -qv '^1 \|^end 1$' "$d/restore.out" ||
		WHY+="restored: exit $RRC: $(tails "$d/restore.out" "$d/restore.err"); "
else
	WHY+="pidns3 did not get going: $(tails "$d/run.out" "$d/run.err"); "
fi
[ -z "$WHY" ] && pass pid-namespace-init || fail pid-namespace-init "$WHY"
finish

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
finish

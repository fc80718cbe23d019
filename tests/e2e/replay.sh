#!/bin/bash
# replay.sh: pdvm record / pdvm replay (issue 21) — threads with data races (a counter, a queue, a hash table, python3 threads) replay their recording's output ten times, and signals across threads theirs; a program made of outside inputs replays the recording's output, status and memory ten times; timer and host signals land where they did (interrupted calls, a sleep's time left, sigwaitinfo); a recording from a snapshot (of one thread, and of python3's three); the config key; busybox and python3 replay; fork and exec inside a recording (a shell's children and pipelines, python3's subprocess); replay leaves files alone; damaged, cut and unfinished traces are refused; a changed program diverges at its first different call; --info summarises.
# timeout: 450
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/rrinputs" "$GUEST/rrsignals" "$GUEST/rrthreads" "$GUEST/hello" /bin/busybox /usr/bin/python3
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"

# record NAME PDVM-RUN-ARGS...: records into $SCRATCH/NAME (stdout NAME.out, stderr NAME.err); RC.
record() {
	local name=$1
	shift
	rm -rf "$SCRATCH/$name"
	timeout -k 5 "$PDVM_TIMEOUT" "$PDVM" record --trace "$SCRATCH/$name" "$@" </dev/null \
		>"$SCRATCH/$name.out" 2>"$SCRATCH/$name.err"
	RC=$?
}

# replay NAME [K]: replays $SCRATCH/NAME into NAME.rout.K / NAME.rerr.K; RC.
replay() {
	timeout -k 5 "$PDVM_TIMEOUT" "$PDVM" replay "$SCRATCH/$1" </dev/null \
		>"$SCRATCH/$1.rout.${2:-0}" 2>"$SCRATCH/$1.rerr.${2:-0}"
	RC=$?
}

# image_at NAME IMG TEXT SECS -- CMD...: runs CMD as domain NAME until it prints TEXT (within
# SECS), then stops it into the image IMG (its output in IMG.out, IMG.err). Sets why on failure.
image_at() {
	local name=$1 img=$2 text=$3 secs=$4
	shift 5
	start_run "$name" "$img.out" "$img.err" -- "$@"
	if wait_text "$img.out" "$text" "$BGPID" "$secs"; then
		snap --stop "$name" "$img"
		wait_pid "$BGPID"
		[ "$SRC" = 0 ] || why="snapshot --stop: exit $SRC: $(head -c 300 "$SERR")"
	else
		why="$1 did not print \"$text\": $(head -c 300 "$img.out") $(head -c 300 "$img.err")"
	fi
}

# record_image TRACE IMG: `pdvm record --restore IMG` into TRACE (TRACE.out, TRACE.err) in the
# background, its pid in ri. Not under timeout(1): that passes each signal on to its child and
# to its process group (pdvm gets it twice: a second SIGHUP interrupts the program's later
# sigwaitinfo with EINTR, as Linux does — seen in CI once), and KILLs 5 s later with -k.
record_image() {
	rm -rf "$1"
	"$PDVM" record --trace "$1" --restore "$2" </dev/null >"$1.out" 2>"$1.err" &
	ri=$!
}

# record_end SECS: waits up to SECS for the recording record_image started, then kills it;
# its exit status in irc.
record_end() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do kill -0 "$ri" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$ri" 2>/dev/null && kill -KILL "$ri"
	wait "$ri"
	irc=$?
}

# ld_only NAME K: replay K of NAME ended as a dynamically linked program's may (see 4. below):
# its status, or 125 with only ld.so's data page differing at exit.
ld_only() {
	[ "$RC" = 125 ] && ! grep -q "divergence at event" "$SCRATCH/$1.rerr.$2" &&
		grep -q "memory differs at exit, in 1 of [0-9]* pages (the first at 0x[0-9a-f]*, in a mapping of .*ld-linux" "$SCRATCH/$1.rerr.$2"
}

# replays_match NAME N STATUS [dynamic]: replays $SCRATCH/NAME N times; each must end with STATUS (or, with
# "dynamic", as ld_only allows), print
# the recording's stdout and nothing on stderr. Appends the first difference to $why.
replays_match() {
	local k
	for k in $(seq "$2"); do
		replay "$1" "$k"
		if [ -n "${4:-}" ] && ld_only "$1" "$k" && cmp -s "$SCRATCH/$1.out" "$SCRATCH/$1.rout.$k"; then
			continue
		fi
		if [ "$RC" != "$3" ] || ! cmp -s "$SCRATCH/$1.out" "$SCRATCH/$1.rout.$k" || [ -s "$SCRATCH/$1.rerr.$k" ]; then
			why="${why:+$why
}replay $k: exit $RC; $(diff "$SCRATCH/$1.out" "$SCRATCH/$1.rout.$k" | head -n 6); $(head -c 600 "$SCRATCH/$1.rerr.$k")"
			return
		fi
	done
}

# 1. The program's output is all outside input: two native runs differ, and each of ten
# replays gives the recording's output, exit status and memory (no divergence reported).
"$GUEST/rrinputs" >"$SCRATCH/native1" 2>&1
"$GUEST/rrinputs" >"$SCRATCH/native2" 2>&1
record inputs -- "$GUEST/rrinputs"
rrc=$RC
why=""
cmp -s "$SCRATCH/native1" "$SCRATCH/native2" && why="two native runs gave the same output: the program has no input to record"
[ "$rrc" = 3 ] || why="${why:+$why
}record exited $rrc (want the program's 3): $(head -c 400 "$SCRATCH/inputs.err")"
replays_match inputs 10 3
if [ -z "$why" ]; then pass "inputs-replay-ten-times"; else fail "inputs-replay-ten-times" "$why"; fi

# 2. --info: one thread, the exit status, calls by kind.
info=$("$PDVM" replay --info "$SCRATCH/inputs" 2>&1)
if grep -q "^threads: *1$" <<<"$info" && grep -q "^exit status: *3 " <<<"$info" && grep -q "clock_gettime" <<<"$info"; then
	pass "replay-info"
else
	fail "replay-info" "$info"
fi

# 2b. Signals whose moment is outside input: an interval timer interrupting reads and a sleep,
# alarms landing among calls, host SIGHUP ending a pause(), host SIGTERM taken by sigwaitinfo.
# Each replay (no timer, no host signal) gives the recording's output, status and memory.
rm -rf "$SCRATCH/sigs"
timeout -k 5 "$PDVM_TIMEOUT" "$PDVM" record --trace "$SCRATCH/sigs" -- "$GUEST/rrsignals" </dev/null \
	>"$SCRATCH/sigs.out" 2>"$SCRATCH/sigs.err" &
host_signals_rrsignals $! "$SCRATCH/sigs.out"
rrc=$RC
why=""
[ "$rrc" = 4 ] && grep -qx "sigwaitinfo 15 code 0" "$SCRATCH/sigs.out" ||
	why="record exited $rrc: $(cat "$SCRATCH/sigs.out") $(head -c 400 "$SCRATCH/sigs.err")"
info=$("$PDVM" replay --info "$SCRATCH/sigs" 2>&1)
grep -q "system calls, [1-9][0-9]* signals from outside" <<<"$info" || why="${why:+$why
}no signals from outside in the trace: $info"
replays_match sigs 3 4
if [ -z "$why" ]; then pass "signals-replay-where-they-landed"; else fail "signals-replay-where-they-landed" "$why"; fi

# 2b'. A recording that starts from a snapshot: rrsignals stopped into an image while it
# waits for SIGHUP, recorded from the image (its pause() made again) with the host's SIGHUP
# and SIGTERM; the replay restores the same image and ends as the recording did.
why=""
image_at rrimg "$SCRATCH/img" "waiting for SIGHUP" 30 -- "$GUEST/rrsignals"
if [ -z "$why" ]; then
	record_image "$SCRATCH/fromimg" "$SCRATCH/img"
	if wait_sock rrimg "$ri"; then
		kill -HUP "$ri"
		wait_text "$SCRATCH/fromimg.out" "waiting for SIGTERM" "$ri" 30 && kill -TERM "$ri"
	fi
	record_end 10
	[ "$irc" = 4 ] && grep -q "^pause -1 " "$SCRATCH/fromimg.out" && grep -qx "sigwaitinfo 15 code 0" "$SCRATCH/fromimg.out" ||
		why="record --restore exited $irc: $(cat "$SCRATCH/fromimg.out") $(head -c 400 "$SCRATCH/fromimg.err")"
	[ -n "$why" ] || replays_match fromimg 2 4
fi
if [ -z "$why" ]; then pass "record-from-a-snapshot"; else fail "record-from-a-snapshot" "$why"; fi

# 2c. The config key: `pdvm record CONFIG` writes where its `trace` says (relative to the
# file), and `pdvm run` refuses that config rather than run it unrecorded.
mkdir -p "$SCRATCH/cfg"
cat >"$SCRATCH/cfg/rec.cfg" <<CFG
command = ["$GUEST/hello"];
trace = "rec-trace";
CFG
timeout -k 5 "$PDVM_TIMEOUT" "$PDVM" record "$SCRATCH/cfg/rec.cfg" </dev/null >"$SCRATCH/cfgrec.out" 2>&1
crc=$?
timeout -k 5 "$PDVM_TIMEOUT" "$PDVM" run "$SCRATCH/cfg/rec.cfg" </dev/null >"$SCRATCH/cfgrun.out" 2>&1
runrc=$?
timeout -k 5 "$PDVM_TIMEOUT" "$PDVM" replay "$SCRATCH/cfg/rec-trace" </dev/null >"$SCRATCH/cfgrep.out" 2>&1
reprc=$?
if [ "$crc" = 0 ] && [ -s "$SCRATCH/cfg/rec-trace/events" ] && [ "$runrc" = 125 ] &&
	grep -q "asks for a recording" "$SCRATCH/cfgrun.out" && [ "$reprc" = 0 ] && cmp -s "$SCRATCH/cfgrec.out" "$SCRATCH/cfgrep.out"; then
	pass "config-trace-key"
else
	fail "config-trace-key" "record $crc: $(head -c 300 "$SCRATCH/cfgrec.out"); run $runrc: $(head -c 300 "$SCRATCH/cfgrun.out"); replay $reprc: $(head -c 300 "$SCRATCH/cfgrep.out")"
fi

# 3. busybox's shell (static): its builtins, /proc, $RANDOM and $$.
record bb -- /bin/busybox sh -c 'echo $RANDOM $$; read -r u _ </proc/uptime; echo "$u"; i=0; while [ $i -lt 50 ]; do i=$((i + 1)); done; echo $i; exit 5'
replay bb
if [ "$RC" = 5 ] && cmp -s "$SCRATCH/bb.out" "$SCRATCH/bb.rout.0" && [ ! -s "$SCRATCH/bb.rerr.0" ]; then
	pass "busybox-sh-replays"
else
	fail "busybox-sh-replays" "record $(cat "$SCRATCH/bb.out"), replay exit $RC $(cat "$SCRATCH/bb.rout.0") $(head -c 600 "$SCRATCH/bb.rerr.0")"
fi

# 4. python3 (dynamic: ld.so, shared libraries opened and mapped again on replay). Every call
# and the output must match. The memory check at exit may only find ld.so's own data page:
# ld.so reads the TSC for its start-up timer, and the guest's rdtsc cannot be recorded where
# it runs natively (docs/pdvm.1, "pdvm replay").
record py -- /usr/bin/python3 -c 'import random, time, os; print(random.random(), time.time(), os.getpid(), sorted({str(i) for i in range(9)}))'
replay py
if [ -s "$SCRATCH/py.out" ] && cmp -s "$SCRATCH/py.out" "$SCRATCH/py.rout.0" && ! grep -q "divergence at event" "$SCRATCH/py.rerr.0" &&
	{ [ "$RC" = 0 ] || { [ "$RC" = 125 ] && grep -q "memory differs at exit, in [0-9]* of [0-9]* pages (the first at 0x[0-9a-f]*, in a mapping of .*ld-linux" "$SCRATCH/py.rerr.0"; }; }; then
	pass "python3-replays-calls-and-output"
else
	fail "python3-replays-calls-and-output" "record exit $(cat "$SCRATCH/py.out"); replay exit $RC: $(cat "$SCRATCH/py.rout.0"); $(head -c 800 "$SCRATCH/py.rerr.0")"
fi

# 5. Replay touches nothing outside: a file the recording wrote is not written again.
W=$SCRATCH/w
domain_dir "$W"
record files --writable "$W" -- /bin/busybox sh -c "echo recorded >$W/out; cat $W/out"
rm -f "$W/out"
replay files
if [ "$RC" = 0 ] && [ ! -e "$W/out" ] && grep -qx recorded "$SCRATCH/files.rout.0"; then
	pass "replay-writes-no-files"
else
	fail "replay-writes-no-files" "exit $RC, $W/out $( [ -e "$W/out" ] && echo exists || echo absent): $(head -c 400 "$SCRATCH/files.rerr.0")"
fi

# 6. Damaged and cut traces are refused with the reason.
cp -r "$SCRATCH/inputs" "$SCRATCH/bad"
size=$(stat -c %s "$SCRATCH/bad/events")
printf '\xff' | dd of="$SCRATCH/bad/events" bs=1 seek=$((size / 2)) conv=notrunc status=none
replay bad
if [ "$RC" = 125 ] && grep -q "damaged trace" "$SCRATCH/bad.rerr.0"; then
	pass "damaged-trace-refused"
else
	fail "damaged-trace-refused" "exit $RC: $(head -c 400 "$SCRATCH/bad.rerr.0")"
fi
cp -r "$SCRATCH/inputs" "$SCRATCH/cut"
truncate -s $((size - 20)) "$SCRATCH/cut/events"
replay cut
if [ "$RC" = 125 ] && grep -q "truncated" "$SCRATCH/cut.rerr.0"; then
	pass "truncated-trace-refused"
else
	fail "truncated-trace-refused" "exit $RC: $(head -c 400 "$SCRATCH/cut.rerr.0")"
fi

# 7. What a recording cannot take yet stops it with a message, and its trace is refused:
# a fork whose child would share writable memory with its parent (python's mmap(-1) is
# MAP_SHARED) — two processes writing one page, unseen by the page-table views.
record fork -- /usr/bin/python3 -c 'import mmap, os; m = mmap.mmap(-1, 4096); os.fork(); print("after")'
replay fork
if grep -q "sharing writable MAP_SHARED memory with its parent cannot be recorded yet" "$SCRATCH/fork.err" &&
	[ "$RC" = 125 ] && grep -q "before its end record" "$SCRATCH/fork.rerr.0"; then
	pass "unrecordable-call-stops-recording"
else
	fail "unrecordable-call-stops-recording" "record: $(head -c 300 "$SCRATCH/fork.err"); replay exit $RC: $(head -c 300 "$SCRATCH/fork.rerr.0")"
fi

# 7b. fork and exec inside a recording: a shell's children (each with its own $$ and
# $RANDOM, the clock, /proc), pipelines (seq killed by SIGPIPE when head has its two
# lines), a background child killed by its parent and reaped, output from parent and
# children interleaved: three replays print the recording's output and end as it did.
record shell -- /bin/busybox sh -c 'exec 2>&1; echo start $$ $RANDOM
for i in 1 2 3; do /bin/busybox sh -c "echo child \$\$ \$RANDOM"; echo parent $i; done
/bin/busybox cat /proc/uptime | /bin/busybox wc -c
/bin/busybox date +%N
/bin/busybox seq 1 100000 | /bin/busybox head -n 2
/bin/busybox sleep 5 & p=$!; kill $p; wait $p; echo killed $?
(echo sub $RANDOM; exit 3); echo sub exit $?
exit 4'
why=""
if [ "$RC" != 4 ] || [ "$(grep -c '^child ' "$SCRATCH/shell.out")" != 3 ] || ! grep -q '^killed 143$' "$SCRATCH/shell.out"; then
	why="record: exit $RC: $(head -c 400 "$SCRATCH/shell.out") $(head -c 400 "$SCRATCH/shell.err")"
else
	replays_match shell 3 4
fi
if [ -z "$why" ]; then pass "fork-exec-replays"; else fail "fork-exec-replays" "$why"; fi

# 7c. python3's subprocess (vfork, or clone with CLONE_VM|CLONE_VFORK, then exec) with
# pipes, and os.fork with a wait: two replays (ld.so's data page may differ at exit, 4.).
record pysub -- /usr/bin/python3 -c 'import os, subprocess, time
r = subprocess.run(["/bin/busybox", "sh", "-c", "echo $$ $RANDOM; exit 7"], capture_output=True)
print(r.returncode, r.stdout)
pid = os.fork()
if pid == 0:
    print("child", time.time_ns() % 1000000, flush=True)
    os._exit(9)
print("reaped", os.waitpid(pid, 0)[1] >> 8)'
why=""
if [ "$RC" != 0 ] || ! grep -q '^7 b' "$SCRATCH/pysub.out" || ! grep -q '^reaped 9$' "$SCRATCH/pysub.out"; then
	why="record: exit $RC: $(head -c 400 "$SCRATCH/pysub.out") $(head -c 400 "$SCRATCH/pysub.err")"
else
	replays_match pysub 2 0 dynamic
fi
if [ -z "$why" ]; then pass "python3-subprocess-replays"; else fail "python3-subprocess-replays" "$why"; fi

# 8. The program changed on disk: the replay stops at the first call that differs and says what.
P=$SCRATCH/prog
cp "$GUEST/rrinputs" "$P"
record changed -- "$P"
cp "$GUEST/hello" "$P"
replay changed
if [ "$RC" = 125 ] && grep -q "divergence at event [0-9]*" "$SCRATCH/changed.rerr.0" &&
	grep -q "^  recorded: " "$SCRATCH/changed.rerr.0" && grep -q "^  replay: " "$SCRATCH/changed.rerr.0"; then
	pass "changed-program-diverges"
else
	fail "changed-program-diverges" "exit $RC: $(head -c 600 "$SCRATCH/changed.rerr.0")"
fi

# 9. Threads with data races, truly parallel (2 vCPUs): native runs differ from each other
# (the output is the interleaving), and each of ten replays gives its recording's output,
# status and memory. The recording's threads run on page-table views of their own; --info
# counts the pages that changed hands.
for mode in "counter 2000000" "hash 3" "queue 1000"; do
	name=${mode%% *}
	why=""
	# Native runs until two differ (a race may be rare where the CPUs are emulated).
	differ=0
	"$GUEST/rrthreads" $mode >"$SCRATCH/$name.native0" 2>&1
	for k in $(seq 40); do
		taskset -c 0,1 "$GUEST/rrthreads" $mode >"$SCRATCH/$name.native" 2>&1
		cmp -s "$SCRATCH/$name.native0" "$SCRATCH/$name.native" || { differ=1; break; }
	done
	[ "$differ" = 1 ] || why="41 native runs of rrthreads $mode gave one output: no race to record"
	record "thr-$name" -- "$GUEST/rrthreads" $mode
	[ "$RC" = 0 ] || why="${why:+$why
}record exited $RC: $(head -c 400 "$SCRATCH/thr-$name.err")"
	replays_match "thr-$name" 10 0
	info=$("$PDVM" replay --info "$SCRATCH/thr-$name" 2>&1)
	grep -q "^threads: *3$" <<<"$info" && grep -q "^pages moved: *[1-9]" <<<"$info" || why="${why:+$why
}--info: $info"
	if [ -z "$why" ]; then pass "threads-$name-replays-ten-times"; else fail "threads-$name-replays-ten-times" "$why"; fi
done

# 9b. Signals across threads: a 5 ms interval timer (process-directed: either thread takes
# it) and tgkill from one thread to the other while both make calls. Which thread took how
# many, and after how many calls, differs natively; replays give the recording's.
why=""
"$GUEST/rrthreads" signals 3000 >"$SCRATCH/sigthr.native0" 2>&1
differ=0
for k in $(seq 20); do
	taskset -c 0,1 "$GUEST/rrthreads" signals 3000 >"$SCRATCH/sigthr.native" 2>&1
	cmp -s "$SCRATCH/sigthr.native0" "$SCRATCH/sigthr.native" || { differ=1; break; }
done
[ "$differ" = 1 ] || why="21 native runs of rrthreads signals gave one output"
record sigthr -- "$GUEST/rrthreads" signals 3000
[ "$RC" = 0 ] || why="${why:+$why
}record exited $RC: $(head -c 400 "$SCRATCH/sigthr.err")"
info=$("$PDVM" replay --info "$SCRATCH/sigthr" 2>&1)
grep -q "system calls, [1-9][0-9]* signals from outside" <<<"$info" || why="${why:+$why
}no signals from outside in the trace: $info"
replays_match sigthr 3 0
if [ -z "$why" ]; then pass "threads-signals-replay"; else fail "threads-signals-replay" "$why"; fi

# 10. python3 with threads (its GIL handed over every 0.2 ms): the order of the threads'
# appends is the interleaving; replays print the recording's.
# (ld.so's data page may differ at exit, as in 4.: seen once on ring0)
cat >"$SCRATCH/pywork.py" <<'PY'
order = []
def work(k):
    x = 0
    for i in range(50000):
        x += i
        if i % 2500 == 0:
            order.append(k)
PY
cat >"$SCRATCH/pyth.py" <<'PY'
import sys, threading
from pywork import work, order
sys.setswitchinterval(0.0002)
ts = [threading.Thread(target=work, args=(k,)) for k in range(2)]
for t in ts: t.start()
for t in ts: t.join()
print("".join(map(str, order)))
PY
record pyth -- /usr/bin/python3 "$SCRATCH/pyth.py"
why=""
[ "$RC" = 0 ] && grep -qx "[01]\{40\}" "$SCRATCH/pyth.out" || why="record exited $RC: $(cat "$SCRATCH/pyth.out") $(head -c 400 "$SCRATCH/pyth.err")"
replays_match pyth 2 0 dynamic
if [ -z "$why" ]; then pass "python3-threads-replay"; else fail "python3-threads-replay" "$why"; fi

# 10b. A recording from a snapshot of a process with threads: python3's two workers (10.'s)
# wait on an event while the main thread waits for SIGHUP; stopped into an image there,
# recorded from it (each thread on a page-table view from the start), the host's SIGHUP lets
# them race; two replays restore the same image and print the recording's interleaving.
cat >"$SCRATCH/pyimg.py" <<'PY'
import signal, sys, threading
from pywork import work, order
sys.setswitchinterval(0.0002)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
go = threading.Event()
def after_go(k):
    go.wait()
    work(k)
ts = [threading.Thread(target=after_go, args=(k,)) for k in range(2)]
for t in ts: t.start()
print("waiting for SIGHUP", flush=True)
signal.sigwait({signal.SIGHUP})
go.set()
for t in ts: t.join()
print("".join(map(str, order)))
PY
why=""
image_at rrtimg "$SCRATCH/timg" "waiting for SIGHUP" 60 -- /usr/bin/python3 "$SCRATCH/pyimg.py"
if [ -z "$why" ]; then
	record_image "$SCRATCH/fromtimg" "$SCRATCH/timg"
	wait_sock rrtimg "$ri" && kill -HUP "$ri"
	record_end "$PDVM_TIMEOUT"
	[ "$irc" = 0 ] && grep -qx "[01]\{40\}" "$SCRATCH/fromtimg.out" ||
		why="record --restore exited $irc: $(cat "$SCRATCH/fromtimg.out") $(head -c 400 "$SCRATCH/fromtimg.err")"
	info=$("$PDVM" replay --info "$SCRATCH/fromtimg" 2>&1)
	[ -n "$why" ] || grep -q "^threads: *3" <<<"$info" || why="--info: $info"
	[ -n "$why" ] || replays_match fromtimg 2 0 dynamic
fi
if [ -z "$why" ]; then pass "threads-record-from-a-snapshot"; else fail "threads-record-from-a-snapshot" "$why"; fi

# 11. rdtsc and rdtscp: trapped (CR4.TSD) on the ring-0 backend, logged, and answered from the
# trace on replay — two native runs differ, each replay prints the recording's; CPUID hides
# RDRAND and RDSEED from the recording. A PVM host runs
# rdtsc natively whatever CR4 says (replay/README.md): there --info must say it is not recorded.
why=""
backend=$("$PDVM" info 2>/dev/null | sed -n 's/^trap backend: *//p')
"$GUEST/rrtsc" 2000 >"$SCRATCH/tsc.native1" 2>&1
"$GUEST/rrtsc" 2000 >"$SCRATCH/tsc.native2" 2>&1
cmp -s "$SCRATCH/tsc.native1" "$SCRATCH/tsc.native2" && why="two native runs of rrtsc printed the same"
record tsc -- "$GUEST/rrtsc" 2000
[ -n "$why" ] || [ "$RC" = 0 ] || why="record exited $RC: $(head -c 300 "$SCRATCH/tsc.err")"
info=$("$PDVM" replay --info "$SCRATCH/tsc" 2>&1)
if [ "$backend" = ring0 ]; then
	[ -n "$why" ] || awk '/^rdtsc:/ { n = $2 } END { exit !(n >= 4000) }' <<<"$info" ||
		why="--info (want at least the program's 4000 trapped reads): $info"
	[ -n "$why" ] || replays_match tsc 2 0
	# Standard KVM honours the CPUID table: a recording is offered no RDRAND or RDSEED.
	[ -n "$why" ] || grep -qx "rdrand offered: 0, rdseed offered: 0" "$SCRATCH/tsc.out" ||
		why="CPUID offers randomness to a recording: $(tail -1 "$SCRATCH/tsc.out")"
	if [ -z "$why" ]; then pass "rdtsc-replays"; else fail "rdtsc-replays" "$why"; fi
else
	[ -n "$why" ] || grep -q "^rdtsc: *not trapped" <<<"$info" || why="--info (want: not trapped): $info"
	if [ -n "$why" ]; then fail "rdtsc-replays" "$why"; else skip "rdtsc-replays" "the $backend backend runs rdtsc natively"; fi
fi

finish

#!/bin/bash
# migrate.sh: pdvm migrate / pdvm receive on one host (two run directories): a ticker and a pipeline with data in flight move and finish there as natively; memory pre-copied while a program rewrites it arrives intact; post-copy (the domain started here first, its memory following, asked for or pushed) of a rewriting program, a pipeline and 128 MiB over TLS ends as natively, and a target killed in it ends the source with the reason; a pre-shared key makes it TLS, and another key is turned away; a refusing target, a dying target and a garbage stream each leave the domain going on at the source; nothing staged is left behind.
# timeout: 300
#
# Over loopback: the source pre-copies memory while the domain runs, pauses, streams its image
# (with the pages written since), the target rebuilds it, says ready, gets the go, starts it;
# the source's pdvm then exits 0. The output of the run
# before the move followed by the receiver's must be exactly the native output.
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/ticker" "$GUEST/memfill" "$GUEST/dirtier" "$GUEST/hotpage" "$GUEST/writeonce" /usr/bin/python3
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"

KEY=$SCRATCH/key KEY2=$SCRATCH/key2
head -c 32 /dev/urandom >"$KEY"
head -c 32 /dev/urandom >"$KEY2"
chmod 600 "$KEY" "$KEY2"
RUN_B=$SCRATCH/run-b            # the target's control sockets: another "host"
WORK=$SCRATCH/work              # where both sides stage images
mkdir -p -m 700 "$RUN_B" "$WORK"

# start_receive OUT ERR PORT [RECEIVE-OPTS...]: `pdvm receive` in the background on
# 127.0.0.1:PORT with the target's run directory; waits until it listens; sets RCVPID.
# RECEIVE_WRAP: a command the receiver runs under (another host's view of the files).
RECEIVE_WRAP=()
start_receive() {
	local out=$1 err=$2 port=$3
	shift 3
	PDVM_RUN_DIR=$RUN_B timeout -k 5 "$PDVM_TIMEOUT" ${RECEIVE_WRAP[@]+"${RECEIVE_WRAP[@]}"} "$PDVM" receive \
		--listen "127.0.0.1:$port" --work-dir "$WORK" "$@" </dev/null >"$out" 2>"$err" &
	RCVPID=$!
	BGPIDS+=("$RCVPID")
	wait_text "$err" "waiting on" "$RCVPID" 10
}

# migrate NAME PORT: `pdvm migrate --json ${MIGRATE_OPTS[@]} NAME 127.0.0.1:PORT`; sets MRC,
# MERR (its stderr file) and MOUT (its stdout: the statistics).
MERR=$SCRATCH/.migrate.err
MOUT=$SCRATCH/.migrate.out
MIGRATE_OPTS=()
RECEIVE_OPTS=()
migrate() {
	timeout -k 5 120 "$PDVM" migrate --json ${MIGRATE_OPTS[@]+"${MIGRATE_OPTS[@]}"} "$1" "127.0.0.1:$2" \
		</dev/null >"$MOUT" 2>"$MERR"
	MRC=$?
}

# stats EXPR: EXPR (python, over the JSON statistics as `s`) holds.
stats() {
	python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' \
		"$MOUT" "$1" 2>/dev/null
}

# move TEST LINES RCV-EXIT [RUN-OPTS...] -- PROG ARGS...: PROG natively and in a domain;
# after LINES lines the domain migrates to a receiver, which must exit RCV-EXIT (the
# program's status) while the source exits 0; run + receive output must be native's.
move() {
	local t=$1 lines=$2 want=$3 d=$SCRATCH/$1 port
	shift 3
	local opts=()
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	mkdir -p "$d"
	native_bg "$d/native.out" "$@"
	local natpid=$NATPID
	port=$(free_port)
	WHY=""
	if ! start_receive "$d/recv.out" "$d/recv.err" "$port"; then
		WHY="the receiver did not listen: $(tails "$d/recv.err")"
		return
	fi
	local rcv=$RCVPID
	start_run "$t" "$d/run.out" "$d/run.err" ${opts[@]+"${opts[@]}"} -- "$@"
	local pid=$BGPID
	if wait_sock "$t" "$pid" && wait_lines "$d/run.out" "$lines" "$pid"; then
		migrate "$t" "$port"
		wait_pid "$pid"
		local src=$WRC
		wait_pid "$rcv"
		[ "$MRC" = 0 ] && [ "$src" = 0 ] && [ "$WRC" = "$want" ] ||
			WHY="migrate exit $MRC ($(head -c 300 "$MERR")), source exit $src, receive exit $WRC (want $want)
$(tails "$d/run.err" "$d/recv.err")"
	else
		wait_pid "$pid"
		WHY="the program did not get going (exit $WRC): $(tails "$d/run.out" "$d/run.err")"
	fi
	wait "$natpid"
	if [ -z "$WHY" ] && ! concat_is_native "$d/native.out" "$d/run.out" "$d/recv.out"; then
		WHY="run+receive output differs from native: $(diff_native "$d/native.out" "$d/run.out" "$d/recv.out")"
	fi
	if [ -z "$WHY" ] && [ "$(wc -l <"$d/run.out")" -ge "$(wc -l <"$d/native.out")" ]; then
		WHY="the migration came after the end"
	fi
	[ -n "$WHY" ] || echo "# $t: $(wc -l <"$d/run.out") lines before the move, $(wc -l <"$d/recv.out") after"
}

# Nothing staged stays: the receiver's work directory is empty, the source's too.
left_behind() {
	find "$WORK" "${TMPDIR:-/var/tmp}" -maxdepth 1 -name 'pdvm-receive-*' -o -maxdepth 1 -name "pdvm-migrate-$1-*" 2>/dev/null | head -n 3
}

# ---- a ticker of two threads moves mid-run -----------------------------------------------
move migrate-ticker 5 0 -- "$GUEST/ticker" 40 50 2
verdict migrate-ticker "$(left_behind migrate-ticker)"

# ---- a pipeline: two processes, the pipe between them full, the program's status --------
move migrate-pipeline 20 3 -- /bin/sh -c 'i=0; while [ $i -lt 300 ]; do echo "line $i"; i=$((i+1)); done |
	{ while read -r l; do echo "got $l"; sleep 0.01; done; exit 3; }'
verdict migrate-pipeline "$(left_behind migrate-pipeline)"

# ---- memory: pre-copied while the program runs, the rest with the image ---------------------
# stopfile_move TEST WANT [ENV...] -- PROG ARGS... STOPFILE: PROG (which prints "ready", then
# works until STOPFILE exists) migrates once ready; STOPFILE is made after the move, and the
# receiver's last line of output must be WANT. The source's domain log goes to $SCRATCH/TEST/run.log.
stopfile_move() {
	local t=$1 want=$2 d=$SCRATCH/$1 port envs=()
	shift 2
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	local stop=${*: -1}
	mkdir -p "$d"
	port=$(free_port)
	WHY=""
	start_receive "$d/recv.out" "$d/recv.err" "$port" --writable "$d" ${RECEIVE_OPTS[@]+"${RECEIVE_OPTS[@]}"} ||
		{ WHY="no receiver"; return; }
	local rcv=$RCVPID
	domain_dir "$d"
	env ${envs[@]+"${envs[@]}"} timeout -k 5 "$PDVM_TIMEOUT" "$PDVM" run --name "$t" --log "$d/run.log" \
		--writable "$d" --memory 1G -- "$@" </dev/null >"$d/run.out" 2>"$d/run.err" &
	local pid=$!
	BGPIDS+=("$pid")
	if wait_sock "$t" "$pid" && wait_lines "$d/run.out" 1 "$pid"; then
		migrate "$t" "$port"
		touch "$stop"
		wait_pid "$pid"
		local src=$WRC
		wait_pid "$rcv"
		[ "$MRC" = 0 ] && [ "$src" = 0 ] && [ "$WRC" = 0 ] ||
			WHY="migrate exit $MRC ($(head -c 300 "$MERR")), source exit $src, receive exit $WRC
$(tails "$d/run.err" "$d/recv.err")"
	else
		wait_pid "$pid"
		WHY="the program did not get going: $(tails "$d/run.out" "$d/run.err")"
	fi
	[ -n "$WHY" ] || [ "$(tail -n 1 "$d/recv.out")" = "$want" ] || WHY="the target printed: $(head -c 300 "$d/recv.out")"
	[ -n "$WHY" ] || grep -q "migrated to .*pre-copy" "$d/run.log" || WHY="no pre-copy in the log: $(tail -n 3 "$d/run.log")"
	[ -n "$WHY" ] || echo "# $t: $(grep -o 'pre-copy.*' "$d/run.log")"
}

# 128 MiB of zero, random and text pages: the sum over all of it after the move is native's.
stopfile_move migrate-memory-intact "$("$GUEST/memfill" 128 2>/dev/null | grep sum)" -- "$GUEST/memfill" 128 "$SCRATCH/migrate-memory-intact/stop"
# --json: the first round carried the 128 MiB (a third zero pages, a third random: ~57 MiB of
# lz4), the image little.
verdict migrate-memory-intact "$(stats 's["rounds"] >= 1 and s["pages_per_round"][0] >= 32768 and
	s["precopy_bytes"] > 40 << 20 and s["image_bytes"] < s["precopy_bytes"] / 8 and s["paused_ms"] > 0 and
	s["max_downtime_ms"] == 20 and s["bytes"] >= s["precopy_bytes"] + s["image_bytes"]' ||
	echo "statistics: $(head -c 600 "$MOUT")")"

# A generous budget: the rest after the first round fits it, whatever the program does.
MIGRATE_OPTS=(--max-downtime 600000)
stopfile_move migrate-budget "consistent" -- "$GUEST/dirtier" 16 "$SCRATCH/migrate-budget/stop"
MIGRATE_OPTS=()
verdict migrate-budget "$(stats 's["rounds"] == 1 and s["precopy_stopped"] in ("the rest fits the downtime budget", "few pages left") and s["max_downtime_ms"] == 600000' ||
	echo "statistics: $(head -c 600 "$MOUT")")"

# A program rewriting 64 MiB without pause checks each word against the previous pass: a
# page written after it was pre-copied and not sent again would be stale. Once with the
# rounds as they come, once with one round only, so the image carries thousands of pages.
stopfile_move migrate-dirtying "consistent" -- "$GUEST/dirtier" 64 "$SCRATCH/migrate-dirtying/stop"
verdict migrate-dirtying
# (--postcopy never: else what the one round leaves, over the budget, would go post-copy.)
MIGRATE_OPTS=(--postcopy never)
stopfile_move migrate-dirtying-1round "consistent" PDVM_PRECOPY_ROUNDS=1 -- "$GUEST/dirtier" 64 "$SCRATCH/migrate-dirtying-1round/stop"
MIGRATE_OPTS=()
verdict migrate-dirtying-1round "$(grep -q 'round limit' "$SCRATCH/migrate-dirtying-1round/run.log" &&
	stats 'not s["postcopy"]' || echo "not stopped by the round limit, or went post-copy")"

# A program rewriting the same four pages without pause, a system call after each write:
# held to six rounds (test hook), its chunk is hot when written in two of the last three
# rounds, and its pages then wait for the final round instead of going again; the counters
# must add up there, and the stats carry the access pattern. (Whether the chunk shows hot
# depends on the platform's dirty log: on PVM a running vCPU's writes reach KVM's log late,
# and sub-millisecond rounds see none of them in about one run of four, so hotness itself
# is not asserted.)
stopfile_move migrate-hot-deferred "consistent" PDVM_PRECOPY_MIN_ROUNDS=6 -- "$GUEST/hotpage" \
	"$SCRATCH/migrate-hot-deferred/stop"
verdict migrate-hot-deferred "$(stats 's["rounds"] >= 6 and s["hot_chunks"] >= 0 and s["deferred_pages"] >= 0 and
	s["decision"] != "" and (s["deferred_pages"] == 0 or s["hot_chunks"] >= 1)' ||
	echo "statistics: $(head -c 800 "$MOUT")")"

# A vCPU that never exits (no system call between its writes) gets its writes into KVM's
# dirty log late (seen on PVM: rounds of pre-copy report none of them); the final pause
# must still catch every one. Each page is written once, 0.5 ms apart, through the rounds.
stopfile_move migrate-writes-without-exits "all 4096 writes there" PDVM_PRECOPY_MIN_ROUNDS=10 -- \
	"$GUEST/writeonce" 4096 500 "$SCRATCH/migrate-writes-without-exits/stop"
verdict migrate-writes-without-exits

# ---- post-copy: the domain starts at the target first, its memory follows ----------------------
# pstats EXPR: stats, with the post-copy figures as `p`.
pstats() { stats 's["postcopy"] and (lambda p: '"$1"')(s["postcopy_stats"])'; }

# --postcopy always: no pre-copy round; every page comes after the start, pushed in order or
# asked for when touched. The program rewrites 64 MiB throughout and checks every word; the
# source pushes nothing for its first 300 ms there (test hook), so its touches must ask.
MIGRATE_OPTS=(--postcopy always)
stopfile_move migrate-postcopy-always "consistent" PDVM_MIGRATE_STALL=postcopy:300 -- "$GUEST/dirtier" 64 \
	"$SCRATCH/migrate-postcopy-always/stop"
verdict migrate-postcopy-always "$(pstats 's["rounds"] == 0 and p["pages"] >= 16384 and p["faults"] >= 1 and
	p["asked"] >= 1 and p["pushed"] + p["asked"] == p["pages"] and p["reconnects"] == 0 and
	not p["ended_first"] and s["precopy_bytes"] == 0' || echo "statistics: $(head -c 900 "$MOUT")")"

# Two processes and a full pipe between them, post-copy.
move migrate-postcopy-pipeline 20 3 -- /bin/sh -c 'i=0; while [ $i -lt 300 ]; do echo "line $i"; i=$((i+1)); done |
	{ while read -r l; do echo "got $l"; sleep 0.01; done; exit 3; }'
verdict migrate-postcopy-pipeline "$(left_behind migrate-postcopy-pipeline)"

# 128 MiB of zero, random and text pages, all post-copied over TLS: the sum is native's.
RECEIVE_OPTS=(--key "$KEY") MIGRATE_OPTS=(--key "$KEY" --postcopy always)
stopfile_move migrate-postcopy-tls "$("$GUEST/memfill" 128 2>/dev/null | grep sum)" -- "$GUEST/memfill" 128 \
	"$SCRATCH/migrate-postcopy-tls/stop"
RECEIVE_OPTS=() MIGRATE_OPTS=()
verdict migrate-postcopy-tls "$(pstats 'p["pages"] >= 20000' || echo "statistics: $(head -c 900 "$MOUT")")"

# The target killed while the domain runs there in post-copy (the source holds its pushes 2 s,
# test hook): the domain ended with it. The source finds the connection gone, and nothing
# listening when it connects again: migrate says so (exit 1), the source's pdvm ends, and the
# receiver's staging is gone.
t=migrate-postcopy-target-killed
mkdir -p "$SCRATCH/$t"
port=$(free_port)
start_receive "$SCRATCH/$t/recv.out" "$SCRATCH/$t/recv.err" "$port" -v
export PDVM_MIGRATE_STALL=postcopy:2000
start_run "$t" "$SCRATCH/$t/run.out" "$SCRATCH/$t/run.err" -- "$GUEST/ticker" 30 50 1
unset PDVM_MIGRATE_STALL
SRCPID=$BGPID
WHY="the program did not get going"
if wait_sock "$t" "$SRCPID" && wait_lines "$SCRATCH/$t/run.out" 3 "$SRCPID"; then
	WHY=""
	timeout -k 5 120 "$PDVM" migrate --postcopy always "$t" "127.0.0.1:$port" </dev/null >"$MOUT" 2>"$MERR" &
	mpid=$!
	wait_text "$SCRATCH/$t/recv.err" "restored from" "$RCVPID" 20 || WHY="the target did not say it restored"
	sleep 0.5
	pkill -KILL -f "$PDVM receive --listen 127.0.0.1:$port "
	wait "$mpid"
	MRC=$?
	wait_pid "$SRCPID" 30
	[ -n "$WHY" ] || { [ "$MRC" = 1 ] && grep -q "post-copy: the target is gone" "$MERR"; } ||
		WHY="migrate exit $MRC: $(head -c 400 "$MERR")"
	[ -n "$WHY" ] || [ "$WRC" = 0 ] || WHY="the source's pdvm exited $WRC: $(tails "$SCRATCH/$t/run.err")"
	[ -n "$WHY" ] || [ -z "$(left_behind "$t")" ] || WHY="left behind: $(left_behind "$t")"
fi
verdict "$t"

# ---- a pre-shared key: TLS 1.3 -----------------------------------------------------------------
RECEIVE_OPTS=(--key "$KEY") MIGRATE_OPTS=(--key "$KEY")
stopfile_move migrate-tls "consistent" -- "$GUEST/dirtier" 16 "$SCRATCH/migrate-tls/stop"
RECEIVE_OPTS=() MIGRATE_OPTS=()
verdict migrate-tls

# ---- failures before the go: the domain goes on at the source ------------------------------
# goes_on TEST: the program ran to its end at the source, exactly as natively, with its
# status; the migration failed with a message matching PATTERN.
goes_on() {
	local t=$1 pat=$2 d=$SCRATCH/$1
	wait_pid "$SRCPID"
	wait "$NATPID"
	if [ "$MRC" != 1 ] || ! grep -q -- "$pat" "$MERR"; then
		fail "$t" "migrate exit $MRC, want 1 and /$pat/: $(head -c 400 "$MERR")"
	elif [ "$WRC" != 0 ] || ! cmp -s "$d/native.out" "$d/run.out"; then
		fail "$t" "source exit $WRC; output vs native: $(diff "$d/native.out" "$d/run.out" | head -n 5)
$(tails "$d/run.err")"
	elif [ -n "$(left_behind "$t")" ]; then
		fail "$t" "left behind: $(left_behind "$t")"
	else
		pass "$t"
	fi
}

# start_ticker TEST: the reference and the domain, once it has printed 3 lines; sets SRCPID.
start_ticker() {
	local d=$SCRATCH/$1
	mkdir -p "$d"
	native_bg "$d/native.out" "$GUEST/ticker" 30 50 1
	start_run "$1" "$d/run.out" "$d/run.err" "${@:2}" -- "$GUEST/ticker" 30 50 1
	SRCPID=$BGPID
	wait_sock "$1" "$SRCPID" && wait_lines "$d/run.out" 3 "$SRCPID"
}

# The target's policy refuses the image: the program holds a file open for writing in a
# tree the receiver does not let it write.
t=migrate-refused
mkdir -p "$SCRATCH/$t"
domain_dir "$SCRATCH/$t/w"
port=$(free_port)
start_receive "$SCRATCH/$t/recv.out" "$SCRATCH/$t/recv.err" "$port"
native_bg "$SCRATCH/$t/native.out" /bin/sh -c "exec 3>>$SCRATCH/$t/w/native.log; $GUEST/ticker 30 50 1"
mkdir -p "$SCRATCH/$t"
start_run "$t" "$SCRATCH/$t/run.out" "$SCRATCH/$t/run.err" --writable "$SCRATCH/$t/w" \
	-- /bin/sh -c "exec 3>>$SCRATCH/$t/w/run.log; $GUEST/ticker 30 50 1"
SRCPID=$BGPID
if wait_sock "$t" "$SRCPID" && wait_lines "$SCRATCH/$t/run.out" 3 "$SRCPID"; then
	migrate "$t" "$port"
	wait_pid "$RCVPID"
	[ "$WRC" = 2 ] || echo "# receive exit $WRC (want 2): $(tail -n 3 "$SCRATCH/$t/recv.err")"
fi
goes_on "$t" "gave up"

# The target dies mid-stream: a relay to a receiver that passes the answers back (the open
# files' verdict) and cuts both ways once 64 KiB have gone, in pre-copy.
t=migrate-target-dies
mkdir -p "$SCRATCH/$t"
port=$(free_port)
rport=$(free_port)
start_receive "$SCRATCH/$t/recv.out" "$SCRATCH/$t/recv.err" "$rport"
python3 -c 'import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); print("up", flush=True)
c, _ = s.accept(); t = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
def back():
    try:
        while True:
            b = t.recv(65536)
            if not b: break
            c.sendall(b)
    except OSError:
        pass
threading.Thread(target=back, daemon=True).start()
n = 0
while n < 65536:
    b = c.recv(65536 - n)
    if not b: break
    t.sendall(b)
    n += len(b)
c.shutdown(socket.SHUT_RDWR); c.close(); t.close()' "$port" "$rport" >"$SCRATCH/fake.out" 2>&1 &
FAKE=$!
BGPIDS+=("$FAKE")
for ((i = 0; i < 50; i++)); do grep -q up "$SCRATCH/fake.out" 2>/dev/null && break; sleep 0.1; done
if start_ticker "$t"; then
	migrate "$t" "$port"
fi
goes_on "$t" "closed\|reset\|Broken pipe"
wait "$FAKE" 2>/dev/null
wait_pid "$RCVPID"
[ "$WRC" = 1 ] || fail migrate-target-dies-receiver "receive exit $WRC (want 1): $(tail -n 3 "$SCRATCH/$t/recv.err")"

# Another key, and none, against a receiver with a key: the handshake fails, the domain goes
# on; the receiver turns them away and waits on.
t=migrate-wrong-key
port=$(free_port)
mkdir -p "$SCRATCH/$t"
start_receive "$SCRATCH/$t/recv.out" "$SCRATCH/$t/recv.err" "$port" --key "$KEY"
KEYRCV=$RCVPID
if start_ticker "$t"; then
	MIGRATE_OPTS=(--key "$KEY2")
	migrate "$t" "$port"
	MIGRATE_OPTS=()
	nokey=$MRC
	migrate "$t" "$port"
	[ "$nokey" = 1 ] || MRC="$MRC, and $nokey with another key"
fi
goes_on "$t" "TLS handshake\|closed\|malformed"
kill "$KEYRCV" 2>/dev/null
grep -q "turned away.*TLS" "$SCRATCH/$t/recv.err" || fail migrate-wrong-key-receiver "$(tail -n 3 "$SCRATCH/$t/recv.err")"

# A key others may read is refused, before anything moves.
chmod 644 "$KEY2"
if "$PDVM" migrate --key "$KEY2" no-such-domain 127.0.0.1:1 2>&1 | grep -q "chmod 600" ||
	"$PDVM" receive --key "$KEY2" --listen 127.0.0.1:1 2>&1 | grep -q "chmod 600"; then
	pass migrate-key-mode
else
	fail migrate-key-mode "a world-readable key was taken"
fi

# ---- the receiver and hostile input -------------------------------------------------------
# Garbage instead of a migration stream: the receiver says so and exits 1, leaving nothing.
t=receive-garbage
port=$(free_port)
mkdir -p "$SCRATCH/$t"
start_receive "$SCRATCH/$t/out" "$SCRATCH/$t/err" "$port"
python3 -c 'import socket, sys, os
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(os.urandom(4096)); c.shutdown(socket.SHUT_WR); c.recv(100)' "$port" 2>/dev/null
wait_pid "$RCVPID" 20
if [ "$WRC" = 1 ] && grep -q "malformed stream" "$SCRATCH/$t/err" && [ -z "$(left_behind nothing)" ]; then
	pass "$t"
else
	fail "$t" "receive exit $WRC: $(tail -n 3 "$SCRATCH/$t/err"); left: $(left_behind nothing)"
fi

# ---- the files the domain has open: checked at the target before the source pauses --------
# The receiver sees another host's files: it runs in a mount namespace of its own, with a
# directory bound over the one the domain's file is in. A copy of the file there (another
# inode and time, the same contents) is the same file; another content, or none, turns the
# source away while the domain runs, naming the file, and it goes on there.
if unshare -m --propagation private true 2>/dev/null; then
	# target_sees DIR OVER: the next receivers see DIR at OVER.
	target_sees() {
		RECEIVE_WRAP=(unshare -m --propagation private -- sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
			sh "$1" "$2")
	}
	t=migrate-file-copy
	mkdir -p "$SCRATCH/$t/data" "$SCRATCH/$t/there"
	seq 1 1000 >"$SCRATCH/$t/data/input"
	sleep 0.01
	cp "$SCRATCH/$t/data/input" "$SCRATCH/$t/there/input"
	target_sees "$SCRATCH/$t/there" "$SCRATCH/$t/data"
	# It reads the file through the fd it opened before the move, after it.
	move "$t" 5 0 -- /bin/sh -c "exec 3<$SCRATCH/$t/data/input; $GUEST/ticker 40 50 2; wc -l <&3"
	RECEIVE_WRAP=()
	verdict "$t"

	# file_refused TEST WHAT PATTERN: the target's copy of the domain's open file is WHAT
	# (other: another content of the same size; none: missing); migrate must fail with PATTERN.
	file_refused() {
		local t=$1 d=$SCRATCH/$1 port
		MRC="not run"
		mkdir -p "$d/data" "$d/there"
		printf 'the source copy\n' >"$d/data/input"
		[ "$2" = none ] || printf 'the target copy\n' >"$d/there/input"
		target_sees "$d/there" "$d/data"
		port=$(free_port)
		native_bg "$d/native.out" /bin/sh -c "exec 3<$d/data/input; exec $GUEST/ticker 30 50 1"
		if start_receive "$d/recv.out" "$d/recv.err" "$port"; then
			start_run "$t" "$d/run.out" "$d/run.err" -- /bin/sh -c "exec 3<$d/data/input; exec $GUEST/ticker 30 50 1"
			SRCPID=$BGPID
			if wait_sock "$t" "$SRCPID" && wait_lines "$d/run.out" 3 "$SRCPID"; then
				migrate "$t" "$port"
				wait_pid "$RCVPID"
				[ "$WRC" = 1 ] || MRC="$MRC (receive exit $WRC, want 1: $(tail -n 2 "$d/recv.err"))"
			fi
		fi
		RECEIVE_WRAP=()
		goes_on "$t" "$3"
	}
	file_refused migrate-file-changed other "gave up: a file the domain has open differs on the target: $SCRATCH/migrate-file-changed/data/input: content differs"
	file_refused migrate-file-missing none "gave up: .*$SCRATCH/migrate-file-missing/data/input: missing"

	# --copy-writable: the target's writable directory starts empty. The program appends
	# numbered lines to a file there through an fd it keeps open (every 10 ms, through a
	# pre-copy held to six rounds after a 300 ms wait), next to a subdirectory, a file and a
	# symlink made before;
	# after the move it goes on appending there. The target's file must hold every line
	# once, in order; the source's copy, the lines before the pause; the rest as made.
	# copy_writable TEST [MIGRATE-OPTS...]
	copy_writable() {
		local t=$1 d=$SCRATCH/$1 port rcv src srcrc n
		shift
		mkdir -p "$d"
		domain_dir "$d/w" "$d/there"
		mkdir "$d/w/sub"
		head -c 300000 /dev/urandom >"$d/w/sub/blob"
		ln -s sub/blob "$d/w/link"
		chown -R "$DOMAIN_USER:" "$d/w"
		chmod 640 "$d/w/sub/blob"
		target_sees "$d/there" "$d/w"
		port=$(free_port)
		WHY=""
		if start_receive "$d/recv.out" "$d/recv.err" "$port" --writable "$d/w"; then
			rcv=$RCVPID
			PDVM_PRECOPY_MIN_ROUNDS=6 PDVM_MIGRATE_STALL=precopy:300 start_run "$t" "$d/run.out" "$d/run.err" --writable "$d/w" --log "$d/run.log" -- \
				/bin/sh -c "exec 3>>$d/w/log; echo started; i=0; while [ \$i -lt 300 ]; do echo \$i >&3; i=\$((i+1)); sleep 0.01; done; echo done"
			src=$BGPID
			if wait_sock "$t" "$src" && wait_lines "$d/run.out" 1 "$src" && wait_text "$d/w/log" "^20$" "$src"; then
				MIGRATE_OPTS=(--copy-writable "$@")
				migrate "$t" "$port"
				MIGRATE_OPTS=()
				wait_pid "$src"
				srcrc=$WRC
				wait_pid "$rcv"
				[ "$MRC" = 0 ] && [ "$srcrc" = 0 ] && [ "$WRC" = 0 ] ||
					WHY="migrate exit $MRC ($(head -c 300 "$MERR")), source exit $srcrc, receive exit $WRC
$(tails "$d/run.err" "$d/recv.err")"
			else
				wait_pid "$src"
				WHY="the program did not get going: $(tails "$d/run.out" "$d/run.err")"
			fi
		else
			WHY="no receiver: $(tails "$d/recv.err")"
		fi
		RECEIVE_WRAP=()
		n=$(wc -l <"$d/w/log" 2>/dev/null)
		[ -n "$WHY" ] || cmp -s "$d/there/log" <(seq 0 299) ||
			WHY="the target's file is not every line once: $(diff <(seq 0 299) "$d/there/log" | head -n 5)"
		[ -n "$WHY" ] || { [ "$n" -ge 20 ] && [ "$n" -lt 300 ] && cmp -s "$d/w/log" <(seq 0 $((n - 1))); } ||
			WHY="the source's file has $n lines: not the lines before the move"
		[ -n "$WHY" ] || { cmp -s "$d/w/sub/blob" "$d/there/sub/blob" && [ "$(readlink "$d/there/link")" = sub/blob ] &&
			[ "$(stat -c '%a %U' "$d/there/sub/blob")" = "640 $(id -un "$DOMAIN_USER")" ]; } ||
			WHY="the rest differs there: $(ls -lR "$d/there" | head -n 12)"
		[ -n "$WHY" ] || [ "$(cat "$d/recv.out")" = done ] || WHY="the target printed: $(head -c 200 "$d/recv.out")"
		[ -n "$WHY" ] || grep -q "copying the writable paths again, paused: [1-9]" "$d/run.log" ||
			WHY="no second pass in the log: $(grep copying "$d/run.log")"
		[ -n "$WHY" ] || echo "# $t: $n lines before the move; $(grep -o 'copying the writable paths again.*' "$d/run.log")"
		verdict "$t"
	}
	copy_writable migrate-copy-writable
	# With post-copy from the start: the second pass still goes while paused, before the
	# domain starts there.
	copy_writable migrate-copy-writable-postcopy --postcopy always
else
	skip migrate-file-copy "no mount namespaces here (unshare -m)"
	skip migrate-file-changed "no mount namespaces here (unshare -m)"
	skip migrate-copy-writable "no mount namespaces here (unshare -m)"
	skip migrate-copy-writable-postcopy "no mount namespaces here (unshare -m)"
fi

# The target already runs a domain of that name: turned away at the hello, before the
# source pauses.
t=migrate-name-taken-at-target
port=$(free_port)
mkdir -p "$SCRATCH/$t"
PDVM_RUN_DIR=$RUN_B start_run "$t" "$SCRATCH/$t/other.out" "$SCRATCH/$t/other.err" -- /bin/busybox sleep 60
other=$BGPID
PDVM_RUN_DIR=$RUN_B wait_sock "$t" "$other"
if start_receive "$SCRATCH/$t/recv.out" "$SCRATCH/$t/recv.err" "$port" && start_ticker "$t"; then
	migrate "$t" "$port"
fi
goes_on "$t" "already running"
kill "$other" 2>/dev/null

# While it moves: `pdvm list` answers at once, "migrating" at the source and "incoming" at
# the target; pause is refused there, not queued behind the migration; on a terminal
# migrate draws a progress line. The source waits in pre-copy (test hook) long enough to
# look.
t=migrate-list-states
d=$SCRATCH/$t
mkdir -p "$d"
port=$(free_port)
WHY="the test broke off"
if start_receive "$d/recv.out" "$d/recv.err" "$port"; then
	rcv=$RCVPID
	PDVM_MIGRATE_STALL=precopy:2500 start_run "$t" "$d/run.out" "$d/run.err" -- "$GUEST/ticker" 120 50 1
	src=$BGPID
	if wait_sock "$t" "$src" && wait_lines "$d/run.out" 3 "$src"; then
		# On a terminal (script's pty) it shows its progress line.
		timeout -k 5 60 script -qec "$PDVM migrate $t 127.0.0.1:$port" "$d/tty" </dev/null >"$d/migrate.out" \
			2>"$d/migrate.err" &
		mpid=$!
		sleep 1
		t0=$(date +%s%N)
		a=$(timeout 5 "$PDVM" list 2>&1 | awk -v n="$t" '$1 == n { print $3 }')
		t1=$(date +%s%N)
		b=$(PDVM_RUN_DIR=$RUN_B timeout 5 "$PDVM" list 2>&1 | awk -v n="$t" '$1 == n { print $3 }')
		p=$(timeout 5 "$PDVM" pause "$t" 2>&1)
		prc=$?
		wait "$mpid"
		mrc=$?
		wait_pid "$src"
		srcrc=$WRC
		wait_pid "$rcv"
		WHY=""
		if [ "$a" != migrating ] || [ $(((t1 - t0) / 1000000)) -gt 1000 ] || [ "$b" != incoming ] ||
		   [ "$prc" = 0 ] || [[ $p != *migrating* ]] || [ "$mrc" != 0 ] || [ "$srcrc" != 0 ] || [ "$WRC" != 0 ] ||
		   ! grep -q "$t: pre-copy, round [0-9]*, [0-9.]* MiB sent" "$d/tty"; then
			WHY="source list: '$a' in $(((t1 - t0) / 1000000)) ms; target list: '$b'; pause exit $prc: $p
migrate exit $mrc: $(cat "$d/migrate.err"); source exit $srcrc, receive exit $WRC; on its terminal:
$(tr '\r' '\n' <"$d/tty" | tail -n 4)"
		fi
	fi
fi
verdict "$t"

# Usage: what is wrong is said before anything moves.
"$PDVM" migrate >/dev/null 2>&1; u1=$?
"$PDVM" migrate somename not-an-address >/dev/null 2>&1; u2=$?
"$PDVM" receive extra >/dev/null 2>&1; u3=$?
"$PDVM" receive --lazy >/dev/null 2>&1; u4=$?
"$PDVM" migrate no-such-domain 127.0.0.1:1 >/dev/null 2>"$SCRATCH/nosuch.err"; u5=$?
if [ "$u1$u2$u3$u4$u5" = 22221 ] && grep -q "no such domain" "$SCRATCH/nosuch.err"; then
	pass migrate-usage
else
	fail migrate-usage "exit statuses $u1 $u2 $u3 $u4 $u5 (want 2 2 2 2 1): $(cat "$SCRATCH/nosuch.err")"
fi

# Without a key, only loopback: a target at this host's own non-loopback address is refused
# before anything is sent, and the domain goes on.
ip4=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ sub("/.*", "", $4); print $4; exit }')
if [ -n "$ip4" ]; then
	t=migrate-needs-loopback
	if start_ticker "$t"; then
		timeout -k 5 60 "$PDVM" migrate "$t" "$ip4:9" </dev/null >/dev/null 2>"$MERR"
		MRC=$?
	fi
	goes_on "$t" "not a loopback address"
else
	skip migrate-needs-loopback "no non-loopback IPv4 address here"
fi
finish

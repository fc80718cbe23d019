#!/bin/bash
# shmap.sh: MAP_SHARED file mappings write back on msync, munmap and exit, exactly as natively (files compared byte for byte); and still after a snapshot/restore.
# timeout: 200
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/shmap"

N=$SCRATCH/native P=$SCRATCH/pdvm
domain_dir "$N" "$P"
run_native -- "$GUEST/shmap" "$N"
cp "$OUT" "$SCRATCH/native.out"
run_pdvm --writable "$P" -- "$GUEST/shmap" "$P"
why=""
[ "$RC" = 0 ] || why="exit $RC"
cmp -s "$OUT" "$SCRATCH/native.out" || why="$why; output differs: $(diff "$SCRATCH/native.out" "$OUT" | head -5)"
for f in shared private atexit; do
	cmp -s "$N/$f" "$P/$f" || why="$why; $f differs from native"
done
if [ -z "$why" ]; then pass "shared-mappings-like-native"; else fail "shared-mappings-like-native" "$why
$(last_output)"; fi

# Snapshot while a shared mapping is alive; the restored domain writes back at its exit.
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"
S=$SCRATCH/snapdir
domain_dir "$S"
start_run shm "$SCRATCH/run.out" "$SCRATCH/run.err" --writable "$S" -- "$GUEST/shmap" "$S" hold
pid=$BGPID
why=""
if wait_sock shm "$pid" && wait_lines "$SCRATCH/run.out" 9 "$pid" && grep -q holding "$SCRATCH/run.out"; then
	snap shm "$SCRATCH/img" --stop
	wait_pid "$pid"
	[ "$SRC" = 0 ] || why="snapshot exit $SRC: $(cat "$SERR")"
	if [ -z "$why" ]; then
		restore_fg "$SCRATCH/restore.out" "$SCRATCH/restore.err" --writable "$S" "$SCRATCH/img"
		[ "$RRC" = 0 ] || why="restore exit $RRC: $(tails "$SCRATCH/restore.err")"
	fi
else
	wait_pid "$pid"
	why="the program did not reach 'holding': $(tails "$SCRATCH/run.out" "$SCRATCH/run.err")"
fi
if [ -z "$why" ]; then
	grep -q exit-write "$S/atexit" || why="the write before the snapshot is not in the file"
	grep -q late-write "$S/atexit" || why="$why; the write after restore is not in the file"
fi
if [ -z "$why" ]; then pass "shared-mapping-survives-restore"; else fail "shared-mapping-survives-restore" "$why"; fi
finish

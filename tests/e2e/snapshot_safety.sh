#!/bin/bash
# snapshot_safety.sh: a snapshot that runs out of disk leaves the domain running unharmed; kill -9 of pdvm mid-snapshot leaves the earlier image intact and no half image that restore accepts; CLOCK_MONOTONIC does not jump over time spent stopped.
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/ticker" "$GUEST/clockgap"

export PDVM_RUN_DIR=$SCRATCH/run
PIDS=()
# PIDS are timeout wrappers: their pdvm children go too, or they run on orphaned.
cleanup_pids() { for p in "${PIDS[@]+"${PIDS[@]}"}"; do pkill -KILL -P "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done; }
trap 'cleanup_pids; umount "$SCRATCH/small" 2>/dev/null; _e2e_cleanup' EXIT

wait_sock() {
	local i
	for i in $(seq 200); do
		[ -S "$PDVM_RUN_DIR/$1.sock" ] && return 0
		sleep 0.05
	done
	return 1
}

"$GUEST/ticker" 150 10 >"$SCRATCH/native.out"

# ---- out of disk: a 256 KiB tmpfs cannot hold the image --------------------------------------
mkdir -p "$SCRATCH/small"
if mount -t tmpfs -o size=256k tmpfs "$SCRATCH/small" 2>/dev/null; then
	timeout -k 5 120 "$PDVM" run --name full -- "$GUEST/ticker" 150 10 >"$SCRATCH/full.out" 2>"$SCRATCH/full.err" &
	pid=$!
	PIDS+=("$pid")
	wait_sock full || fail "full-socket" "control socket never appeared"
	timeout 60 "$PDVM" snapshot full "$SCRATCH/small/img" 2>"$SCRATCH/snap.err"
	src=$?
	wait "$pid"
	rrc=$?
	if [ "$src" = 1 ] && grep -qi "no space" "$SCRATCH/snap.err"; then
		pass "enospc-snapshot-fails-cleanly"
	else
		fail "enospc-snapshot-fails-cleanly" "snapshot exit $src: $(cat "$SCRATCH/snap.err")"
	fi
	if [ "$rrc" = 0 ] && cmp -s "$SCRATCH/full.out" "$SCRATCH/native.out"; then
		pass "enospc-domain-unharmed"
	else
		fail "enospc-domain-unharmed" "run exit $rrc; $(diff "$SCRATCH/full.out" "$SCRATCH/native.out" | head -5)"
	fi
	if [ -z "$(ls -A "$SCRATCH/small")" ]; then
		pass "enospc-no-leftovers"
	else
		fail "enospc-no-leftovers" "$(ls -la "$SCRATCH/small")"
	fi
	umount "$SCRATCH/small"
else
	skip "enospc" "cannot mount a small tmpfs"
fi

# ---- kill -9 of the domain's pdvm in the middle of a snapshot --------------------------------
# The domain writes its own image, so killing its pdvm kills the writer. A 256 MiB domain
# takes long enough to write that the kill lands during the write.
IMG=$SCRATCH/img
timeout -k 5 120 "$PDVM" run --name k9 --memory 512M -- "$GUEST/ticker" 100000 5 >/dev/null 2>"$SCRATCH/k9.err" &
pid=$!
PIDS+=("$pid")
wait_sock k9 || fail "k9-socket" "control socket never appeared"
timeout 60 "$PDVM" snapshot k9 "$IMG" || fail "k9-first-snapshot" "exit $?"
old_id=$(sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p;s/.*"id": *"\([0-9a-f]*\)".*/\1/p' "$IMG/manifest.json" | head -n1)
# Make the second image big: ask for it, then kill the writer right away.
timeout 60 "$PDVM" snapshot k9 "$IMG" 2>/dev/null &
spid=$!
sleep 0.05
# $pid is the timeout wrapper: the kill is for the pdvm under it (the writer).
pkill -KILL -P "$pid" -x pdvm
wait "$spid" 2>/dev/null
wait "$pid" 2>/dev/null
new_id=$(sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p;s/.*"id": *"\([0-9a-f]*\)".*/\1/p' "$IMG/manifest.json" | head -n1)
if [ -n "$old_id" ] && timeout 60 "$PDVM" restore --check "$IMG" 2>"$SCRATCH/check.err"; then
	pass "kill9-image-dir-still-valid"
else
	fail "kill9-image-dir-still-valid" "old id $old_id new id $new_id; $(cat "$SCRATCH/check.err")"
fi
bad=""
for d in "$SCRATCH"/img.tmp-*; do
	[ -d "$d" ] || continue
	if timeout 60 "$PDVM" restore --check "$d" 2>/dev/null; then bad="$bad $d"; fi
done
if [ -z "$bad" ]; then pass "kill9-no-half-image-accepted"; else fail "kill9-no-half-image-accepted" "$bad"; fi

# ---- clocks: stopped for 3 s; monotonic steps stay small, realtime moves on ------------------
timeout -k 5 120 "$PDVM" run --name clk -- "$GUEST/clockgap" 100 20 >"$SCRATCH/clk1.out" 2>/dev/null &
pid=$!
PIDS+=("$pid")
wait_sock clk || fail "clk-socket" "control socket never appeared"
sleep 0.5
timeout 60 "$PDVM" snapshot --stop clk "$SCRATCH/clkimg" 2>/dev/null
wait "$pid"
sleep 3
timeout 120 "$PDVM" restore "$SCRATCH/clkimg" >"$SCRATCH/clk2.out" 2>"$SCRATCH/clk2.err"
crc=$?
gap=$(sed -n 's/^maxgap_ms //p' "$SCRATCH/clk2.out")
real=$(sed -n 's/^realtime_s //p' "$SCRATCH/clk2.out")
if [ "$crc" = 0 ] && [ -n "$gap" ] && [ "$gap" -lt 1500 ]; then
	pass "monotonic-continues-without-jump"
else
	fail "monotonic-continues-without-jump" "exit $crc, maxgap_ms=$gap; $(cat "$SCRATCH/clk2.err")"
fi
if [ -n "$real" ] && awk -v r="$real" 'BEGIN { exit !(r >= 3.0) }'; then
	pass "realtime-is-real-time"
else
	fail "realtime-is-real-time" "realtime_s=$real (stopped for 3 s)"
fi

finish

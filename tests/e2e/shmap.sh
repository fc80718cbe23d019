#!/bin/bash
# shmap.sh: MAP_SHARED file mappings write back on msync, munmap and exit, exactly as natively (files compared byte for byte); and still after a snapshot/restore, sharing their pages; an image of shmaps 2 (private copies) restores into the page cache; /proc/self/maps names file mappings the same after a restore.
# timeout: 200
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/shmap" "$GUEST/filemaps" "$GUEST/pagecache" tests/fixtures/shmaps2/img/manifest.json

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
	grep -q '^ok .* - after the restore the two mappings still share' "$SCRATCH/restore.out" ||
		why="$why; the mappings no longer share after restore: $(tails "$SCRATCH/restore.out")"
	! grep -q '^not ok' "$SCRATCH/restore.out" || why="$why; $(grep '^not ok' "$SCRATCH/restore.out")"
fi
if [ -z "$why" ]; then pass "shared-mapping-survives-restore"; else fail "shared-mapping-survives-restore" "$why"; fi

# Two processes that mapped one file each on its own, snapshotted while they hold their
# mappings: after the restore each sees the other's stores (every address space's mappings
# point at the restored cache) and the file gets both.
S2=$SCRATCH/twoproc
domain_dir "$S2"
start_run pc2 "$SCRATCH/pc2.out" "$SCRATCH/pc2.err" --writable "$S2" -- "$GUEST/pagecache" "$S2" hold
pid=$BGPID
why=""
if wait_sock pc2 "$pid" && wait_lines "$SCRATCH/pc2.out" 2 "$pid" && grep -q holding "$SCRATCH/pc2.out"; then
	snap pc2 "$SCRATCH/pc2img" --stop
	wait_pid "$pid"
	[ "$SRC" = 0 ] || why="snapshot exit $SRC: $(cat "$SERR")"
	if [ -z "$why" ]; then
		restore_fg "$SCRATCH/pc2r.out" "$SCRATCH/pc2r.err" --writable "$S2" "$SCRATCH/pc2img"
		[ "$RRC" = 0 ] || why="restore exit $RRC: $(tails "$SCRATCH/pc2r.out" "$SCRATCH/pc2r.err")"
		grep -q '^ok .* - the file has both' "$SCRATCH/pc2r.out" || why="$why; $(tails "$SCRATCH/pc2r.out")"
	fi
else
	wait_pid "$pid"
	why="the program did not reach 'holding': $(tails "$SCRATCH/pc2.out" "$SCRATCH/pc2.err")"
fi
if [ -z "$why" ]; then pass "two-processes-share-after-restore"; else fail "two-processes-share-after-restore" "$why"; fi

# An image of shmaps 2 (tests/fixtures/shmaps2, written by pdvm as of b298121, when shared
# mappings were private copies): restored, its two copies of one file page become one cached
# page with both stores, the mappings share it and write back.
X=/var/tmp/pdvm-shmaps2
why=""
rm -rf "$X"
mkdir -p -m 777 "$X/dir"
cp -p tests/fixtures/shmaps2/files/* "$X/dir/"
# A checkout does not keep their owner: the domain's user writes them back.
chown "$DOMAIN_USER" "$X/dir/"* 2>/dev/null || chmod 666 "$X/dir/"*
cp -r tests/fixtures/shmaps2/img "$SCRATCH/oldimg"
# Copies of the files: new inodes, hence --force. The image came from a PVM host whose
# guests had AMX (XCR0 0x600e7); the program never used it: --cpu-cap none.
restore_fg "$SCRATCH/old.out" "$SCRATCH/old.err" --force --cpu-cap none --writable "$X/dir" "$SCRATCH/oldimg"
[ "$RRC" = 0 ] || why="restore exit $RRC: $(tails "$SCRATCH/old.out" "$SCRATCH/old.err")"
grep -q '^ok .* - after the restore the two mappings still share' "$SCRATCH/old.out" ||
	why="$why; the copies do not share after restore: $(tails "$SCRATCH/old.out")"
grep -q late-write "$X/dir/atexit" && grep -q exit-write "$X/dir/atexit" ||
	why="$why; the writes are not in the file"
rm -rf "$X"
if [ -z "$why" ]; then pass "shmaps2-image-restores-into-the-cache"; else fail "shmaps2-image-restores-into-the-cache" "$why"; fi

# /proc/self/maps names the same files at the same offsets after a restore (mm 2, and procs 4
# for a child alive in the image): the program compares its lines before the snapshot with
# those after.
F=$SCRATCH/mapsdir
domain_dir "$F"
start_run fmaps "$SCRATCH/fm.out" "$SCRATCH/fm.err" --writable "$F" -- "$GUEST/filemaps" "$F" hold
pid=$BGPID
why=""
for ((i = 0; i < 200; i++)); do
	grep -q '^holding' "$SCRATCH/fm.out" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if wait_sock fmaps "$pid" && grep -q '^holding' "$SCRATCH/fm.out"; then
	snap fmaps "$SCRATCH/fmimg" --stop
	wait_pid "$pid"
	[ "$SRC" = 0 ] || why="snapshot exit $SRC: $(cat "$SERR")"
	if [ -z "$why" ]; then
		restore_fg "$SCRATCH/fmr.out" "$SCRATCH/fmr.err" --writable "$F" "$SCRATCH/fmimg"
		[ "$RRC" = 0 ] || why="restore exit $RRC: $(tails "$SCRATCH/fmr.out" "$SCRATCH/fmr.err")"
		grep -q '^ok .* - the same after a restore' "$SCRATCH/fmr.out" &&
			grep -q '^ok .* - and in a child that was in the image' "$SCRATCH/fmr.out" ||
			why="$why; the maps differ after restore: $(tails "$SCRATCH/fmr.out")"
	fi
else
	wait_pid "$pid"
	why="the program did not reach 'holding': $(tails "$SCRATCH/fm.out" "$SCRATCH/fm.err")"
fi
grep -q '^not ok' "$SCRATCH/fm.out" && why="$why; before the snapshot: $(grep '^not ok' "$SCRATCH/fm.out")"
if [ -z "$why" ]; then pass "file-mapping-names-survive-restore"; else fail "file-mapping-names-survive-restore" "$why"; fi
finish

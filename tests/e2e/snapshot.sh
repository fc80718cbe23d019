#!/bin/bash
# snapshot.sh: pdvm snapshot/restore end to end — stop+restore (1 and 4 threads), 10 cycles, incremental chain, lazy restore, a busybox applet, file offsets and writes, refused images, snapshot into a foreign directory, a stopped child, POSIX record locks, a thread's own working directory, a working directory too deep to name.
# timeout: 600
#
# Every check compares against the same static program run natively: the output of
# `pdvm run` up to the snapshot followed by the output of `pdvm restore` must be exactly
# the native output. Images and files live in $SCRATCH (the VM's tmpfs).
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/ticker" "$GUEST/filestate" "$GUEST/anonstate" "$GUEST/jobctl" "$GUEST/posixlock" "$GUEST/threadfs" "$GUEST/deepcwd" /bin/busybox
BB=/bin/busybox

. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"

# ---- 1, 2, 5: a ticker stopped mid-run and restored -------------------------------------------------

# stop_restore TEST NAME N PERIOD THREADS K [RESTORE-OPTS...]: runs the ticker in pdvm,
# `snapshot --stop` once it printed K lines, restores with RESTORE-OPTS; run+restore must equal native.
# Leaves the image in $SCRATCH/NAME/img.
stop_restore() {
	local test=$1 name=$2 n=$3 period=$4 threads=$5 k=$6
	shift 6
	local d=$SCRATCH/$name why=""
	mkdir -p "$d"
	native_bg "$d/native.out" "$GUEST/ticker" "$n" "$period" "$threads"
	local natpid=$NATPID
	start_run "$name" "$d/run.out" "$d/run.err" -- "$GUEST/ticker" "$n" "$period" "$threads"
	local pid=$BGPID
	if ! wait_sock "$name" "$pid"; then
		wait_pid "$pid"
		fail "$test" "no control socket $PDVM_RUN_DIR/$name.sock appeared (run exit $WRC)
$(tails "$d/run.out" "$d/run.err")"
		return
	fi
	wait_lines "$d/run.out" "$k" "$pid"
	snap --stop "$name" "$d/img"
	local src=$SRC
	wait_pid "$pid"
	if [ "$src" != 0 ]; then
		fail "$test" "pdvm snapshot --stop $name $d/img: exit $src (run exit $WRC)
$(tails "$SERR" "$d/run.out" "$d/run.err")"
		return
	fi
	[ "$WRC" = 0 ] || why="pdvm run exited $WRC after snapshot --stop (want 0)"
	grep -q "checkpointed to .* and stopped" "$d/run.err" ||
		why="${why:+$why
}no 'checkpointed to DIR and stopped' on pdvm run's stderr"
	restore_fg "$d/restore.out" "$d/restore.err" "$@" "$d/img"
	wait "$natpid"
	echo "# $test: $(wc -l <"$d/run.out") lines before the snapshot, $(wc -l <"$d/restore.out") after"
	[ "$RRC" = 0 ] || why="${why:+$why
}pdvm restore $* exited $RRC (want 0)"
	[ -s "$d/run.out" ] || why="${why:+$why
}the run printed nothing before the snapshot (not mid-run)"
	[ -s "$d/restore.out" ] || why="${why:+$why
}the restore printed nothing (not mid-run)"
	concat_is_native "$d/native.out" "$d/run.out" "$d/restore.out" ||
		why="${why:+$why
}run+restore output differs from native:
$(diff_native "$d/native.out" "$d/run.out" "$d/restore.out")"
	if [ -z "$why" ]; then
		pass "$test"
	else
		fail "$test" "$why
$(tails "$d/run.err" "$d/restore.out" "$d/restore.err")"
	fi
}

stop_restore "ticker-1-thread-stop-restore" t1 250 10 1 10
stop_restore "ticker-4-threads-stop-restore" t4 250 10 4 10
stop_restore "lazy-restore" tl 250 10 1 10 --lazy

# native_pass_only FUNC: the nested ring-0 pass on a PVM host (tests/run.sh sets
# PDVM_E2E_BACKEND_ONLY there) checks the trap backend: what only the image format and the
# VMM's own state decide (cycles, chains, refused images, files, locks, memfds) is the same
# under any backend and runs in the native pass. Without /dev/kvm the nested pass is the
# only one, and runs everything.
native_pass_only() {
	echo "# ${SECONDS}s"
	if [ -n "${PDVM_E2E_BACKEND_ONLY:-}" ]; then echo "# $1: in the native pass only"; else "$1"; fi
}

# ---- 3: ten snapshot/restore cycles of one run ----------------------------------------------------
cycles() {
	local test=ten-cycles d=$SCRATCH/cycles n=1200 period=10 c why="" empty=""
	mkdir -p "$d"
	native_bg "$d/native.out" "$GUEST/ticker" "$n" "$period"
	local natpid=$NATPID
	start_run cyc0 "$d/out0" "$d/err0" -- "$GUEST/ticker" "$n" "$period"
	local pid=$BGPID
	for ((c = 1; c <= 10; c++)); do
		local prev=cyc$((c - 1))
		if ! wait_sock "$prev" "$pid"; then
			wait_pid "$pid"
			why="cycle $c: no control socket for $prev (its pdvm exited $WRC)
$(tails "$d/out$((c - 1))" "$d/err$((c - 1))")"
			break
		fi
		wait_lines "$d/out$((c - 1))" 5 "$pid"
		snap --stop "$prev" "$d/img$c"
		local src=$SRC
		wait_pid "$pid"
		if [ "$src" != 0 ] || [ "$WRC" != 0 ]; then
			why="cycle $c: pdvm snapshot --stop $prev exit $src, its pdvm exited $WRC (want 0 and 0)
$(tails "$SERR" "$d/out$((c - 1))" "$d/err$((c - 1))")"
			break
		fi
		[ -s "$d/out$((c - 1))" ] || empty="$empty $((c - 1))"
		start_restore "cyc$c" "$d/out$c" "$d/err$c" "$d/img$c"
		pid=$BGPID
	done
	if [ -z "$why" ]; then
		wait_pid "$pid" 0
		[ "$WRC" = 0 ] || why="the last restore (cyc10) exited $WRC (want 0)
$(tails "$d/err10")"
		[ -s "$d/out10" ] || empty="$empty 10"
		local outs=() counts=""
		for ((c = 0; c <= 10; c++)); do
			outs+=("$d/out$c")
			counts="$counts $(wc -l <"$d/out$c")"
		done
		wait "$natpid"
		echo "# $test: lines per segment:$counts"
		concat_is_native "$d/native.out" "${outs[@]}" ||
			why="${why:+$why
}the 11 segments together differ from native:
$(diff_native "$d/native.out" "${outs[@]}")"
		[ -z "$empty" ] || why="${why:+$why
}segments that printed nothing (the cycle was not mid-run):$empty"
	fi
	if [ -z "$why" ]; then
		pass "$test"
	else
		wait "$pid" 2>/dev/null
		fail "$test" "$why"
	fi
}
native_pass_only cycles

# ---- 4: an incremental chain A <- B <- C ------------------------------------------------------------
incremental() {
	local d=$SCRATCH/inc n=600 period=10 why="" lines
	mkdir -p "$d"
	native_bg "$d/native.out" "$GUEST/ticker" "$n" "$period"
	local natpid=$NATPID
	start_run inc "$d/run.out" "$d/run.err" -- "$GUEST/ticker" "$n" "$period"
	local pid=$BGPID
	if ! wait_sock inc "$pid"; then
		wait_pid "$pid"
		fail "incremental-chain" "no control socket (run exit $WRC)
$(tails "$d/run.out" "$d/run.err")"
		fail "incremental-manifests" "no chain was written"
		fail "incremental-missing-parent-refused" "no chain was written"
		return
	fi
	wait_lines "$d/run.out" 10 "$pid"
	snap inc "$d/A"
	[ "$SRC" = 0 ] || why="pdvm snapshot inc $d/A: exit $SRC: $(cat "$SERR")"
	if [ -z "$why" ]; then
		mapfile -t lines <"$d/run.out"
		wait_lines "$d/run.out" $((${#lines[@]} + 5)) "$pid"
		snap --parent "$d/A" inc "$d/B"
		[ "$SRC" = 0 ] || why="pdvm snapshot --parent $d/A inc $d/B: exit $SRC: $(cat "$SERR")"
	fi
	if [ -z "$why" ]; then
		mapfile -t lines <"$d/run.out"
		wait_lines "$d/run.out" $((${#lines[@]} + 5)) "$pid"
		snap --parent "$d/B" --stop inc "$d/C"
		[ "$SRC" = 0 ] || why="pdvm snapshot --parent $d/B --stop inc $d/C: exit $SRC: $(cat "$SERR")"
	fi
	if [ -n "$why" ]; then
		kill -TERM "$pid" 2>/dev/null
		wait_pid "$pid"
		fail "incremental-chain" "$why
$(tails "$d/run.err")"
		fail "incremental-manifests" "the chain was not written"
		fail "incremental-missing-parent-refused" "the chain was not written"
		return
	fi
	wait_pid "$pid"
	local runrc=$WRC

	# The manifests: B names A, C names B.
	local pb pc mwhy=""
	pb=$(manifest_parent_dir "$d/B")
	pc=$(manifest_parent_dir "$d/C")
	[ -d "$d/B" ] && [ -f "$d/B/manifest.json" ] || mwhy="$d/B is not an image directory"
	[ -d "$d/C" ] && [ -f "$d/C/manifest.json" ] || mwhy="${mwhy:+$mwhy
}$d/C is not an image directory"
	[ "$pb" = "$d/A" ] || mwhy="${mwhy:+$mwhy
}B's manifest names parent dir '$pb', want '$d/A'"
	[ "$pc" = "$d/B" ] || mwhy="${mwhy:+$mwhy
}C's manifest names parent dir '$pc', want '$d/B'"
	[ -z "$(manifest_parent_dir "$d/A")" ] || mwhy="${mwhy:+$mwhy
}A (a full image) names a parent"
	if [ -z "$mwhy" ]; then pass "incremental-manifests"; else fail "incremental-manifests" "$mwhy
--- C/manifest.json:
$(head -c 600 "$d/C/manifest.json" 2>/dev/null)"; fi

	# Without A, C cannot be restored.
	mv "$d/A" "$d/A.away"
	restore_fg "$d/noparent.out" "$d/noparent.err" "$d/C"
	mv "$d/A.away" "$d/A"
	if [ "$RRC" = 2 ] && [ -s "$d/noparent.err" ]; then
		pass "incremental-missing-parent-refused"
	else
		fail "incremental-missing-parent-refused" "pdvm restore $d/C with $d/A moved away: exit $RRC (want 2 and an error)
$(tails "$d/noparent.out" "$d/noparent.err")"
	fi

	restore_fg "$d/restore.out" "$d/restore.err" "$d/C"
	wait "$natpid"
	echo "# incremental-chain: $(wc -l <"$d/run.out") lines before C, $(wc -l <"$d/restore.out") after"
	[ "$runrc" = 0 ] || why="pdvm run exited $runrc after the last snapshot --stop (want 0)"
	[ "$RRC" = 0 ] || why="${why:+$why
}pdvm restore $d/C exited $RRC (want 0)"
	[ -s "$d/restore.out" ] || why="${why:+$why
}the restore printed nothing"
	concat_is_native "$d/native.out" "$d/run.out" "$d/restore.out" ||
		why="${why:+$why
}run+restore(C) output differs from native:
$(diff_native "$d/native.out" "$d/run.out" "$d/restore.out")"
	if [ -z "$why" ]; then
		pass "incremental-chain"
	else
		fail "incremental-chain" "$why
$(tails "$d/run.err" "$d/restore.err")"
	fi
}
native_pass_only incremental

# ---- 6: a busybox applet stopped mid-run ------------------------------------------------------------
# awk keeps its state (a running checksum, stdio buffers) in the domain's memory; the
# snapshot may fall between two of its buffered writes: only the concatenation counts.
busybox_applet() {
	local test=busybox-awk-mid-run d=$SCRATCH/bb n=20000 attempt why=""
	mkdir -p "$d"
	for ((attempt = 1; attempt <= 3; attempt++, n *= 2)); do
		local prog="BEGIN{s=7; for(i=1;i<=$n;i++){s=(s*31+i)%1000003; print i, s}}"
		why=""
		(cd / && env -i "${DEFAULT_ENV[@]}" "$BB" awk "$prog") </dev/null >"$d/native.out" 2>&1
		start_run bbawk "$d/run.out" "$d/run.err" -- "$BB" awk "$prog"
		local pid=$BGPID
		if ! wait_sock bbawk "$pid"; then
			wait_pid "$pid"
			why="no control socket (run exit $WRC); N=$n"
			continue
		fi
		wait_lines "$d/run.out" 1 "$pid"
		snap --stop bbawk "$d/img"
		local src=$SRC
		wait_pid "$pid"
		if [ "$src" != 0 ]; then
			why="pdvm snapshot --stop bbawk: exit $src (run exit $WRC), N=$n
$(tails "$SERR" "$d/run.err")"
			# The run ended before the snapshot: try a longer one.
			if [ "$WRC" = 0 ] && cmp -s "$d/native.out" "$d/run.out"; then continue; fi
			break
		fi
		[ "$WRC" = 0 ] || why="pdvm run exited $WRC after snapshot --stop (want 0)"
		restore_fg "$d/restore.out" "$d/restore.err" "$d/img"
		echo "# $test: N=$n, $(wc -c <"$d/run.out") bytes before the snapshot, $(wc -c <"$d/restore.out") after"
		[ "$RRC" = 0 ] || why="${why:+$why
}pdvm restore exited $RRC (want 0)"
		[ -s "$d/restore.out" ] || why="${why:+$why
}the restore printed nothing (the snapshot was not mid-run)"
		concat_is_native "$d/native.out" "$d/run.out" "$d/restore.out" ||
			why="${why:+$why
}run+restore output differs from native (N=$n):
$(diff_native "$d/native.out" "$d/run.out" "$d/restore.out")
$(tails "$d/restore.err")"
		break
	done
	if [ -z "$why" ]; then pass "$test"; else fail "$test" "$why"; fi
}
echo "# ${SECONDS}s"
busybox_applet

# ---- 7: file offsets, a shared open file description, writes to a writable dir ------------------------
# files_setup DIR: DIR/data.txt (known content) and an empty DIR/out.
files_setup() {
	mkdir -p "$1"
	domain_dir "$1/out"
	printf 'data %05d\n' $(seq 1 3000) >"$1/data.txt"
}

files() {
	local test=files-offsets-and-writes d=$SCRATCH/files n=150 period=20 why=""
	files_setup "$d/nat"
	files_setup "$d/pd"
	native_bg "$d/native.out" "$GUEST/filestate" "$d/nat/data.txt" "$d/nat/out" "$n" "$period"
	local natpid=$NATPID
	start_run files "$d/run.out" "$d/run.err" --writable "$d/pd/out" -- \
		"$GUEST/filestate" "$d/pd/data.txt" "$d/pd/out" "$n" "$period"
	local pid=$BGPID
	if ! wait_sock files "$pid"; then
		wait_pid "$pid"
		fail "$test" "no control socket (run exit $WRC)
$(tails "$d/run.out" "$d/run.err")"
		return
	fi
	wait_lines "$d/run.out" 5 "$pid"
	snap --stop files "$d/img"
	local src=$SRC
	wait_pid "$pid"
	if [ "$src" != 0 ]; then
		fail "$test" "pdvm snapshot --stop files: exit $src (run exit $WRC)
$(tails "$SERR" "$d/run.out" "$d/run.err")"
		return
	fi
	[ "$WRC" = 0 ] || why="pdvm run exited $WRC after snapshot --stop (want 0)"
	restore_fg "$d/restore.out" "$d/restore.err" --writable "$d/pd/out" "$d/img"
	wait "$natpid"
	echo "# $test: $(wc -l <"$d/run.out") lines before the snapshot, $(wc -l <"$d/restore.out") after"
	[ "$RRC" = 0 ] || why="${why:+$why
}pdvm restore exited $RRC (want 0)"
	[ -s "$d/run.out" ] && [ -s "$d/restore.out" ] || why="${why:+$why
}a segment is empty (the snapshot was not mid-run)"
	concat_is_native "$d/native.out" "$d/run.out" "$d/restore.out" ||
		why="${why:+$why
}run+restore stdout differs from native:
$(diff_native "$d/native.out" "$d/run.out" "$d/restore.out")"
	local f
	for f in log.txt seq.txt; do
		cmp -s "$d/nat/out/$f" "$d/pd/out/$f" ||
			why="${why:+$why
}out/$f differs from native:
$(diff "$d/nat/out/$f" "$d/pd/out/$f" | head -n 6)"
	done
	if [ -z "$why" ]; then
		pass "$test"
	else
		fail "$test" "$why
$(tails "$d/run.err" "$d/restore.err")"
	fi
}
native_pass_only files

# ---- 8: an open file changed since the snapshot ----------------------------------------------------
changed_file() {
	local d=$SCRATCH/changed
	files_setup "$d"
	start_run changed "$d/run.out" "$d/run.err" --writable "$d/out" -- \
		"$GUEST/filestate" "$d/data.txt" "$d/out" 200 20
	local pid=$BGPID
	if ! wait_sock changed "$pid"; then
		wait_pid "$pid"
		fail "changed-file-refused" "no control socket (run exit $WRC)
$(tails "$d/run.out" "$d/run.err")"
		fail "changed-file-force" "no image"
		return
	fi
	wait_lines "$d/run.out" 5 "$pid"
	snap --stop changed "$d/img"
	local src=$SRC
	wait_pid "$pid"
	if [ "$src" != 0 ] || [ "$WRC" != 0 ]; then
		fail "changed-file-refused" "pdvm snapshot --stop changed: exit $src, run exit $WRC (want 0, 0)
$(tails "$SERR" "$d/run.err")"
		fail "changed-file-force" "no image"
		return
	fi
	echo "a line appended after the snapshot" >>"$d/data.txt"
	restore_fg "$d/refused.out" "$d/refused.err" --writable "$d/out" "$d/img"
	if [ "$RRC" = 2 ] && grep -q "data.txt" "$d/refused.err" && [ ! -s "$d/refused.out" ]; then
		pass "changed-file-refused"
	else
		fail "changed-file-refused" "pdvm restore after appending to the open data.txt: exit $RRC (want 2, data.txt named on stderr, nothing run)
$(tails "$d/refused.out" "$d/refused.err")"
	fi
	restore_fg "$d/force.out" "$d/force.err" --force --writable "$d/out" "$d/img"
	if [ "$RRC" = 0 ] && grep -qx done "$d/force.out"; then
		pass "changed-file-force"
	else
		fail "changed-file-force" "pdvm restore --force: exit $RRC (want 0 and the program to finish)
$(tails "$d/force.out" "$d/force.err")"
	fi
}
native_pass_only changed_file

# ---- 9: damaged images are refused -----------------------------------------------------------------
corrupt() {
	local src_img=$SCRATCH/t1/img d=$SCRATCH/corrupt
	mkdir -p "$d"
	if [ ! -f "$src_img/manifest.json" ]; then
		fail "corrupt-memory-refused" "no image from ticker-1-thread-stop-restore to damage"
		fail "truncated-vcpus-refused" "no image to damage"
		fail "missing-manifest-refused" "no image to damage"
		return
	fi
	cp -a "$src_img" "$d/flip"
	cp -a "$src_img" "$d/trunc"
	cp -a "$src_img" "$d/nomanifest"

	# One byte in the middle of memory.bin, inverted.
	local size off byte
	size=$(stat -c %s "$d/flip/memory.bin")
	off=$((size / 2))
	byte=$(od -An -tu1 -j "$off" -N1 "$d/flip/memory.bin" | tr -d ' ')
	printf '%b' "\\0$(printf %03o $((255 - byte)))" |
		dd of="$d/flip/memory.bin" bs=1 seek="$off" count=1 conv=notrunc status=none
	restore_fg "$d/flip.out" "$d/flip.err" "$d/flip"
	if [ "$RRC" = 2 ] && grep -q "not a valid pdvm image" "$d/flip.err"; then
		pass "corrupt-memory-refused"
	else
		fail "corrupt-memory-refused" "pdvm restore of an image with byte $off of memory.bin ($size bytes) inverted: exit $RRC (want 2 and 'not a valid pdvm image')
$(tails "$d/flip.out" "$d/flip.err")"
	fi

	size=$(stat -c %s "$d/trunc/vcpus.bin")
	truncate -s $((size / 2)) "$d/trunc/vcpus.bin"
	restore_fg "$d/trunc.out" "$d/trunc.err" "$d/trunc"
	if [ "$RRC" = 2 ] && [ -s "$d/trunc.err" ]; then
		pass "truncated-vcpus-refused"
	else
		fail "truncated-vcpus-refused" "pdvm restore with vcpus.bin cut from $size to $((size / 2)) bytes: exit $RRC (want 2 and an error)
$(tails "$d/trunc.out" "$d/trunc.err")"
	fi

	rm -f "$d/nomanifest/manifest.json"
	restore_fg "$d/nomanifest.out" "$d/nomanifest.err" "$d/nomanifest"
	if [ "$RRC" = 2 ] && [ -s "$d/nomanifest.err" ]; then
		pass "missing-manifest-refused"
	else
		fail "missing-manifest-refused" "pdvm restore without manifest.json: exit $RRC (want 2 and an error)
$(tails "$d/nomanifest.out" "$d/nomanifest.err")"
	fi
}
native_pass_only corrupt

# ---- 10: snapshot into a foreign directory fails; over an image it replaces it ------------------------
foreign_dir() {
	local d=$SCRATCH/foreign n=400 period=10 why="" why2="" lines
	mkdir -p "$d/junk"
	echo "not an image" >"$d/junk/notes.txt"
	native_bg "$d/native.out" "$GUEST/ticker" "$n" "$period"
	local natpid=$NATPID
	local old_id=""
	if [ -f "$SCRATCH/t1/img/manifest.json" ]; then
		cp -a "$SCRATCH/t1/img" "$d/old"
		old_id=$(manifest_str "$d/old" id)
	fi
	start_run foreign "$d/run.out" "$d/run.err" -- "$GUEST/ticker" "$n" "$period"
	local pid=$BGPID
	if ! wait_sock foreign "$pid"; then
		wait_pid "$pid"
		fail "snapshot-into-foreign-dir-fails" "no control socket (run exit $WRC)
$(tails "$d/run.out" "$d/run.err")"
		fail "snapshot-replaces-image" "no domain"
		return
	fi
	wait_lines "$d/run.out" 5 "$pid"
	snap foreign "$d/junk"
	[ "$SRC" = 1 ] && [ -s "$SERR" ] || why="pdvm snapshot foreign $d/junk (a directory holding notes.txt): exit $SRC (want 1 and an error)
$(tails "$SERR")"
	[ "$(ls -A "$d/junk")" = notes.txt ] && [ "$(cat "$d/junk/notes.txt")" = "not an image" ] ||
		why="${why:+$why
}$d/junk was changed: $(ls -A "$d/junk" | tr '\n' ' ')"
	! compgen -G "$d/junk.tmp-*" >/dev/null || why="${why:+$why
}the failed snapshot left a temporary directory: $(compgen -G "$d/junk.tmp-*")"

	if [ -n "$old_id" ]; then
		mapfile -t lines <"$d/run.out"
		wait_lines "$d/run.out" $((${#lines[@]} + 5)) "$pid"
		snap foreign "$d/old"
		if [ "$SRC" != 0 ]; then
			why2="pdvm snapshot foreign $d/old (an existing image of t1): exit $SRC (want 0)
$(tails "$SERR")"
		else
			local new_id new_name
			new_id=$(manifest_str "$d/old" id)
			new_name=$(manifest_str "$d/old" name)
			[ -n "$new_id" ] && [ "$new_id" != "$old_id" ] && [ "$new_name" = foreign ] ||
				why2="the image in $d/old was not replaced: id '$old_id' -> '$new_id', name '$new_name' (want a new id, name foreign)"
			! compgen -G "$d/old.tmp-*" >/dev/null || why2="${why2:+$why2
}the replaced image left a temporary directory: $(compgen -G "$d/old.tmp-*")"
		fi
	else
		why2="no image from ticker-1-thread-stop-restore to snapshot over"
	fi

	wait_pid "$pid"
	wait "$natpid"
	[ "$WRC" = 0 ] || why="${why:+$why
}the domain exited $WRC (want 0: it goes on after the failed snapshot)"
	concat_is_native "$d/native.out" "$d/run.out" ||
		why="${why:+$why
}its output differs from native:
$(diff_native "$d/native.out" "$d/run.out")"
	if [ -z "$why" ]; then pass "snapshot-into-foreign-dir-fails"; else fail "snapshot-into-foreign-dir-fails" "$why
$(tails "$d/run.err")"; fi

	# The replacing image holds the domain as it was then: its restore prints the rest.
	if [ -z "$why2" ]; then
		restore_fg "$d/restore.out" "$d/restore.err" "$d/old"
		local k
		k=$(wc -l <"$d/restore.out")
		echo "# snapshot-replaces-image: the restore printed $k lines"
		if [ "$RRC" != 0 ]; then
			why2="pdvm restore of the replaced image exited $RRC (want 0)"
		elif [ "$k" -lt 2 ] || ! tail -n "$k" "$d/native.out" | cmp -s - "$d/restore.out"; then
			why2="the restore of the replaced image printed $k lines, not the tail of the native output"
		fi
		[ -z "$why2" ] || why2="$why2
$(tails "$d/restore.out" "$d/restore.err")"
	fi
	if [ -z "$why2" ]; then pass "snapshot-replaces-image"; else fail "snapshot-replaces-image" "$why2"; fi
}
native_pass_only foreign_dir

# stop_go_restore NAME DIR LINES [OPTION...] -- PROGRAM...: runs PROGRAM in a domain (with the
# pdvm run OPTIONs) until it has printed LINES lines and waits for the file DIR/go; snapshots it
# with --stop, makes DIR/go, restores the image (the same OPTIONs) and compares what the run and
# the restore printed with DIR/native.out. WHY says what went wrong, empty when all went well.
stop_go_restore() {
	local t=$1 d=$2 lines=$3 opts=() pid why=""
	shift 3
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	start_run "$t" "$d/run.out" "$d/run.err" ${opts[@]+"${opts[@]}"} -- "$@"
	pid=$BGPID
	if wait_sock "$t" "$pid" && wait_lines "$d/run.out" "$lines" "$pid"; then
		snap --stop "$t" "$d/img"
		wait_pid "$pid"
		[ "$SRC" = 0 ] && [ "$WRC" = 0 ] || why="snapshot exit $SRC, run exit $WRC: $(head -c 400 "$SERR")
$(tails "$d/run.err")"
	else
		wait_pid "$pid"
		why="the program did not get going (exit $WRC): $(tails "$d/run.out" "$d/run.err")"
	fi
	if [ -z "$why" ]; then
		touch "$d/go"
		restore_fg "$d/restore.out" "$d/restore.err" ${opts[@]+"${opts[@]}"} "$d/img"
		[ "$RRC" = 0 ] || why="restore exit $RRC: $(tails "$d/restore.out" "$d/restore.err")"
	fi
	if [ -z "$why" ] && ! concat_is_native "$d/native.out" "$d/run.out" "$d/restore.out"; then
		why="run+restore output differs from native: $(diff_native "$d/native.out" "$d/run.out" "$d/restore.out")"
	fi
	WHY=$why
}

# ---- 11: a stopped child across snapshot --stop and restore; pause, resume, kill with one ----------
# jobctl's snap mode stops a child (SIGSTOP, its report kept with WNOWAIT), hands it an order,
# prints "ready" (line 4) and waits for the file GO. The domain is snapshotted with --stop, GO
# made, the image restored: the child must still be stopped (state T, the order unanswered, its
# stop reported), and go on to its end once continued. Natively GO is / and the run is straight.
stopped_child() {
	local d=$SCRATCH/jc why="" pid
	mkdir -p "$d"
	run_native -- "$GUEST/jobctl" snap /
	cp "$OUT" "$d/native.out"
	stop_go_restore jcsnap "$d" 4 -- "$GUEST/jobctl" snap "$d/go"
	why=$WHY
	if [ -z "$why" ]; then pass "stopped-child-restored"; else fail "stopped-child-restored" "$why"; fi

	# A domain whose child is stopped pauses, resumes and is killed like any other.
	why=""
	start_run jckill "$d/kill.out" "$d/kill.err" -- "$GUEST/jobctl" snap "$d/never"
	pid=$BGPID
	if wait_sock jckill "$pid" && wait_lines "$d/kill.out" 4 "$pid"; then
		local v
		for v in pause resume kill; do
			timeout 20 "$PDVM" "$v" jckill >"$SCRATCH/.ctl.out" 2>&1 ||
				why="${why:+$why
}pdvm $v: $(head -c 300 "$SCRATCH/.ctl.out")"
		done
		wait_pid "$pid" 20
		[ "$WRC" = 137 ] || why="${why:+$why
}the killed domain exited $WRC (want 137)"
	else
		wait_pid "$pid"
		why="the program did not get going (exit $WRC): $(tails "$d/kill.out" "$d/kill.err")"
	fi
	if [ -z "$why" ]; then pass "stopped-child-pause-resume-kill"; else fail "stopped-child-pause-resume-kill" "$why"; fi
}
native_pass_only stopped_child

# ---- 12: POSIX record locks held across stop and restore ---------------------------------------------
# Two processes hold locks; a third looks with F_GETLK every line. The image carries them (a
# required `locks` section); a restore while another host process holds a conflicting lock
# is refused; then the restored domain holds them again, with the same guest pids.
locks() {
	local test=locks-survive-restore d=$SCRATCH/locks n=40 period=50 why=""
	domain_dir "$d/nat" "$d/pd"
	native_bg "$d/native.out" "$GUEST/posixlock" "$d/nat" hold "$n" "$period"
	local natpid=$NATPID
	start_run locks "$d/run.out" "$d/run.err" --writable "$d/pd" -- "$GUEST/posixlock" "$d/pd" hold "$n" "$period"
	local pid=$BGPID
	if ! wait_sock locks "$pid" || ! wait_lines "$d/run.out" 5 "$pid"; then
		wait_pid "$pid"
		fail "$test" "the program did not get going (run exit $WRC)
$(tails "$d/run.out" "$d/run.err")"
		return
	fi
	snap --stop locks "$d/img"
	local src=$SRC
	wait_pid "$pid"
	if [ "$src" != 0 ]; then
		fail "$test" "pdvm snapshot --stop locks: exit $src (run exit $WRC)
$(tails "$SERR" "$d/run.out" "$d/run.err")"
		return
	fi
	manifest_flat "$d/img" | grep -q '"name":"locks","file":"locks.bin","size":[0-9]*,"crc32":[0-9]*,"version":1,"required":true' ||
		why="the manifest has no required locks section: $(manifest_flat "$d/img" | head -c 600)"

	# Another host process takes the parent's range: the restore cannot take it back.
	python3 -c 'import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
open(sys.argv[2], "w").close()
time.sleep(60)' "$d/pd/lockfile" "$d/held" &
	local holder=$! i=0
	while [ ! -e "$d/held" ] && [ $((i += 1)) -le 100 ]; do sleep 0.1; done
	restore_fg "$d/refused.out" "$d/refused.err" --writable "$d/pd" "$d/img"
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
	if [ "$RRC" != 2 ] || ! grep -q 'another host process holds a conflicting lock' "$d/refused.err"; then
		why="${why:+$why
}a restore while another process held the lock: exit $RRC (want 2 and why)
$(tails "$d/refused.out" "$d/refused.err")"
	fi

	restore_fg "$d/restore.out" "$d/restore.err" --writable "$d/pd" "$d/img"
	wait "$natpid"
	echo "# $test: $(wc -l <"$d/run.out") lines before the snapshot, $(wc -l <"$d/restore.out") after"
	[ "$RRC" = 0 ] || why="${why:+$why
}pdvm restore exited $RRC (want 0)"
	[ -s "$d/restore.out" ] || why="${why:+$why
}nothing after the restore (the snapshot was not mid-run)"
	concat_is_native "$d/native.out" "$d/run.out" "$d/restore.out" ||
		why="${why:+$why
}run+restore stdout differs from native:
$(diff_native "$d/native.out" "$d/run.out" "$d/restore.out")"
	if [ -z "$why" ]; then
		pass "$test"
	else
		fail "$test" "$why
$(tails "$d/run.err" "$d/restore.err")"
	fi
}
native_pass_only locks

# ---- 13: a thread's own working directory and umask across --stop and restore; a working ---------------
# directory too deep to name is refused. threadfs gives one thread its own directory and umask
# (unshare(CLONE_FS)), shared with a thread it made, says "ready" (line 16) and waits for the
# file GO; after the restore each thread must still have its own. deepcwd says "ready" (line 4)
# deeper than PATH_MAX: the snapshot must fail, saying why, and the domain go on to its end.
thread_fs() {
	local d=$SCRATCH/tfs why="" pid
	domain_dir "$d/n" "$d/p" "$d/deep"
	run_native -- "$GUEST/threadfs" "$d/n" /
	cp "$OUT" "$d/native.out"
	stop_go_restore tfs "$d" 16 --writable "$d/p" -- "$GUEST/threadfs" "$d/p" "$d/go"
	why=$WHY
	if [ -z "$why" ]; then pass "thread-own-cwd-restored"; else fail "thread-own-cwd-restored" "$why"; fi

	why=""
	start_run deepcwd "$d/deep.out" "$d/deep.err" --writable "$d/deep" -- "$GUEST/deepcwd" "$d/deep" "$d/deepgo"
	pid=$BGPID
	if wait_sock deepcwd "$pid" && wait_lines "$d/deep.out" 4 "$pid"; then
		snap deepcwd "$d/deepimg"
		[ "$SRC" != 0 ] || why="the snapshot succeeded"
		grep -q "deeper than PATH_MAX" "$SERR" || why="${why:+$why
}the snapshot's error does not say why: $(head -c 300 "$SERR")"
		[ ! -e "$d/deepimg" ] || why="${why:+$why
}an image was left behind"
		touch "$d/deepgo"
		wait_pid "$pid"
		[ "$WRC" = 0 ] && ! grep -q "^not ok" "$d/deep.out" && [ "$(tail -n 1 "$d/deep.out")" = "rmdir top: 0" ] ||
			why="${why:+$why
}the domain did not go on to its end (exit $WRC): $(tails "$d/deep.out" "$d/deep.err")"
	else
		wait_pid "$pid"
		why="the program did not get going (exit $WRC): $(tails "$d/deep.out" "$d/deep.err")"
	fi
	if [ -z "$why" ]; then pass "deep-cwd-snapshot-refused"; else fail "deep-cwd-snapshot-refused" "$why"; fi
}
native_pass_only thread_fs

# ---- memfds (contents, seals, offsets, shared mappings) and pidfds across --stop and restore -----------
memfds() {
	local test=memfd-pidfd-state d=$SCRATCH/memfd why=""
	mkdir -p "$d"
	native_bg "$d/native.out" "$GUEST/anonstate" 30 50
	local natpid=$NATPID
	start_run memfd "$d/run.out" "$d/run.err" -- "$GUEST/anonstate" 30 50
	local pid=$BGPID
	if ! wait_sock memfd "$pid" || ! wait_lines "$d/run.out" 3 "$pid"; then
		wait_pid "$pid"
		wait "$natpid"
		fail "$test" "the program did not get going (run exit $WRC)
$(tails "$d/run.out" "$d/run.err")"
		return
	fi
	snap --stop memfd "$d/img"
	local src=$SRC
	wait_pid "$pid"
	if [ "$src" != 0 ] || [ "$WRC" != 0 ]; then
		wait "$natpid"
		fail "$test" "snapshot --stop exit $src, run exit $WRC
$(tails "$SERR" "$d/run.out" "$d/run.err")"
		return
	fi
	restore_fg "$d/restore.out" "$d/restore.err" "$d/img"
	wait "$natpid"
	echo "# $test: $(wc -l <"$d/run.out") lines before the snapshot, $(wc -l <"$d/restore.out") after"
	[ "$RRC" = 0 ] || why="pdvm restore exited $RRC (want 0)"
	[ "$(wc -l <"$d/run.out")" -lt 31 ] || why="${why:+$why
}the snapshot came after the checks"
	concat_is_native "$d/native.out" "$d/run.out" "$d/restore.out" || why="${why:+$why
}run+restore output differs from native:
$(diff_native "$d/native.out" "$d/run.out" "$d/restore.out")"
	if [ -z "$why" ]; then pass "$test"; else fail "$test" "$why
$(tails "$d/restore.err")"; fi

	# More memfd data than an image carries: the snapshot fails, saying why, and the domain goes on.
	test=memfd-too-big-refused d=$SCRATCH/memfd-big why=""
	mkdir -p "$d"
	start_run memfdbig "$d/run.out" "$d/run.err" -- "$GUEST/anonstate" 20 50 big
	pid=$BGPID
	if ! wait_sock memfdbig "$pid" || ! wait_lines "$d/run.out" 2 "$pid"; then
		wait_pid "$pid"
		fail "$test" "the program did not get going (run exit $WRC)
$(tails "$d/run.out" "$d/run.err")"
		return
	fi
	snap memfdbig "$d/img"
	src=$SRC
	wait_pid "$pid"
	[ "$src" != 0 ] || why="the snapshot succeeded"
	grep -q "memfd big: .*more than an image carries" "$SERR" || why="${why:+$why
}the snapshot's error does not say why: $(head -c 300 "$SERR")"
	[ "$WRC" = 0 ] && [ "$(tail -n 1 "$d/run.out")" = done ] || why="${why:+$why
}the domain did not go on to its end (exit $WRC)"
	[ ! -e "$d/img" ] || why="${why:+$why
}an image was left behind"
	if [ -z "$why" ]; then pass "$test"; else fail "$test" "$why
$(tails "$d/run.out" "$d/run.err")"; fi
}
native_pass_only memfds

echo "# ${SECONDS}s"
finish

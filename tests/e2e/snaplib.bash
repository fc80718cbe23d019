# snaplib.bash: helpers for end-to-end tests that run domains in the background and snapshot/restore them (sourced after lib.bash).
#
# Sets PDVM_RUN_DIR to a private control directory and an EXIT trap that ends every
# background pdvm started through these helpers.

# Control sockets in a private directory of our own.
export PDVM_RUN_DIR=$SCRATCH/run
mkdir -p "$PDVM_RUN_DIR" && chmod 700 "$PDVM_RUN_DIR"

# Background pdvm processes (their `timeout` wrappers): killed at exit if still there.
BGPIDS=()
_snap_cleanup() {
	local p
	for p in "${BGPIDS[@]+"${BGPIDS[@]}"}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${BGPIDS[@]+"${BGPIDS[@]}"}"; do
		wait "$p" 2>/dev/null
	done
	_e2e_cleanup
}
trap _snap_cleanup EXIT


# start_run NAME OUT ERR [RUN-OPTS...] -- PROG ARGS...: `pdvm run --name NAME` in the background; sets BGPID.
start_run() {
	local name=$1 out=$2 err=$3
	shift 3
	timeout -k 5 "$PDVM_TIMEOUT" "$PDVM" run --name "$name" "$@" </dev/null >"$out" 2>"$err" &
	BGPID=$!
	BGPIDS+=("$BGPID")
}

# start_restore NAME OUT ERR [RESTORE-OPTS...] DIR: `pdvm restore --name NAME` in the background; sets BGPID.
start_restore() {
	local name=$1 out=$2 err=$3
	shift 3
	timeout -k 5 "$PDVM_TIMEOUT" "$PDVM" restore --name "$name" "$@" </dev/null >"$out" 2>"$err" &
	BGPID=$!
	BGPIDS+=("$BGPID")
}

# restore_fg OUT ERR [RESTORE-OPTS...] DIR: `pdvm restore` in the foreground; sets RRC.
restore_fg() {
	local out=$1 err=$2
	shift 2
	timeout -k 5 "$PDVM_TIMEOUT" "$PDVM" restore "$@" </dev/null >"$out" 2>"$err"
	RRC=$?
}

# wait_pid PID [MAX_S]: waits for PID, at most MAX_S seconds (default 60; 0: no limit but
# its own timeout), then kills it; sets WRC to its exit status, with a note if it was killed.
wait_pid() {
	local max=${2:-60} i killed=""
	for ((i = 0; max > 0 && i < max * 5; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.2
	done
	if [ "$max" -gt 0 ] && kill -0 "$1" 2>/dev/null; then
		killed=1
		kill -TERM "$1" 2>/dev/null
	fi
	wait "$1"
	WRC=$?
	[ -z "$killed" ] || WRC="$WRC (still running after ${max}s: killed)"
}

# wait_sock NAME PID: 0 once NAME's control socket exists (up to ~10 s), 1 if PID ended first or it never came.
wait_sock() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$PDVM_RUN_DIR/$1.sock" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# wait_lines FILE K PID: 0 once FILE has K lines (a partial last line counts), 1 if PID
# ended first or 20 s passed. Builtins only: an exec costs tens of ms in the VM. Snapshots
# wait for output rather than for a fixed time, so that they land mid-run however slow
# the machine is.
wait_lines() {
	local i lines
	for ((i = 0; i < 200; i++)); do
		lines=()
		mapfile -t lines <"$1" 2>/dev/null
		[ "${#lines[@]}" -ge "$2" ] && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# snap ARGS...: `pdvm snapshot ARGS`; sets SRC, SERR (its stderr file).
SERR=$SCRATCH/.snap.err
SNAP_TIMEOUT=60
snap() {
	timeout -k 5 "$SNAP_TIMEOUT" "$PDVM" snapshot "$@" </dev/null >"$SCRATCH/.snap.out" 2>"$SERR"
	SRC=$?
}

# native_bg OUT PROG ARGS...: the reference run, natively as the domain user, in the background (the tickers
# mostly sleep, so it overlaps the pdvm run cheaply); sets NATPID. Wait for it with `wait`.
native_bg() {
	local out=$1
	shift
	(cd / && exec env -i "${DEFAULT_ENV[@]}" setpriv --reuid="$DOMAIN_USER" --regid="$DOMAIN_USER" \
		--clear-groups -- "$@") </dev/null >"$out" 2>&1 &
	NATPID=$!
	BGPIDS+=("$NATPID")
}

# tails FILE...: the last lines of each file, labelled, for failure messages.
tails() {
	local f
	for f in "$@"; do
		echo "--- $(basename "$f") (tail):"
		tail -n 6 "$f" 2>/dev/null
	done
}

# concat_is_native NATIVE OUT...: 0 when the OUTs, concatenated, are byte-identical to NATIVE.
concat_is_native() {
	local nat=$1
	shift
	cat "$@" | cmp -s - "$nat"
}

# diff_native NATIVE OUT...: a short description of how the concatenation differs.
diff_native() {
	local nat=$1
	shift
	cat "$@" | diff "$nat" - | head -n 8
}

# stop_restore TEST LINES CWD [--native-cwd DIR] [RUN-OPTS...] -- PROG ARGS...: the common
# checkpoint check. PROG runs natively in the background (in CWD, or DIR: the reference) and
# in a domain named TEST (in CWD);
# once the domain printed LINES lines it is snapshotted with --stop, then restored. Fails
# unless snapshot, run and restore exit 0, the snapshot came before the end (fewer lines than
# native), and the run's output followed by the restore's is native's. Files in
# $SCRATCH/TEST/ (native.out run.out run.err restore.out restore.err img). Sets WHY ("" when
# it held) and leaves pass/fail to the caller: `stop_restore ...; verdict TEST [EXTRA-WHY]`.
stop_restore() {
	local t=$1 lines=$2 cwd=$3 ncwd=$3 d=$SCRATCH/$1
	shift 3
	local opts=() ropts=()
	if [ "$1" = --native-cwd ]; then ncwd=$2; shift 2; fi
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		# What the domain may see and write is the operator's to give again at restore.
		case $1 in --root | --writable) ropts+=("$1" "$2") ;; esac
		opts+=("$1")
		shift
	done
	shift
	mkdir -p "$d"
	(cd "$ncwd" && exec env -i "${DEFAULT_ENV[@]}" "$@") </dev/null >"$d/native.out" 2>&1 &
	local natpid=$!
	BGPIDS+=("$natpid")
	: >"$d/run.out"
	start_run "$t" "$d/run.out" "$d/run.err" --cwd "$cwd" "${opts[@]}" -- "$@"
	local pid=$BGPID
	WHY=""
	if wait_sock "$t" "$pid" && wait_lines "$d/run.out" "$lines" "$pid"; then
		snap "$t" "$d/img" --stop
		wait_pid "$pid"
		[ "$SRC" = 0 ] && [ "$WRC" = 0 ] || WHY="snapshot exit $SRC, run exit $WRC: $(head -c 400 "$SERR")
$(tails "$d/run.err")"
	else
		wait_pid "$pid"
		WHY="the program did not get going (exit $WRC): $(tails "$d/run.out" "$d/run.err")"
	fi
	if [ -z "$WHY" ]; then
		restore_fg "$d/restore.out" "$d/restore.err" ${ropts[@]+"${ropts[@]}"} "$d/img"
		[ "$RRC" = 0 ] || WHY="restore exit $RRC: $(tails "$d/restore.out" "$d/restore.err")"
	fi
	wait "$natpid"
	if [ -z "$WHY" ] && ! concat_is_native "$d/native.out" "$d/run.out" "$d/restore.out"; then
		WHY="run+restore output differs from native: $(diff_native "$d/native.out" "$d/run.out" "$d/restore.out")"
	fi
	local before
	before=$(wc -l <"$d/run.out")
	if [ -z "$WHY" ] && [ "$before" -ge "$(wc -l <"$d/native.out")" ]; then
		WHY="the snapshot came after the end ($before lines before it)"
	fi
	[ -n "$WHY" ] || echo "# $t: $before lines before the snapshot, $(wc -l <"$d/restore.out") after"
}

# verdict TEST [EXTRA]: pass or fail TEST on WHY (and EXTRA, a further reason).
verdict() {
	local why=${WHY}${2:+${WHY:+
}$2}
	if [ -z "$why" ]; then pass "$1"; else fail "$1" "$why"; fi
}

# manifest_flat DIR: DIR/manifest.json on one line, without blanks and JSON's '\/' escapes.
manifest_flat() {
	tr -d ' \t\n\\' <"$1/manifest.json" 2>/dev/null
}

# manifest_parent_dir DIR: the parent directory the image names ("" if none).
manifest_parent_dir() {
	manifest_flat "$1" | grep -o '"parent":{[^}]*}' | grep -o '"dir":"[^"]*"' | sed 's/^"dir":"//; s/"$//'
}

# manifest_str DIR KEY: a top-level string member of the manifest (first match).
manifest_str() {
	manifest_flat "$1" | sed 's/"parent":{[^}]*}//' | grep -o "\"$2\":\"[^\"]*\"" | head -n1 |
		sed "s/^\"$2\":\"//; s/\"\$//"
}


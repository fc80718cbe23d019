#!/bin/bash
# identity.sh: --map-root-user, the program's identity as root (uid 0 as a container's root sees it) — ids, auxv, /proc, file owners, chown, socket credentials and si_uid checked against Linux's own answer under `unshare -r`; without it the host's ids; and the view survives a snapshot restored by a pdvm not told of it.
# timeout: 240
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file /usr/bin/python3 /usr/bin/stat tests/fixtures/maproot_ids.py
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"

IDS=$SCRATCH/ids.py
cp tests/fixtures/maproot_ids.py "$IDS"
HOSTUID=$(id -u "$DOMAIN_USER")
W=$SCRATCH/w
domain_dir "$W"
# A file of host root's in the domain's tree: its owner is not the domain's to name.
touch "$W/rootfile"

# ids_run pdvm|native [PDVM-OPTS...]: one run of the probe with a fresh DIR/f, output in $SCRATCH/ids.WHO.
ids_run() {
	local who=$1
	shift
	rm -f "$W/f"
	if [ "$who" = native ]; then
		run_native -- "$@" /usr/bin/python3 "$IDS" "$W" "$HOSTUID" "$W/rootfile"
	else
		run_pdvm --writable "$W" "$@" -- /usr/bin/python3 "$IDS" "$W" "$HOSTUID" "$W/rootfile"
	fi
	cp "$OUT" "$SCRATCH/ids.$who"
}

# differs WANT GOT: empty if the files are equal, else a diff and pdvm's stderr.
differs() {
	cmp -s "$1" "$2" && return 0
	diff "$1" "$2" | head -n 20
	echo "--- pdvm stderr:"
	head -c 600 "$ERR"
}

# 1. The oracle is Linux: the same program as the domain's user inside `unshare -r` (a user
# namespace mapping only that user to 0).
if ! setpriv --reuid="$DOMAIN_USER" --regid="$DOMAIN_USER" --clear-groups -- unshare -r true 2>/dev/null; then
	skip "map-root-user-as-unshare-r" "unprivileged user namespaces are off here: no oracle"
else
	ids_run native /usr/bin/unshare -r
	NRC=$RC
	ids_run pdvm --map-root-user
	why=$(differs "$SCRATCH/ids.native" "$SCRATCH/ids.pdvm")
	grep -qx "ids 0 0 0 0 (0, 0, 0) (0, 0, 0)" "$SCRATCH/ids.pdvm" || why="${why:+$why
}no 'ids 0 0 0 0' line"
	if [ "$NRC" = 0 ] && [ "$RC" = 0 ] && [ -z "$why" ]; then
		pass "map-root-user-as-unshare-r"
	else
		fail "map-root-user-as-unshare-r" "native exit $NRC, pdvm exit $RC
$why"
	fi
fi

# 2. Without it the guest sees the host's ids, as a plain unprivileged process does.
ids_run native
NRC=$RC
ids_run pdvm
why=$(differs "$SCRATCH/ids.native" "$SCRATCH/ids.pdvm")
if [ "$NRC" = 0 ] && [ "$RC" = 0 ] && [ -z "$why" ] && grep -q "^ids $HOSTUID " "$SCRATCH/ids.pdvm"; then
	pass "host-ids-without-map-root-user"
else
	fail "host-ids-without-map-root-user" "native exit $NRC, pdvm exit $RC
$why"
fi

# 3. The view is the domain's state: a snapshot restored without --map-root-user keeps it.
d=$SCRATCH/snap
mkdir -p "$d"
touch "$d/run.out"
start_run maproot "$d/run.out" "$d/run.err" --map-root-user --writable "$W" -- \
	/usr/bin/python3 "$IDS" --wait "$W/go" "$W/rootfile"
pid=$BGPID
why=""
if wait_lines "$d/run.out" 1 "$pid"; then
	snap --stop maproot "$d/img"
	[ "$SRC" = 0 ] || why="pdvm snapshot --stop: exit $SRC: $(tail -n 3 "$SERR")"
	wait_pid "$pid"
	touch "$W/go"
	restore_fg "$d/restore.out" "$d/restore.err" --writable "$W" "$d/img"
	[ "$RRC" = 0 ] || why="${why:+$why
}pdvm restore: exit $RRC"
else
	why="the run printed nothing"
fi
if [ -z "$why" ] && grep -qx "before uid 0 gid 0 file 65534:65534" "$d/run.out" &&
	grep -qx "after uid 0 gid 0 file 65534:65534" "$d/restore.out"; then
	pass "map-root-user-survives-restore"
else
	fail "map-root-user-survives-restore" "${why:-the view changed}
$(tails "$d/run.out" "$d/run.err" "$d/restore.out" "$d/restore.err")"
fi

finish

#!/bin/bash
# crosskind.sh: images move between trap backends — a domain snapshotted on the PVM backend finishes under the ring-0 backend in the nested SVM VM, and the reverse, on one PVM host.
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file "$GUEST/ticker" /usr/bin/python3 tests/guest/py/compute.py
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"

# Both kinds on one machine: this host is PVM, the nested VM (TCG, nested SVM) is a
# standard KVM host. Elsewhere there is one kind only: nothing to cross.
"$PDVM" info >"$OUT" 2>"$ERR"
HERE=$(sed -n 's/^trap backend: *\([a-z0-9]*\).*/\1/p' "$OUT")
PVM_XCR0=$(sed -n 's/^guest XCR0: *\(0x[0-9a-f]*\).*/\1/p' "$OUT")
if [ "$HERE" != pvm ]; then
	for t in pvm-image-restores-under-ring0 ring0-image-restores-on-pvm; do
		skip "$t" "needs a PVM host to run both backends (this one: ${HERE:-no backend}): $(head -n1 "$OUT")"
	done
	finish
fi
# The VM shares the host's files except /tmp: images and the inner script live under $B.
case "$B" in
/tmp | /tmp/*)
	for t in pvm-image-restores-under-ring0 ring0-image-restores-on-pvm; do
		skip "$t" "B=$B is under /tmp, which the nested VM does not share"
	done
	finish ;;
esac
X=$(mktemp -d "$B/crosskind.XXXXXX") || { fail setup "mktemp under $B"; finish; }
trap 'rm -rf "$X"; _snap_cleanup' EXIT

# The programs: static C with four threads blocked in futex, nanosleep and a pipe read;
# and python3 (dynamic glibc, OpenSSL's sha256), whose output must equal a native run.
# Python goes from ring0 to pvm only: on a PVM host the guest's CPUID instruction runs
# natively, so python picks instructions of this CPU (SHA-NI, RDSEED ...) that QEMU's
# TCG CPU in the nested VM does not have; no CPUID table can hide them from it.
PROGS=(ticker python)
P2R=(ticker)
declare -A CMD=(
	[ticker]="$GUEST/ticker 24 100 4"
	[python]="/usr/bin/python3 $(pwd)/tests/guest/py/compute.py 24 0.1"
)
for p in "${PROGS[@]}"; do
	# shellcheck disable=SC2086  # CMD holds words
	(cd / && exec env -i "${DEFAULT_ENV[@]}" ${CMD[$p]}) </dev/null >"$X/$p.native" 2>&1
done

# 1. Here, on the PVM backend: run each until 6 lines, snapshot --stop.
# The static ticker's glibc picks its string functions by CPUID at start: on a host with
# AVX-512 it takes EVEX code that the nested VM's TCG CPU lacks (SIGILL after the restore).
# The tunable keeps it to SSE, as an operator who moves a program to an older CPU must.
for p in "${P2R[@]}"; do
	: >"$X/$p.pvm-run"
	# shellcheck disable=SC2086
	start_run "xk-$p" "$X/$p.pvm-run" "$X/$p.pvm-run.err" --cwd / \
		--env GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX2,-AVX,-BMI1,-BMI2 \
		-- ${CMD[$p]}
	pid=$BGPID
	if wait_sock "xk-$p" "$pid" && wait_lines "$X/$p.pvm-run" 6 "$pid"; then
		snap --stop "xk-$p" "$X/$p.pvm-img"
		[ "$SRC" = 0 ] || echo "snapshot of $p on pvm: exit $SRC: $(cat "$SERR")" >>"$X/$p.why"
	else
		echo "$p did not get going on pvm: $(tails "$X/$p.pvm-run.err")" >>"$X/$p.why"
	fi
	wait_pid "$pid"
done

# 2. One nested VM: restore those under ring0, and run + snapshot the same programs there.
cat >"$X/inner.sh" <<EOF
set -u
export PDVM_RUN_DIR=/run/pdvm-crosskind
mkdir -p "\$PDVM_RUN_DIR"
"$PDVM" info >"$X/vm-info" 2>&1
for p in ${P2R[*]}; do
	[ -d "$X/\$p.pvm-img" ] && timeout 120 "$PDVM" restore -v --cpu-cap none "$X/\$p.pvm-img" </dev/null \\
		>"$X/\$p.ring0-restore" 2>"$X/\$p.ring0-restore.err"
	echo \$? >"$X/\$p.ring0-restore.rc"
done
run_snap() { # NAME CMD...: run until 6 lines, snapshot --stop
	local p=\$1; shift
	: >"$X/\$p.ring0-run"
	(cd / && exec env -i ${DEFAULT_ENV[*]} PDVM_RUN_DIR=\$PDVM_RUN_DIR timeout 120 "$PDVM" run --name "xk-\$p" -- "\$@") </dev/null \\
		>"$X/\$p.ring0-run" 2>"$X/\$p.ring0-run.err" &
	local pid=\$! n=0
	while [ "\$(wc -l <"$X/\$p.ring0-run")" -lt 6 ] && [ \$n -lt 600 ] && kill -0 \$pid 2>/dev/null; do
		sleep 0.1; n=\$((n + 1))
	done
	timeout 60 "$PDVM" snapshot --stop "xk-\$p" "$X/\$p.ring0-img" 2>"$X/\$p.ring0-snap.err"
	echo \$? >"$X/\$p.ring0-snap.rc"
	wait \$pid
}
run_snap ticker ${CMD[ticker]}
run_snap python ${CMD[python]}
EOF
tests/nested/vm-run --nested --timeout 240 -- bash "$X/inner.sh" >"$X/vm.out" 2>&1
VRC=$?

# 3. Here again: restore the ring0 images on pvm.
# A PVM host's guests run with the host's XCR0 (pdvm info's "guest XCR0"), a ring-0
# guest with x87|SSE|AVX: where they differ, an image crosses only with --cpu-cap none,
# which the static ticker (no XSAVE of its own) takes; python, whose ld.so sized its
# XSAVE area for the ring-0 guest's features, must be refused, with the reason.
RING0_XCR0=$(sed -n 's/^guest XCR0: *\(0x[0-9a-f]*\).*/\1/p' "$X/vm-info" 2>/dev/null)
declare -A CAP=([ticker]="--cpu-cap none" [python]="")
for p in "${PROGS[@]}"; do
	if [ -d "$X/$p.ring0-img" ] && [ "$(cat "$X/$p.ring0-snap.rc" 2>/dev/null)" = 0 ]; then
		# shellcheck disable=SC2086
		restore_fg "$X/$p.pvm-restore" "$X/$p.pvm-restore.err" -v ${CAP[$p]} "$X/$p.ring0-img"
		if [ -z "${CAP[$p]}" ] && [ "$RING0_XCR0" != "$PVM_XCR0" ]; then
			if [ "$RRC" = 2 ] && grep -q "XSAVE features (XCR0) $RING0_XCR0 and this host's guests run with $PVM_XCR0" \
				"$X/$p.pvm-restore.err"; then
				pass "ring0-image-with-other-xsave-refused-on-pvm ($p)"
			else
				fail "ring0-image-with-other-xsave-refused-on-pvm ($p)" "exit $RRC (want 2): $(tails "$X/$p.pvm-restore.err")"
			fi
			continue
		fi
		[ "$RRC" = 0 ] || echo "restore on pvm: exit $RRC: $(tails "$X/$p.pvm-restore.err")" >>"$X/$p.rwhy"
	else
		echo "no image from ring0 (vm-run exit $VRC): $(tails "$X/$p.ring0-snap.err" "$X/$p.ring0-run.err" "$X/vm.out")" >>"$X/$p.rwhy"
	fi
done

# A direction holds when the run and the restore, each on its backend, print the
# native output between them, the snapshot came before the end, and the restore said
# which backend it ran on.
judge() { # NAME PROG RUN RESTORE RESTORE-ERR BACKEND WHYFILE
	local name=$1 p=$2 run=$3 res=$4 rerr=$5 kind=$6 why
	why=$(cat "$7" 2>/dev/null)
	if [ -z "$why" ] && ! cat "$run" "$res" | cmp -s - "$X/$p.native"; then
		why="run+restore output differs from native: $(cat "$run" "$res" | diff "$X/$p.native" - | head -n 6)"
	fi
	if [ -z "$why" ] && [ "$(wc -l <"$run")" -ge "$(wc -l <"$X/$p.native")" ]; then
		why="the snapshot came after the end"
	fi
	if [ -z "$why" ] && ! grep -q "trap backend: $kind" "$rerr"; then
		why="the restore did not run on $kind: $(tails "$rerr")"
	fi
	if [ -z "$why" ]; then pass "$name ($p)"; else fail "$name ($p)" "$why"; fi
}
if ! grep -q '^trap backend: *ring0' "$X/vm-info" 2>/dev/null; then
	fail nested-vm-is-ring0 "vm-run exit $VRC: $(tails "$X/vm-info" "$X/vm.out")"
fi
for p in "${P2R[@]}"; do
	[ "$(cat "$X/$p.ring0-restore.rc" 2>/dev/null)" = 0 ] ||
		echo "restore under ring0: exit $(cat "$X/$p.ring0-restore.rc" 2>/dev/null): $(tails "$X/$p.ring0-restore.err")" >>"$X/$p.why"
	judge pvm-image-restores-under-ring0 "$p" "$X/$p.pvm-run" "$X/$p.ring0-restore" \
		"$X/$p.ring0-restore.err" ring0 "$X/$p.why"
done
for p in "${PROGS[@]}"; do
	[ -n "${CAP[$p]}" ] || [ "$RING0_XCR0" = "$PVM_XCR0" ] || continue
	judge ring0-image-restores-on-pvm "$p" "$X/$p.ring0-run" "$X/$p.pvm-restore" \
		"$X/$p.pvm-restore.err" pvm "$X/$p.rwhy"
done
finish

#!/bin/bash
# run.sh: pdvm benchmarks side by side: CPU-bound ratio, syscall trap cost vs the platform floor, startup time, remap churn,
# python3 start-up, a syscall-heavy tool (du), clock_gettime (system call vs vDSO), signal delivery,
# snapshots: a 1 GiB image against memcpy and lz4 (bench/memlz4.c), an incremental image, eager vs lazy restore;
# networking (bench/net.sh) and live migration over a 1 Gbit/s link, stop-and-copy vs pre-copy (bench/migrate.sh);
# exitless against exit syscalls (bench/exitless.sh); pdvm-oci against runc under podman (bench/oci.sh);
# record and replay against a plain run (bench/replay.sh).
#
# Usage: B=build bench/run.sh         (what `make bench` runs)
# Runs where /dev/kvm exists: directly, or inside the nested VM (tests/nested/vm-run --mem 10G) when this host has none.
# Prints a table and writes bench/results/RESULTS-<date>.json. Knobs: BENCH_REPS (default 5), BENCH_QUICK=1 (shorter
# loops; no 4 GiB restore case), BENCH_BUDGET_S (default 1140: the 4 GiB case starts only if it should end by then),
# BENCH_VM_TIMEOUT (default 1800 s).
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
cd "$REPO" || exit 1
B=${B:-build}
case "$B" in /*) ;; *) B=$REPO/$B ;; esac
export B
PDVM=${PDVM:-$B/pdvm}
GUEST=$B/guest

host_info() {
	printf '{"hostname": "%s", "kernel": "%s", "cpu": "%s", "cpus": %s, "kvm": %s}' \
		"$(hostname 2>/dev/null)" "$(uname -r)" \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1 | tr -d '"\\')" \
		"$(nproc)" "$([ -c /dev/kvm ] && echo true || echo false)"
}

# The trap-floor program is built on the outer host (the nested VM shares the file system).
mkdir -p "$B/bench"
if ! gcc -O2 -std=gnu11 -Wall -Wextra -o "$B/bench/trapfloor" bench/trapfloor.c; then
	echo "bench: cannot build bench/trapfloor.c" >&2
	exit 1
fi
gcc -O2 -std=gnu11 -Wall -Wextra -o "$B/bench/tcpperf" bench/tcpperf.c || echo "bench: cannot build bench/tcpperf.c (network rows will be n/a)" >&2
# So is memlz4; without it the snapshot section reports n/a for its references.
if ! gcc -O2 -std=gnu11 -Wall -Wextra -pthread -I. -o "$B/bench/memlz4" bench/memlz4.c -llz4; then
	echo "bench: cannot build bench/memlz4.c (snapshot references will be n/a)" >&2
	rm -f "$B/bench/memlz4"
fi
# The snapshot memory writer alone, linked from pdvm's objects, runs on the OUTER host: inside the
# nested VM, TCG would hide its speed. Its numbers travel into the VM run as environment.
if gcc -O2 -std=gnu11 -Wall -Wextra -Wno-unused-function -D_GNU_SOURCE -I. -pthread \
	-o "$B/bench/snapwrite" bench/snapwrite.c "$B/snapshot/snap_mem.o" "$B/snapshot/image.o" \
	"$B/snapshot/sbuf.o" "$B/vmm/frames.o" -llz4 -lz -ljson-c; then
	if [ -z "${BENCH_INNER:-}" ]; then
		SW_DIR=$(mktemp -d /var/tmp/pdvm-snapwrite.XXXXXX)
		HOST_SNAPWRITE="$("$B/bench/snapwrite" 1024 "$(nproc)" "$SW_DIR" 2>&1 | tail -n1) | $("$B/bench/memlz4" 1024 2>&1 | grep -E 'memcpy_gbps|lz4_gbps' | tr '\n' ' ')"
		rm -rf "$SW_DIR"
	fi
else
	echo "bench: cannot build bench/snapwrite.c (host snapshot writer row will be n/a)" >&2
fi
for p in "$PDVM" "$GUEST/cpuloop" "$GUEST/getpid_loop" "$GUEST/read_loop" "$GUEST/hello" "$GUEST/remap" "$GUEST/clock_loop" "$GUEST/sig_loop"; do
	[ -x "$p" ] || { echo "bench: $p is missing (run make first)" >&2; exit 1; }
done

if [ ! -c /dev/kvm ] && [ -z "${BENCH_INNER:-}" ]; then
	echo "bench: no /dev/kvm here; running inside the nested VM (tests/nested/vm-run)" >&2
	# 10 GiB: the 4 GiB restore case needs the domain, its image (in the VM's tmpfs /tmp) and a native run in turn.
	exec tests/nested/vm-run --mem 10G --timeout "${BENCH_VM_TIMEOUT:-1800}" --env BENCH_INNER=1 \
		--env "BENCH_OUTER_HOST_B64=$(host_info | base64 -w0)" --env "BENCH_REPS=${BENCH_REPS:-}" \
		--env "BENCH_QUICK=${BENCH_QUICK:-}" --env "BENCH_BUDGET_S=${BENCH_BUDGET_S:-}" \
		--env "BENCH_VM_TIMEOUT=${BENCH_VM_TIMEOUT:-}" --env "BENCH_HOST_SNAPWRITE=${HOST_SNAPWRITE:-}" \
		-- bash bench/run.sh
fi

# What the numbers are from: a PVM host, a standard KVM host, or the nested TCG VM
# (ring-0 backend under QEMU's emulation: ratios only).
. "$HERE/lib.bash"
BACKEND=$(bench_backend "$PDVM")
HOST_KIND=$(bench_host_kind "$BACKEND")
echo "bench: host kind: $HOST_KIND"

REPS=${BENCH_REPS:-5}
[ -n "$REPS" ] || REPS=5
if [ -n "${BENCH_QUICK:-}" ]; then
	CPU_M=20; GETPIDS=5000; FLOOR_N=5000; REMAP_N=2000
else
	CPU_M=100; GETPIDS=20000; FLOOR_N=20000; REMAP_N=10000
fi
TMP=$(mktemp -d)
chmod 755 "$TMP" # domains run as an unprivileged user: they look for their stop files in here
trap 'rm -rf "$TMP"' EXIT


# ---- (a) CPU-bound: native vs pdvm, the program's own timing (excludes startup) ----------------
cpu_n=() cpu_p=()
for _ in $(seq "$REPS"); do
	cpu_n+=("$("$GUEST/cpuloop" "$CPU_M" | sed -n 's/.* in \([0-9.]*\) ms.*/\1/p')")
	cpu_p+=("$("$PDVM" run -- "$GUEST/cpuloop" "$CPU_M" 2>/dev/null | sed -n 's/.* in \([0-9.]*\) ms.*/\1/p')")
done
CPU_NATIVE=$(printf '%s\n' "${cpu_n[@]}" | grep . | median)
CPU_PDVM=$(printf '%s\n' "${cpu_p[@]}" | grep . | median)
CPU_RATIO=$(ratio "$CPU_PDVM" "$CPU_NATIVE")

# ---- (b) trap cost: getpid in pdvm vs the raw platform round trip -------------------------------
FLOOR_LINE=$("$B/bench/trapfloor" "$FLOOR_N" 2>&1 | grep '^trapfloor:' | tail -n1)
FLOOR_US=$(num_or_na "$(sed -n 's/.*us_per_trap=\([0-9.]*\).*/\1/p' <<<"$FLOOR_LINE")")
FLOOR_MODE=$(num_or_na "$(sed -n 's/.*mode=\([a-z]*\).*/\1/p' <<<"$FLOOR_LINE")")
gp=()
for _ in $(seq "$REPS"); do
	gp+=("$("$PDVM" run -- "$GUEST/getpid_loop" "$GETPIDS" 2>/dev/null | sed -n 's/.*, \([0-9.]*\) us\/call.*/\1/p')")
done
GETPID_US=$(printf '%s\n' "${gp[@]}" | grep . | median)
GETPID_NATIVE_US=$("$GUEST/getpid_loop" "$GETPIDS" | sed -n 's/.*, \([0-9.]*\) us\/call.*/\1/p')
TRAP_RATIO=$(ratio "$GETPID_US" "$FLOOR_US")

# A trap that carries data: a 64 KiB read of /dev/zero in pdvm against the platform's own data-carrying round trip
# (trapfloor N 65536: the host preads into guest memory before each resume) and a native read: whether the host's
# copy into guest memory after a trap costs more than the trap plus the same copy natively.
DFLOOR_LINE=$("$B/bench/trapfloor" "$((FLOOR_N / 4))" 65536 2>&1 | grep '^trapfloor-data:' | tail -n1)
DFLOOR_US=$(num_or_na "$(sed -n 's/.* us_per_trap=\([0-9.]*\).*/\1/p' <<<"$DFLOOR_LINE")")
DFLOOR_NATIVE_US=$(num_or_na "$(sed -n 's/.*native_us_per_read=\([0-9.]*\).*/\1/p' <<<"$DFLOOR_LINE")")
rd_n=() rd_p=()
for _ in $(seq "$REPS"); do
	rd_n+=("$("$GUEST/read_loop" "$((FLOOR_N / 4))" 65536 | sed -n 's/.*, \([0-9.]*\) us\/read.*/\1/p')")
	rd_p+=("$("$PDVM" run -- "$GUEST/read_loop" "$((FLOOR_N / 4))" 65536 2>/dev/null | sed -n 's/.*, \([0-9.]*\) us\/read.*/\1/p')")
done
READ_NATIVE_US=$(num_or_na "$(printf '%s\n' "${rd_n[@]}" | grep . | median)")
READ_PDVM_US=$(num_or_na "$(printf '%s\n' "${rd_p[@]}" | grep . | median)")

# ---- (c) startup: a trivial static program, wall time ------------------------------------------
st_n=() st_p=()
for _ in $(seq "$REPS"); do
	t0=$(ms_now); "$GUEST/hello" >/dev/null; t1=$(ms_now)
	st_n+=("$(((t1 - t0)))")
	t0=$(ms_now); "$PDVM" run -- "$GUEST/hello" >/dev/null 2>&1; t1=$(ms_now)
	st_p+=("$(((t1 - t0)))")
done
START_NATIVE_MS=$(printf '%s\n' "${st_n[@]}" | median | awk '{ printf "%.2f", $1 / 1000 }')
START_PDVM_MS=$(printf '%s\n' "${st_p[@]}" | median | awk '{ printf "%.2f", $1 / 1000 }')
START_RATIO=$(ratio "$START_PDVM_MS" "$START_NATIVE_MS")

# ---- (d) remap churn: time and the VMM's page-table flush statistics -----------------------------
t0=$(ms_now); "$GUEST/remap" "$REMAP_N" >/dev/null; t1=$(ms_now)
REMAP_NATIVE_MS=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 1000 }')
t0=$(ms_now); "$PDVM" run -v -- "$GUEST/remap" "$REMAP_N" >"$TMP/remap.out" 2>"$TMP/remap.err"; REMAP_RC=$?; t1=$(ms_now)
REMAP_PDVM_MS=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 1000 }')
STATS=$(grep -o 'pdvm: stats:.*' "$TMP/remap.err" | tail -n1)
stat_field() { num_or_na "$(sed -n "s/.*[[:space:]]$1=\([0-9]*\).*/\1/p" <<<"$STATS")"; }
REMAP_TRAPS=$(stat_field traps)
REMAP_FLUSHES=$(stat_field flushes)
REMAP_RESYNCS=$(stat_field resyncs)
[ "$REMAP_RC" = 0 ] || REMAP_PDVM_MS="failed (exit $REMAP_RC)"

# ---- (f) compatibility: python3 start-up, a syscall-heavy tool, clock_gettime and signals -------------
# python3 -c pass: the dynamic loader, ~40 libraries' worth of mmap/openat/read and the interpreter's start.
py_n=() py_p=()
for _ in $(seq "$REPS"); do
	t0=$(ms_now); /usr/bin/python3 -c pass >/dev/null 2>&1; t1=$(ms_now); py_n+=("$((t1 - t0))")
	t0=$(ms_now); "$PDVM" run -- /usr/bin/python3 -c pass >/dev/null 2>&1; t1=$(ms_now); py_p+=("$((t1 - t0))")
done
PY_NATIVE_MS=$(printf '%s\n' "${py_n[@]}" | median | awk '{ printf "%.1f", $1 / 1000 }')
PY_PDVM_MS=$(printf '%s\n' "${py_p[@]}" | median | awk '{ printf "%.1f", $1 / 1000 }')
PY_RATIO=$(ratio "$PY_PDVM_MS" "$PY_NATIVE_MS")
# du over the time zone database (~1300 entries): getdents64 and newfstatat per file, output compared.
DU_DIR=/usr/share/zoneinfo
t0=$(ms_now); du -s "$DU_DIR" >"$TMP/du.n" 2>/dev/null; t1=$(ms_now); DU_NATIVE_MS=$(us_to_ms_f $((t1 - t0)))
t0=$(ms_now); "$PDVM" run -v -- /usr/bin/du -s "$DU_DIR" >"$TMP/du.p" 2>"$TMP/du.err"; t1=$(ms_now)
DU_PDVM_MS=$(us_to_ms_f $((t1 - t0)))
DU_TRAPS=$(num_or_na "$(sed -n 's/.*stats: traps=\([0-9]*\).*/\1/p' "$TMP/du.err" | tail -n1)")
cmp -s "$TMP/du.n" "$TMP/du.p" && DU_SAME=yes || DU_SAME=no
DU_RATIO=$(ratio "$DU_PDVM_MS" "$DU_NATIVE_MS")
# The cost of the domain's identity (docs/security.md): the default unprivileged user against --user root
# (no credential change at all), interleaved: a getpid trap, a static hello's start-up, du's file-system walk.
id_gp=() id_gpr=() id_st=() id_str=() id_du=() id_dur=()
for _ in $(seq "$REPS"); do
	for u in pdvm root; do
		g=$("$PDVM" run --user "$u" -- "$GUEST/getpid_loop" "$GETPIDS" 2>/dev/null | sed -n 's/.*, \([0-9.]*\) us\/call.*/\1/p')
		t0=$(ms_now); "$PDVM" run --user "$u" -- "$GUEST/hello" >/dev/null 2>&1; t1=$(ms_now); s=$((t1 - t0))
		t0=$(ms_now); "$PDVM" run --user "$u" -- /usr/bin/du -s "$DU_DIR" >/dev/null 2>&1; t1=$(ms_now); d=$((t1 - t0))
		if [ "$u" = pdvm ]; then id_gp+=("$g"); id_st+=("$s"); id_du+=("$d"); else id_gpr+=("$g"); id_str+=("$s"); id_dur+=("$d"); fi
	done
done
ID_GP=$(num_or_na "$(printf '%s\n' "${id_gp[@]}" | grep . | median)")
ID_GP_ROOT=$(num_or_na "$(printf '%s\n' "${id_gpr[@]}" | grep . | median)")
ID_ST=$(printf '%s\n' "${id_st[@]}" | median | awk '{ printf "%.2f", $1 / 1000 }')
ID_ST_ROOT=$(printf '%s\n' "${id_str[@]}" | median | awk '{ printf "%.2f", $1 / 1000 }')
ID_DU=$(printf '%s\n' "${id_du[@]}" | median | awk '{ printf "%.1f", $1 / 1000 }')
ID_DU_ROOT=$(printf '%s\n' "${id_dur[@]}" | median | awk '{ printf "%.1f", $1 / 1000 }')
# clock_gettime: native, pdvm as it comes (system calls without a stable TSC), pdvm with the vDSO forced on.
CLK_N=$(num_or_na "$("$GUEST/clock_loop" 100000 | sed -n 's/.*, \([0-9.]*\) us\/call.*/\1/p')")
CLK_P=$(num_or_na "$("$PDVM" run -- "$GUEST/clock_loop" 20000 2>/dev/null | sed -n 's/.*, \([0-9.]*\) us\/call.*/\1/p')")
CLK_F=$(num_or_na "$(PDVM_VDSO=force "$PDVM" run -- "$GUEST/clock_loop" 100000 2>/dev/null | sed -n 's/.*, \([0-9.]*\) us\/call.*/\1/p')")
# A signal raised to self and handled: glibc's raise() is 4 system calls (block, gettid, tgkill,
# unblock), then the handler's rt_sigreturn: 5 traps in pdvm, the floor it is compared with.
SIG_N=$(num_or_na "$("$GUEST/sig_loop" 10000 | sed -n 's/.*, \([0-9.]*\) us\/signal.*/\1/p')")
SIG_P=$(num_or_na "$("$PDVM" run -- "$GUEST/sig_loop" 2000 2>/dev/null | sed -n 's/.*, \([0-9.]*\) us\/signal.*/\1/p')")
SIG_FLOOR=$(awk -v f="$FLOOR_US" 'BEGIN { if (f == "n/a") print "n/a"; else printf "%.1f", 5 * f }')
# fork+exec+wait of a trivial static program: busybox sh runs `busybox true` FE_N times; the same
# shell with 0 iterations is subtracted, so the per-iteration cost excludes start-up.
FE_N=40
fe_loop() { /bin/busybox sh -c "i=0; while [ \$i -lt $1 ]; do /bin/busybox true; i=\$((i + 1)); done"; }
fe_run() { # $1: native|pdvm, $2: iterations -> microseconds
	local t0 t1
	t0=$(ms_now)
	if [ "$1" = native ]; then fe_loop "$2"; else "$PDVM" run -- /bin/busybox sh -c \
		"i=0; while [ \$i -lt $2 ]; do /bin/busybox true; i=\$((i + 1)); done"; fi >/dev/null 2>&1 || return 1
	t1=$(ms_now); echo $((t1 - t0))
}
FE_NATIVE_US=n/a FE_PDVM_US=n/a
if [ -x /bin/busybox ]; then
	fe_n=() fe_p=()
	for _ in $(seq "$REPS"); do
		a=$(fe_run native "$FE_N") && b=$(fe_run native 0) && fe_n+=("$(((a - b) / FE_N))")
		a=$(fe_run pdvm "$FE_N") && b=$(fe_run pdvm 0) && fe_p+=("$(((a - b) / FE_N))")
	done
	[ ${#fe_n[@]} -gt 0 ] && FE_NATIVE_US=$(printf '%s\n' "${fe_n[@]}" | median)
	[ ${#fe_p[@]} -gt 0 ] && FE_PDVM_US=$(printf '%s\n' "${fe_p[@]}" | median)
fi
FE_RATIO=$(ratio "$FE_PDVM_US" "$FE_NATIVE_US")

# ---- (e) snapshots: a 1 GiB image vs memcpy/lz4, incremental after 1% dirtied, eager vs lazy restore ----------
# tests/guest/memfill fills its memory with zero / random / text thirds; bench/memlz4 fills the same bytes on this
# machine and times memcpy and lz4 over them, the references the snapshot's effective GB/s is compared with.
# Each step may fail on its own (n/a); the 4 GiB restore case runs only when the time budget allows.
E_T0=$SECONDS
export PDVM_RUN_DIR=$TMP/run                     # private control sockets
mkdir -p -m 700 "$PDVM_RUN_DIR"
SN=$TMP/snap
mkdir -p "$SN"
MF=$GUEST/memfill
VM_DEADLINE=$((${BENCH_VM_TIMEOUT:-1800} - 90)) # leave time to print and write the JSON before vm-run gives up
BUDGET=${BENCH_BUDGET_S:-1140}                  # the 4 GiB case only starts if it should end before this
secs_left() { echo $((VM_DEADLINE - SECONDS)); }
# ms_cell V: V cut to a 14-character table cell
ms_cell() { local v=$1; [ ${#v} -le 14 ] || v="${v:0:13}~"; printf '%s' "$v"; }
# tmo SECS: a timeout that still fits before the deadline (at least 5 s)
tmo() { local l; l=$(secs_left); [ "$1" -lt "$l" ] && l=$1; [ "$l" -gt 5 ] || l=5; echo "$l"; }
# kv KEY TEXT: the number after KEY= in TEXT (first match), or nothing
kv() { sed -n "s/.*[[:space:]]$1=\([0-9.]*\).*/\1/p" <<<"$2" | head -n1; }
gbps() { awk -v b="$1" -v ms="$2" 'BEGIN { if (ms == "n/a" || ms + 0 <= 0) print "n/a"; else printf "%.3f", b / (ms / 1000) / 1e9 }'; }
us_to_ms() { awk -v d="$1" 'BEGIN { printf "%.1f", d / 1000 }'; }
# timed CMD...: runs CMD, leaves its wall time in T_MS (ms) and returns its status
timed() { local t0 t1 rc; t0=$(ms_now); "$@"; rc=$?; t1=$(ms_now); T_MS=$(us_to_ms $((t1 - t0))); return $rc; }
# wait_line FILE LINE PID SECS: 0 once LINE is a line of FILE; 1 if PID ended without it or time ran out
wait_line() {
	local end=$((SECONDS + $4))
	until grep -qx "$2" "$1" 2>/dev/null; do
		kill -0 "$3" 2>/dev/null || { grep -qx "$2" "$1" 2>/dev/null; return; }
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}
# snap_log NAME DIR: the domain log line of the snapshot written to DIR
snap_log() { cat "$SN/$1.log" "$SN/$1.err" 2>/dev/null | grep -F "snapshot " | grep -F " to $2" | tail -n1; }
# why FILE: the last line of FILE, for an n/a reason
why() { tail -n1 "$1" 2>/dev/null | tr -d '"\\' | cut -c1-100; }

# start_dom NAME MIB MEMORY [dirty PCT]: a memfill domain in the background (DOM_PID); 0 once it printed "ready"
start_dom() {
	local name=$1 mib=$2 mem=$3 t0
	shift 3
	rm -f "$SN/$name".*
	t0=$(ms_now)
	"$PDVM" run -v --name "$name" --memory "$mem" --log "$SN/$name.log" -- "$MF" "$mib" "$SN/$name.stop" "$@" \
		>"$SN/$name.out" 2>"$SN/$name.err" &
	DOM_PID=$!
	if wait_line "$SN/$name.out" ready "$DOM_PID" "$(tmo 900)"; then
		FILL_MS=$(us_to_ms $(($(ms_now) - t0)))
		return 0
	fi
	FILL_MS=n/a
	DOM_WHY="no 'ready' from memfill $mib in a domain: $(why "$SN/$name.err")"
	stop_dom "$name"
	return 1
}
# gone PID SECS: 0 once PID has ended (polling for up to SECS)
gone() {
	local end=$((SECONDS + $2))
	while kill -0 "$1" 2>/dev/null; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}
# stop_dom NAME [GRACE]: after GRACE seconds (default 0) for it to end by itself, ends the domain and reaps its pdvm
stop_dom() {
	if ! gone "$DOM_PID" "${2:-0}"; then
		timeout 30 "$PDVM" kill "$1" >/dev/null 2>&1
		gone "$DOM_PID" 20 || kill "$DOM_PID" 2>/dev/null
	fi
	wait "$DOM_PID" 2>/dev/null
}
# native_sum MIB [dirty PCT]: the "sum" line memfill prints natively (STOPFILE, and STOPFILE.dirty, present)
native_sum() {
	local mib=$1 t0
	shift
	touch "$SN/native.stop" "$SN/native.stop.dirty"
	t0=$(ms_now)
	NATIVE_SUM=$(timeout "$(tmo 600)" "$MF" "$mib" "$SN/native.stop" "$@" 2>/dev/null | sed -n 's/^sum //p')
	NATIVE_MS=$(us_to_ms $(($(ms_now) - t0)))
	[ -n "$NATIVE_SUM" ] || NATIVE_SUM=n/a
}
# restore_one DIR EXPECTED [--lazy]: RES_TTR (ms to running), RES_MS (wall), RES_CHECK (ok / WRONG / failed ...), RES_SUM
restore_one() {
	local dir=$1 want=$2 out=$SN/restore${3:-}.out err=$SN/restore${3:-}.err
	shift 2
	timed timeout "$(tmo 900)" "$PDVM" restore -v "$@" "$dir" >"$out" 2>"$err"
	local rc=$?
	RES_MS=$T_MS
	RES_LINE=$(grep -F "restored from $dir" "$err" | tail -n1)
	RES_TTR=$(num_or_na "$(sed -n 's/.* in \([0-9.]*\) ms (VM set-up.*/\1/p' <<<"$RES_LINE")")
	RES_SETUP=$(num_or_na "$(sed -n 's/.*(VM set-up \([0-9.]*\) ms.*/\1/p' <<<"$RES_LINE")")
	RES_LAZY=$(grep -o 'lazy load: [0-9]* faults served, [0-9]* pages copied' "$err" | tail -n1)
	RES_SUM=$(num_or_na "$(sed -n 's/^sum //p' "$out" | tail -n1)")
	if [ "$rc" != 0 ]; then
		RES_CHECK="failed (exit $rc: $(grep -v '^pdvm: .*: \(snapshot\|restored\|lazy load\)' "$err" | why /dev/stdin))"
	elif [ "$want" = n/a ]; then
		RES_CHECK="unchecked (no native sum)"
	elif [ "$RES_SUM" = "$want" ]; then
		RES_CHECK=ok
	else
		RES_CHECK=WRONG
	fi
}
# restore_case MIB IMAGE EXPECTED: eager then lazy restore of IMAGE; fills the R_* arrays at index MIB
declare -A R_NATIVE_MS R_EAGER R_LAZY R_EAGER_CHECK R_LAZY_CHECK R_EAGER_MS R_LAZY_MS R_LAZY_STATS R_SUM R_NATIVE R_NOTE R_SETUP_E R_SETUP_L
restore_case() {
	local mib=$1 img=$2
	R_NATIVE[$mib]=$3 R_NATIVE_MS[$mib]=${NATIVE_MS:-n/a}
	restore_one "$img" "$3"
	R_EAGER[$mib]=$RES_TTR R_EAGER_CHECK[$mib]=$RES_CHECK R_EAGER_MS[$mib]=$RES_MS R_SUM[$mib]=$RES_SUM R_SETUP_E[$mib]=$RES_SETUP
	restore_one "$img" "$3" --lazy
	R_LAZY[$mib]=$RES_TTR R_LAZY_CHECK[$mib]=$RES_CHECK R_LAZY_MS[$mib]=$RES_MS R_SETUP_L[$mib]=$RES_SETUP
	R_LAZY_STATS[$mib]=$(sed -n 's/lazy load: \([0-9]*\) faults served, \([0-9]*\) pages copied/\1 faults, \2 pages/p' <<<"$RES_LAZY")
	[ "${R_SUM[$mib]}" != n/a ] || R_SUM[$mib]=$RES_SUM
}
SIZES=(64 1024 4096)

# e1: the references, measured here (same machine, same run)
LZ_OUT=$(timeout "$(tmo 600)" "$B/bench/memlz4" 1024 2>&1)
LZ_MEMCPY=$(num_or_na "$(kv memcpy_gbps "$LZ_OUT")")
LZ_LINE1=$(grep 'lz4_gbps=' <<<"$LZ_OUT")
LZ_1=$(num_or_na "$(kv lz4_gbps "$LZ_LINE1")")
LZ_RATIO=$(num_or_na "$(kv ratio "$LZ_LINE1")")
LZ_MT=$(num_or_na "$(kv lz4_mt_gbps "$LZ_OUT")")
LZ_MT_THREADS=$(num_or_na "$(kv threads "$(grep 'lz4_mt_gbps=' <<<"$LZ_OUT")")")
LZ_SUM=$(num_or_na "$(sed -n 's/.* sum=\([0-9a-f]*\).*/\1/p' <<<"$LZ_OUT")")
[ "$LZ_MEMCPY" != n/a ] || LZ_WHY="memlz4: $(tail -n1 <<<"$LZ_OUT" | tr -d '"\\' | cut -c1-100)"

# The pdvm client's own start-up and control-socket round trip (no domain): part of every snapshot's wall time.
cl=()
for _ in 1 2 3; do
	timed timeout 60 "$PDVM" list >/dev/null 2>&1 && cl+=("$T_MS")
done
CLIENT_MS=$(num_or_na "$(printf '%s\n' ${cl[@]+"${cl[@]}"} | grep . | median)")

# e2: 1 GiB touched: full snapshot A, 1% of the pages dirtied, incremental B, then C with --stop for the restores
SNAP_MIB=1024 DIRTY_PCT=1
SA_MS=n/a SB_MS=n/a SC_MS=n/a SA_LOG="" SB_LOG="" SA_BYTES=n/a SB_BYTES=n/a SNAP_WHY="" INC_WHY="" FILL_1G_MS=n/a
if [ ! -x "$MF" ]; then
	SNAP_WHY="$MF missing"
elif start_dom bmf1024 1024 1280M dirty "$DIRTY_PCT"; then
	FILL_1G_MS=$FILL_MS
	if timed timeout "$(tmo 900)" "$PDVM" snapshot bmf1024 "$SN/A" 2>"$SN/snapA.err"; then
		SA_MS=$T_MS SA_BYTES=$(du -sb "$SN/A" | cut -f1) SA_LOG=$(snap_log bmf1024 "$SN/A")
	else
		SNAP_WHY="snapshot failed (exit $?): $(why "$SN/snapA.err")"
	fi
	touch "$SN/bmf1024.stop.dirty"
	if [ -z "$SNAP_WHY" ] && ! wait_line "$SN/bmf1024.out" dirtied "$DOM_PID" "$(tmo 300)"; then
		INC_WHY="no 'dirtied' from memfill: $(why "$SN/bmf1024.err")"
	elif [ -z "$SNAP_WHY" ]; then
		if timed timeout "$(tmo 900)" "$PDVM" snapshot --parent "$SN/A" bmf1024 "$SN/B" 2>"$SN/snapB.err"; then
			SB_MS=$T_MS SB_BYTES=$(du -sb "$SN/B" | cut -f1) SB_LOG=$(snap_log bmf1024 "$SN/B")
		else
			INC_WHY="snapshot --parent failed (exit $?): $(why "$SN/snapB.err")"
		fi
	fi
	if timed timeout "$(tmo 900)" "$PDVM" snapshot --stop bmf1024 "$SN/C1024" 2>"$SN/snapC.err"; then
		SC_MS=$T_MS
	else
		R_NOTE[1024]="snapshot --stop failed (exit $?): $(why "$SN/snapC.err")"
	fi
	stop_dom bmf1024 "$([ -z "${R_NOTE[1024]:-}" ] && echo 120 || echo 0)" # after --stop it ends by itself
else
	SNAP_WHY=$DOM_WHY
	R_NOTE[1024]=$DOM_WHY
fi
[ -n "$INC_WHY" ] || INC_WHY=$SNAP_WHY
snap_field() { num_or_na "$(sed -n "s/.*$1.*/\1/p" <<<"$2")"; }
SA_PAGES=$(snap_field ': \([0-9]*\) pages' "$SA_LOG")
SA_ZERO=$(snap_field ', \([0-9]*\) zero skipped' "$SA_LOG")
SA_PAUSED=$(snap_field 'paused in \([0-9.]*\) ms' "$SA_LOG")
SA_WRITTEN=$(snap_field 'written in \([0-9.]*\) ms' "$SA_LOG")
SB_PAGES=$(snap_field ': \([0-9]*\) pages' "$SB_LOG")
SB_PAUSED=$(snap_field 'paused in \([0-9.]*\) ms' "$SB_LOG")
SB_WRITTEN=$(snap_field 'written in \([0-9.]*\) ms' "$SB_LOG")
SNAP_BYTES=$((SNAP_MIB << 20))
SA_GBPS=$(gbps "$SNAP_BYTES" "$SA_MS")
SA_GBPS_W=$(gbps "$SNAP_BYTES" "$SA_WRITTEN")
SA_VS_MEMCPY=$(ratio "$SA_GBPS" "$LZ_MEMCPY")
SA_VS_LZ4=$(ratio "$SA_GBPS" "$LZ_1")
SA_VS_LZ4MT=$(ratio "$SA_GBPS" "$LZ_MT")
SA_IMG_RATIO=$(ratio "$SNAP_BYTES" "$SA_BYTES")
pct() { awk -v b="$1" -v a="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || a + 0 == 0) print "n/a"; else printf "%.1f", 100 * b / a }'; }
INC_PCT=$(pct "$SB_MS" "$SA_MS")
# the same from the domain log (paused + written): without the client's start-up and connection
sum_ms() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a") print "n/a"; else printf "%.1f", a + b }'; }
INC_PCT_LOG=$(pct "$(sum_ms "$SB_PAUSED" "$SB_WRITTEN")" "$(sum_ms "$SA_PAUSED" "$SA_WRITTEN")")
[ "$SA_MS" != n/a ] || SA_MS="n/a ($SNAP_WHY)"
[ "$SB_MS" != n/a ] || SB_MS="n/a ($INC_WHY)"

# e3: restores of the 1 GiB image (its expected sum: memfill natively, with the same 1% dirtied)
COST_1G=""
if [ -d "$SN/C1024" ] && [ -z "${R_NOTE[1024]:-}" ]; then
	touch "$SN/bmf1024.stop"
	native_sum 1024 dirty "$DIRTY_PCT"
	NATIVE_1G_MS=$NATIVE_MS
	restore_case 1024 "$SN/C1024" "$NATIVE_SUM"
	# what the 4 GiB case will cost, roughly: four times this one
	COST_1G=$(awk -v f="$FILL_1G_MS" -v c="$SC_MS" -v e="${R_EAGER_MS[1024]}" -v l="${R_LAZY_MS[1024]}" -v n="$NATIVE_1G_MS" \
		'BEGIN { printf "%d", (f + c + e + l + n) / 1000 }')
fi
rm -rf "$SN/C1024"
# the incremental chain A+B, restored lazily: B's state is C's, so the same sum
CHAIN_TTR=n/a CHAIN_CHECK="n/a (no incremental image)" CHAIN_IMAGES=n/a CHAIN_LAZY=""
if [ -d "$SN/B" ] && [ -d "$SN/A" ] && [ -n "${R_NATIVE[1024]:-}" ]; then
	restore_one "$SN/B" "${R_NATIVE[1024]}" --lazy
	CHAIN_TTR=$RES_TTR CHAIN_CHECK=$RES_CHECK CHAIN_MS=$RES_MS
	CHAIN_IMAGES=$(num_or_na "$(sed -n 's/.* (\([0-9]*\) images\{0,1\}) in .*/\1/p' <<<"$RES_LINE")")
	CHAIN_LAZY=$(sed -n 's/lazy load: \([0-9]*\) faults served, \([0-9]*\) pages copied/\1 faults, \2 pages/p' <<<"$RES_LAZY")
fi
rm -rf "$SN/A" "$SN/B"

# e4: 64 MiB and 4 GiB: fill, snapshot --stop, eager and lazy restore
for mib in 64 4096; do
	[ -x "$MF" ] || { R_NOTE[$mib]="$MF missing"; continue; }
	if [ "$mib" = 4096 ]; then
		if [ -n "${BENCH_QUICK:-}" ]; then
			R_NOTE[$mib]="skipped: BENCH_QUICK"; continue
		fi
		est=$((3 * ${COST_1G:-200} + 90)) # measured: the 4 GiB case costs about 3x the 1 GiB one
		if [ $((SECONDS + est)) -gt "$BUDGET" ]; then
			R_NOTE[$mib]="skipped: time budget (would need ~${est} s more, ${SECONDS} s used of $BUDGET)"; continue
		fi
		if [ "$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)" -lt 7000 ]; then
			R_NOTE[$mib]="skipped: under 7 GiB of memory available"; continue
		fi
	fi
	mem=$((mib + mib / 8 + 128))M
	t_case=$SECONDS
	if ! start_dom "bmf$mib" "$mib" "$mem"; then
		R_NOTE[$mib]=$DOM_WHY; continue
	fi
	[ "$mib" = 4096 ] && FILL_4G_MS=$FILL_MS
	if ! timed timeout "$(tmo 900)" "$PDVM" snapshot --stop "bmf$mib" "$SN/C$mib" 2>"$SN/snapC.err"; then
		R_NOTE[$mib]="snapshot --stop failed (exit $?): $(why "$SN/snapC.err")"
		stop_dom "bmf$mib"; rm -rf "$SN/C$mib"; continue
	fi
	stop_dom "bmf$mib" 120
	touch "$SN/bmf$mib.stop"
	native_sum "$mib"
	restore_case "$mib" "$SN/C$mib" "$NATIVE_SUM"
	[ "$mib" = 4096 ] && CASE_4G_S=$((SECONDS - t_case))
	rm -rf "$SN/C$mib"
done

# ---- (f) networking: TCP throughput, round trips, 100 connections through a checkpoint (bench/net.sh) ----
. "$HERE/net.sh"

# ---- (g) live migration between two hosts over a 1 Gbit/s link: stop-and-copy vs pre-copy (bench/migrate.sh) ----
. "$HERE/migrate.sh"

# ---- (h) the syscall path: exitless against the exit, per workload (bench/exitless.sh) ----
. "$HERE/exitless.sh"

# ---- (i) the OCI runtime under podman: run --rm true, checkpoint + restore with TCP, against runc (bench/oci.sh) ----
. "$HERE/oci.sh"

# ---- (j) record and replay: a run on the exit path, its recording and its replay (bench/replay.sh) ----
. "$HERE/replay.sh"

# ---- report --------------------------------------------------------------------------------
printf '\n%-44s %14s %14s %10s\n' "benchmark" "native" "pdvm" "ratio"
printf '%-44s %14s %14s %10s\n' "CPU loop ($CPU_M M iterations), ms" "$CPU_NATIVE" "$CPU_PDVM" "$CPU_RATIO"
printf '%-44s %14s %14s %10s\n' "getpid round trip, us/call (vs trap floor)" "$FLOOR_US" "$GETPID_US" "$TRAP_RATIO"
printf '%-44s %14s %14s %10s\n' "  (native getpid, us/call)" "$GETPID_NATIVE_US" "" ""
printf '%-44s %14s %14s %10s\n' "64 KiB read of /dev/zero, us (vs data floor)" "$DFLOOR_US" "$READ_PDVM_US" \
	"$(ratio "$READ_PDVM_US" "$DFLOOR_US")"
printf '%-44s %14s %14s %10s\n' "  (native read: read_loop / trapfloor's)" "$READ_NATIVE_US / $DFLOOR_NATIVE_US" "" ""
printf '%-44s %14s %14s %10s\n' "startup of a static hello, ms (median)" "$START_NATIVE_MS" "$START_PDVM_MS" "$START_RATIO"
printf '%-44s %14s %14s %10s\n' "remap churn ($REMAP_N iterations), ms" "$REMAP_NATIVE_MS" "$REMAP_PDVM_MS" \
	"$(ratio "$REMAP_PDVM_MS" "$REMAP_NATIVE_MS")"
printf '%-44s %14s %14s %10s\n' "  remap: traps / flushes / resyncs" "" "$REMAP_TRAPS/$REMAP_FLUSHES/$REMAP_RESYNCS" ""
printf 'trap floor: %s mode (%s); %s repetitions, medians\n\n' "$FLOOR_MODE" "$FLOOR_LINE" "$REPS"
printf '%-44s %14s %14s %10s\n' "python3 -c pass, start-up ms (median)" "$PY_NATIVE_MS" "$PY_PDVM_MS" "$PY_RATIO"
printf '%-44s %14s %14s %10s\n' "du -s $DU_DIR, ms (same output: $DU_SAME)" "$DU_NATIVE_MS" "$DU_PDVM_MS" "$DU_RATIO"
printf '%-44s %14s %14s %10s\n' "  du: traps in pdvm" "" "$DU_TRAPS" ""
printf '%-44s %14s %14s %10s\n' "identity: getpid us/call (user root | pdvm)" "$ID_GP_ROOT" "$ID_GP" "$(ratio "$ID_GP" "$ID_GP_ROOT")"
printf '%-44s %14s %14s %10s\n' "identity: hello start-up ms (root | pdvm)" "$ID_ST_ROOT" "$ID_ST" "$(ratio "$ID_ST" "$ID_ST_ROOT")"
printf '%-44s %14s %14s %10s\n' "identity: du -s ms (root | pdvm)" "$ID_DU_ROOT" "$ID_DU" "$(ratio "$ID_DU" "$ID_DU_ROOT")"
printf '%-44s %14s %14s %10s\n' "clock_gettime us/call, system calls" "$CLK_N" "$CLK_P" "$(ratio "$CLK_P" "$CLK_N")"
printf '%-44s %14s %14s %10s\n' "clock_gettime us/call, vDSO forced on" "$CLK_N" "$CLK_F" "$(ratio "$CLK_F" "$CLK_N")"
printf '%-44s %14s %14s %10s\n' "signal raise+handle us (vs 5 trap floors)" "$SIG_FLOOR" "$SIG_P" "$(ratio "$SIG_P" "$SIG_FLOOR")"
printf '%-44s %14s %14s %10s\n' "  (native signal raise+handle, us)" "$SIG_N" "" ""
printf '%-44s %14s %14s %10s\n\n' "fork+exec+wait of busybox true, us/iteration" "$FE_NATIVE_US" "$FE_PDVM_US" "$FE_RATIO"
net_report
mig_report
exl_report
rr_report

# (e) snapshot and restore
printf '%-44s %14s %14s %10s\n' "snapshot, $SNAP_MIB MiB touched (zero/random/text)" "reference" "pdvm" "ratio"
printf '%-44s %14s %14s %10s\n' "  snapshot GB/s vs memcpy GB/s" "$LZ_MEMCPY" "$SA_GBPS" "$SA_VS_MEMCPY"
printf '%-44s %14s %14s %10s\n' "  snapshot GB/s vs lz4 GB/s, 1 thread" "$LZ_1" "$SA_GBPS" "$SA_VS_LZ4"
printf '%-44s %14s %14s %10s\n' "  snapshot GB/s vs lz4 GB/s, $LZ_MT_THREADS threads" "$LZ_MT" "$SA_GBPS" "$SA_VS_LZ4MT"
printf '%-44s %14s %14s %10s\n' "  image MiB (ratio: memory / image; lz4's)" "$LZ_RATIO" \
	"$(awk -v b="$SA_BYTES" 'BEGIN { if (b == "n/a") print "n/a"; else printf "%.1f", b / 1048576 }')" "$SA_IMG_RATIO"
printf '  snapshot wall %s ms; domain log: paused in %s ms, written in %s ms (%s GB/s); %s pages, %s zero skipped\n' \
	"$SA_MS" "$SA_PAUSED" "$SA_WRITTEN" "$SA_GBPS_W" "$SA_PAGES" "$SA_ZERO"
printf '%-44s %14s %14s %10s\n' "incremental after $DIRTY_PCT% of pages dirtied, ms" "full A" "incremental B" "B/A %"
printf '%-44s %14s %14s %10s\n' "  snapshot wall time" "$(ms_cell "$SA_MS")" "$(ms_cell "$SB_MS")" "$INC_PCT"
printf '%-44s %14s %14s %10s\n' "  paused + written (domain log)" "$(sum_ms "$SA_PAUSED" "$SA_WRITTEN")" \
	"$(sum_ms "$SB_PAUSED" "$SB_WRITTEN")" "$INC_PCT_LOG"
printf '%-44s %14s %14s %10s\n' "  B's wall time vs the client alone (pdvm list)" "$CLIENT_MS" "$(ms_cell "$SB_MS")" \
	"$(ratio "$SB_MS" "$CLIENT_MS")"
printf '%-44s %14s %14s %10s  %s\n' "  lazy restore of the chain A+B, ms to running" "" "$CHAIN_TTR" "" \
	"$([ "$CHAIN_CHECK" = ok ] && echo "sum ok" || echo "$CHAIN_CHECK"), $CHAIN_IMAGES images, ${CHAIN_LAZY:-n/a}"
printf '  B: %s ms; %s KiB image, %s pages; paused in %s ms, written in %s ms\n' "$SB_MS" \
	"$(awk -v b="$SB_BYTES" 'BEGIN { if (b == "n/a") print "n/a"; else printf "%d", b / 1024 }')" "$SB_PAGES" "$SB_PAUSED" "$SB_WRITTEN"
printf '%-44s %14s %14s %10s\n' "restore, time to running, ms" "eager" "lazy" "lazy/eager"
LZ_MIN="" LZ_MAX="" LI_MIN="" LI_MAX=""
for mib in "${SIZES[@]}"; do
	label=$([ "$mib" -ge 1024 ] && echo "$((mib / 1024)) GiB" || echo "$mib MiB")
	if [ -n "${R_NOTE[$mib]:-}" ]; then
		printf '%-44s %s\n' "  $label" "n/a (${R_NOTE[$mib]})"
		continue
	fi
	if [ "${R_EAGER_CHECK[$mib]}/${R_LAZY_CHECK[$mib]}" = ok/ok ]; then
		chk="sums ok"
	else
		chk="eager ${R_EAGER_CHECK[$mib]}, lazy ${R_LAZY_CHECK[$mib]}"
	fi
	e=${R_EAGER[$mib]} l=${R_LAZY[$mib]}
	[ "${R_EAGER_CHECK[$mib]}" = WRONG ] && e="WRONG $e"
	[ "${R_LAZY_CHECK[$mib]}" = WRONG ] && l="WRONG $l"
	printf '%-44s %14s %14s %10s  %s\n' "  $label" "$e" "$l" "$(ratio "${R_LAZY[$mib]}" "${R_EAGER[$mib]}")" "$chk"
	printf '    VM set-up part %s / %s ms; lazy load %s; wall %s / %s ms; sum %s (native %s in %s ms)\n' "${R_SETUP_E[$mib]}" \
		"${R_SETUP_L[$mib]}" "${R_LAZY_STATS[$mib]:-n/a}" "${R_EAGER_MS[$mib]}" "${R_LAZY_MS[$mib]}" "${R_SUM[$mib]}" "${R_NATIVE[$mib]}" \
		"${R_NATIVE_MS[$mib]}"
	if [ "${R_LAZY[$mib]}" != n/a ] && [ "${R_LAZY_CHECK[$mib]}" = ok ]; then
		LZ_MIN=$(awk -v a="${LZ_MIN:-${R_LAZY[$mib]}}" -v b="${R_LAZY[$mib]}" 'BEGIN { print (b + 0 < a + 0 ? b : a) }')
		LZ_MAX=$(awk -v a="${LZ_MAX:-${R_LAZY[$mib]}}" -v b="${R_LAZY[$mib]}" 'BEGIN { print (b + 0 > a + 0 ? b : a) }')
		# the image part alone (time to running minus the VM set-up, which does not depend on the size)
		li=$(awk -v t="${R_LAZY[$mib]}" -v v="${R_SETUP_L[$mib]}" 'BEGIN { if (v == "n/a") print "n/a"; else printf "%.3f", t - v }')
		if [ "$li" != n/a ]; then
			LI_MIN=$(awk -v a="${LI_MIN:-$li}" -v b="$li" 'BEGIN { print (b + 0 < a + 0 ? b : a) }')
			LI_MAX=$(awk -v a="${LI_MAX:-$li}" -v b="$li" 'BEGIN { print (b + 0 > a + 0 ? b : a) }')
		fi
	fi
done
LZ_SPREAD=$(ratio "${LZ_MAX:-n/a}" "${LZ_MIN:-n/a}")
LZ_FLAT=$(awk -v s="$LZ_SPREAD" 'BEGIN { if (s == "n/a") print "n/a"; else print (s <= 2 ? "yes" : "no") }')
LI_SPREAD=$(ratio "${LI_MAX:-n/a}" "${LI_MIN:-n/a}")
printf '%-44s %14s %14s %10s\n' "  lazy across sizes: min, max, max/min" "${LZ_MIN:-n/a}" "${LZ_MAX:-n/a}" "$LZ_SPREAD"
printf '%-44s %14s %14s %10s\n' "  the same without the VM set-up part" "${LI_MIN:-n/a}" "${LI_MAX:-n/a}" "$LI_SPREAD"
printf 'lazy time to running flat within 2x: %s. %s\n' "$LZ_FLAT" "$(num_or_na "$LZ_LINE1")"
[ -z "${LZ_WHY:-}" ] || printf 'memlz4 n/a: %s\n' "$LZ_WHY"
printf 'domain fill of %s MiB: %s ms; its snapshot --stop: %s ms; 4 GiB case: %s; section (e) %s s, bench %s s\n\n' \
	"$SNAP_MIB" "$FILL_1G_MS" "$SC_MS" \
	"$([ -n "${CASE_4G_S:-}" ] && echo "${CASE_4G_S} s (fill ${FILL_4G_MS:-n/a} ms)" || echo "${R_NOTE[4096]:-n/a}")" \
	"$((SECONDS - E_T0))" "$SECONDS"

# The writer alone on the outer host (no KVM, no TCG), against lz4 and memcpy measured there too.
HSW=${BENCH_HOST_SNAPWRITE:-${HOST_SNAPWRITE:-}}   # measured before the VM started, or here natively
HSW_GBPS=$(num_or_na "$(sed -n 's/.*snapwrite: gbps=\([0-9.]*\).*/\1/p' <<<"$HSW")")
HSW_LZ4=$(num_or_na "$(sed -n 's/.* lz4_gbps=\([0-9.]*\).*/\1/p' <<<"$HSW")")
HSW_MEMCPY=$(num_or_na "$(sed -n 's/.*memcpy_gbps=\([0-9.]*\).*/\1/p' <<<"$HSW")")
printf '%-44s %14s %14s %10s\n' "snapshot memory writer on the outer host, GB/s" "lz4 1 thread" "pdvm writer" "ratio"
printf '%-44s %14s %14s %10s\n' "  1 GiB zero/random/text, all CPUs (target 1.5)" "$HSW_LZ4" "$HSW_GBPS" "$(ratio "$HSW_GBPS" "$HSW_LZ4")"
printf '%-44s %14s %14s %10s\n\n' "  (memcpy GB/s on the outer host)" "$HSW_MEMCPY" "" ""

DATE=$(date -u +%Y%m%d-%H%M%S)
mkdir -p bench/results
OUTF=bench/results/RESULTS-$DATE.json
cat >"$OUTF" <<EOF
{
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "commit": $(jstr "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo none)"),
  "host_kind": $(jstr "$HOST_KIND"),
  "host": $(host_info),
  "outer_host": $(if [ -n "${BENCH_OUTER_HOST_B64:-}" ]; then base64 -d <<<"$BENCH_OUTER_HOST_B64"; else echo null; fi),
  "repetitions": $REPS,
  "quick": $([ -n "${BENCH_QUICK:-}" ] && echo true || echo false),
  "cpu_loop": { "millions": $CPU_M, "native_ms": $(jnum "$CPU_NATIVE"), "pdvm_ms": $(jnum "$CPU_PDVM"), "ratio": $(jnum "$CPU_RATIO") },
  "trap": { "getpid_calls": $GETPIDS, "pdvm_us_per_call": $(jnum "$GETPID_US"), "native_us_per_call": $(jnum "$GETPID_NATIVE_US"),
            "floor_us_per_trap": $(jnum "$FLOOR_US"), "floor_mode": $(jstr "$FLOOR_MODE"), "ratio_to_floor": $(jnum "$TRAP_RATIO"),
            "read64k_pdvm_us": $(jnum "$READ_PDVM_US"), "read64k_native_us": $(jnum "$READ_NATIVE_US"),
            "data_floor_64k_us_per_trap": $(jnum "$DFLOOR_US"), "data_floor_native_read_us": $(jnum "$DFLOOR_NATIVE_US") },
  "startup": { "native_ms": $(jnum "$START_NATIVE_MS"), "pdvm_ms": $(jnum "$START_PDVM_MS"), "ratio": $(jnum "$START_RATIO") },
  "compat": { "python_startup_native_ms": $(jnum "$PY_NATIVE_MS"), "python_startup_pdvm_ms": $(jnum "$PY_PDVM_MS"),
              "python_startup_ratio": $(jnum "$PY_RATIO"), "du_native_ms": $(jnum "$DU_NATIVE_MS"), "du_pdvm_ms": $(jnum "$DU_PDVM_MS"),
              "du_ratio": $(jnum "$DU_RATIO"), "du_traps": $(jnum "$DU_TRAPS"), "du_same_output": $([ "$DU_SAME" = yes ] && echo true || echo false),
              "clock_native_us": $(jnum "$CLK_N"), "clock_pdvm_syscall_us": $(jnum "$CLK_P"), "clock_pdvm_vdso_forced_us": $(jnum "$CLK_F"),
              "signal_native_us": $(jnum "$SIG_N"), "signal_pdvm_us": $(jnum "$SIG_P"), "signal_five_trap_floors_us": $(jnum "$SIG_FLOOR"),
              "fork_exec_wait_native_us": $(jnum "$FE_NATIVE_US"), "fork_exec_wait_pdvm_us": $(jnum "$FE_PDVM_US"),
              "fork_exec_wait_ratio": $(jnum "$FE_RATIO") },
  "identity": { "getpid_root_us": $(jnum "$ID_GP_ROOT"), "getpid_user_us": $(jnum "$ID_GP"), "getpid_ratio": $(jnum "$(ratio "$ID_GP" "$ID_GP_ROOT")"),
                "startup_root_ms": $(jnum "$ID_ST_ROOT"), "startup_user_ms": $(jnum "$ID_ST"), "startup_ratio": $(jnum "$(ratio "$ID_ST" "$ID_ST_ROOT")"),
                "du_root_ms": $(jnum "$ID_DU_ROOT"), "du_user_ms": $(jnum "$ID_DU"), "du_ratio": $(jnum "$(ratio "$ID_DU" "$ID_DU_ROOT")") },
  "net": $(net_json),
  "migrate": $(mig_json),
  "exitless": $(exl_json),
  "oci": $(oci_json),
  "replay": $(rr_json),
  "remap": { "iterations": $REMAP_N, "native_ms": $(jnum "$REMAP_NATIVE_MS"), "pdvm_ms": $(jnum "$REMAP_PDVM_MS"),
             "traps": $(jnum "$REMAP_TRAPS"), "flushes": $(jnum "$REMAP_FLUSHES"), "resyncs": $(jnum "$REMAP_RESYNCS"),
             "stats_line": $(jstr "$STATS") },
  "snapshot": {
    "host_writer": { "gbps": $(jnum "$HSW_GBPS"), "lz4_gbps": $(jnum "$HSW_LZ4"), "memcpy_gbps": $(jnum "$HSW_MEMCPY"),
                     "line": $(jstr "$HSW") },
    "reference": { "mib": 1024, "memcpy_gbps": $(jnum "$LZ_MEMCPY"), "lz4_gbps": $(jnum "$LZ_1"), "lz4_mt_gbps": $(jnum "$LZ_MT"),
                   "lz4_mt_threads": $(jnum "$LZ_MT_THREADS"), "lz4_ratio": $(jnum "$LZ_RATIO"), "error": $(jstr "${LZ_WHY:-}") },
    "full": { "mib": $SNAP_MIB, "wall_ms": $(jnum "$SA_MS"), "gbps": $(jnum "$SA_GBPS"), "gbps_written": $(jnum "$SA_GBPS_W"),
              "paused_ms": $(jnum "$SA_PAUSED"), "written_ms": $(jnum "$SA_WRITTEN"), "image_bytes": $(jnum "$SA_BYTES"),
              "pages": $(jnum "$SA_PAGES"), "zero_skipped": $(jnum "$SA_ZERO"), "memory_over_image": $(jnum "$SA_IMG_RATIO"),
              "ratio_to_memcpy": $(jnum "$SA_VS_MEMCPY"), "ratio_to_lz4": $(jnum "$SA_VS_LZ4"), "ratio_to_lz4_mt": $(jnum "$SA_VS_LZ4MT"),
              "domain_fill_ms": $(jnum "$FILL_1G_MS"), "log": $(jstr "$SA_LOG"), "error": $(jstr "$SNAP_WHY") },
    "incremental": { "dirty_pct": $DIRTY_PCT, "full_wall_ms": $(jnum "$SA_MS"), "incremental_wall_ms": $(jnum "$SB_MS"),
                     "ratio_pct": $(jnum "$INC_PCT"), "ratio_pct_log": $(jnum "$INC_PCT_LOG"), "image_bytes": $(jnum "$SB_BYTES"), "pages": $(jnum "$SB_PAGES"),
                     "paused_ms": $(jnum "$SB_PAUSED"), "written_ms": $(jnum "$SB_WRITTEN"), "log": $(jstr "$SB_LOG"),
                     "client_alone_ms": $(jnum "$CLIENT_MS"), "chain_lazy_restore_ms": $(jnum "$CHAIN_TTR"),
                     "chain_images": $(jnum "$CHAIN_IMAGES"), "chain_check": $(jstr "$CHAIN_CHECK"),
                     "chain_lazy_load": $(jstr "$CHAIN_LAZY"), "error": $(jstr "$INC_WHY") },
    "restore": [$(sep=""; for mib in "${SIZES[@]}"; do
	printf '%s\n      { "mib": %s, "eager_ms": %s, "lazy_ms": %s, "lazy_over_eager": %s, "eager_check": %s, "lazy_check": %s,\n' \
		"$sep" "$mib" "$(jnum "${R_EAGER[$mib]:-}")" "$(jnum "${R_LAZY[$mib]:-}")" \
		"$(jnum "$(ratio "${R_LAZY[$mib]:-n/a}" "${R_EAGER[$mib]:-n/a}")")" "$(jstr "${R_EAGER_CHECK[$mib]:-}")" "$(jstr "${R_LAZY_CHECK[$mib]:-}")"
	printf '        "eager_setup_ms": %s, "lazy_setup_ms": %s, "eager_wall_ms": %s, "lazy_wall_ms": %s, "lazy_load": %s,\n' \
		"$(jnum "${R_SETUP_E[$mib]:-}")" "$(jnum "${R_SETUP_L[$mib]:-}")" "$(jnum "${R_EAGER_MS[$mib]:-}")" \
		"$(jnum "${R_LAZY_MS[$mib]:-}")" "$(jstr "${R_LAZY_STATS[$mib]:-}")"
	printf '        "restored_sum": %s, "native_sum": %s, "note": %s' "$(jstr "${R_SUM[$mib]:-}")" \
		"$(jstr "${R_NATIVE[$mib]:-}")" "$(jstr "${R_NOTE[$mib]:-}")"
	printf ', "native_ms": %s }' "$(jnum "${R_NATIVE_MS[$mib]:-}")"
	sep=","
    done)
    ],
    "lazy_min_ms": $(jnum "${LZ_MIN:-}"), "lazy_max_ms": $(jnum "${LZ_MAX:-}"), "lazy_spread": $(jnum "$LZ_SPREAD"),
    "lazy_image_min_ms": $(jnum "${LI_MIN:-}"), "lazy_image_max_ms": $(jnum "${LI_MAX:-}"), "lazy_image_spread": $(jnum "$LI_SPREAD"),
    "lazy_flat_within_2x": $(case "$LZ_FLAT" in yes) echo true ;; no) echo false ;; *) echo null ;; esac),
    "section_seconds": $((SECONDS - E_T0))
  }
}
EOF
echo "results: $OUTF"

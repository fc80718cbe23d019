#!/bin/bash
# run.sh: pdvm benchmarks side by side: CPU-bound ratio, syscall trap cost vs the platform floor, startup time, remap churn.
#
# Usage: B=build bench/run.sh         (what `make bench` runs)
# Runs where /dev/kvm exists: directly, or inside the nested VM (tests/nested/vm-run) when this host has none.
# Prints a table and writes bench/results/RESULTS-<date>.json. Knobs: BENCH_REPS (default 5), BENCH_QUICK=1.
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
for p in "$PDVM" "$GUEST/cpuloop" "$GUEST/getpid_loop" "$GUEST/hello" "$GUEST/remap"; do
	[ -x "$p" ] || { echo "bench: $p is missing (run make first)" >&2; exit 1; }
done

if [ ! -c /dev/kvm ] && [ -z "${BENCH_INNER:-}" ]; then
	echo "bench: no /dev/kvm here; running inside the nested VM (tests/nested/vm-run)" >&2
	exec tests/nested/vm-run --timeout 1800 --env BENCH_INNER=1 --env "BENCH_OUTER_HOST_B64=$(host_info | base64 -w0)" \
		--env "BENCH_REPS=${BENCH_REPS:-}" --env "BENCH_QUICK=${BENCH_QUICK:-}" -- bash bench/run.sh
fi

REPS=${BENCH_REPS:-5}
[ -n "$REPS" ] || REPS=5
if [ -n "${BENCH_QUICK:-}" ]; then
	CPU_M=20; GETPIDS=5000; FLOOR_N=5000; REMAP_N=2000
else
	CPU_M=100; GETPIDS=20000; FLOOR_N=20000; REMAP_N=10000
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ms_now() { echo $(($(date +%s%N) / 1000)); }   # microseconds
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
num_or_na() { [ -n "$1" ] && echo "$1" || echo n/a; }

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

# ---- report --------------------------------------------------------------------------------
printf '\n%-44s %14s %14s %10s\n' "benchmark" "native" "pdvm" "ratio"
printf '%-44s %14s %14s %10s\n' "CPU loop ($CPU_M M iterations), ms" "$CPU_NATIVE" "$CPU_PDVM" "$CPU_RATIO"
printf '%-44s %14s %14s %10s\n' "getpid round trip, us/call (vs trap floor)" "$FLOOR_US" "$GETPID_US" "$TRAP_RATIO"
printf '%-44s %14s %14s %10s\n' "  (native getpid, us/call)" "$GETPID_NATIVE_US" "" ""
printf '%-44s %14s %14s %10s\n' "startup of a static hello, ms (median)" "$START_NATIVE_MS" "$START_PDVM_MS" "$START_RATIO"
printf '%-44s %14s %14s %10s\n' "remap churn ($REMAP_N iterations), ms" "$REMAP_NATIVE_MS" "$REMAP_PDVM_MS" \
	"$(ratio "$REMAP_PDVM_MS" "$REMAP_NATIVE_MS")"
printf '%-44s %14s %14s %10s\n' "  remap: traps / flushes / resyncs" "" "$REMAP_TRAPS/$REMAP_FLUSHES/$REMAP_RESYNCS" ""
printf 'trap floor: %s mode (%s); %s repetitions, medians\n\n' "$FLOOR_MODE" "$FLOOR_LINE" "$REPS"

jnum() { [[ "$1" =~ ^-?[0-9]+(\.[0-9]+)?$ ]] && echo "$1" || echo null; }
jstr() { printf '"%s"' "$(printf '%s' "$1" | tr -d '"\\' | tr '\n' ' ')"; }
DATE=$(date -u +%Y%m%d-%H%M%S)
mkdir -p bench/results
OUTF=bench/results/RESULTS-$DATE.json
cat >"$OUTF" <<EOF
{
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "commit": $(jstr "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo none)"),
  "host": $(host_info),
  "outer_host": $(if [ -n "${BENCH_OUTER_HOST_B64:-}" ]; then base64 -d <<<"$BENCH_OUTER_HOST_B64"; else echo null; fi),
  "repetitions": $REPS,
  "quick": $([ -n "${BENCH_QUICK:-}" ] && echo true || echo false),
  "cpu_loop": { "millions": $CPU_M, "native_ms": $(jnum "$CPU_NATIVE"), "pdvm_ms": $(jnum "$CPU_PDVM"), "ratio": $(jnum "$CPU_RATIO") },
  "trap": { "getpid_calls": $GETPIDS, "pdvm_us_per_call": $(jnum "$GETPID_US"), "native_us_per_call": $(jnum "$GETPID_NATIVE_US"),
            "floor_us_per_trap": $(jnum "$FLOOR_US"), "floor_mode": $(jstr "$FLOOR_MODE"), "ratio_to_floor": $(jnum "$TRAP_RATIO") },
  "startup": { "native_ms": $(jnum "$START_NATIVE_MS"), "pdvm_ms": $(jnum "$START_PDVM_MS"), "ratio": $(jnum "$START_RATIO") },
  "remap": { "iterations": $REMAP_N, "native_ms": $(jnum "$REMAP_NATIVE_MS"), "pdvm_ms": $(jnum "$REMAP_PDVM_MS"),
             "traps": $(jnum "$REMAP_TRAPS"), "flushes": $(jnum "$REMAP_FLUSHES"), "resyncs": $(jnum "$REMAP_RESYNCS"),
             "stats_line": $(jstr "$STATS") }
}
EOF
echo "results: $OUTF"

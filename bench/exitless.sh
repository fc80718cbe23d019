#!/bin/bash
# exitless.sh: the exitless rows of `make bench`, sourced by bench/run.sh — each workload natively, in a domain with the default syscall path (exitless where it works) and with `--syscall-path exit`, side by side in one run; an idle domain's CPU use; eight getpid domains at once against one; on a PVM host, the ring-0 variant's getpid in the nested VM (TCG's ratio).
#
# Uses run.sh's PDVM, GUEST, REPS and bench/lib.bash; run alone
# (bench/exitless.sh), it prints its table and writes
# bench/results/EXITLESS-<date>.json with the host kind.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
	. bench/lib.bash
	B=${B:-build}
	case "$B" in /*) ;; *) B=$PWD/$B ;; esac
	PDVM=$B/pdvm GUEST=$B/guest REPS=${BENCH_REPS:-5}
	BACKEND=$(bench_backend "$PDVM")
	EXL_ALONE=1
fi

EXL_DEFAULT=$("$PDVM" info 2>/dev/null | sed -n 's/^syscall path: *\([a-z]*\).*/\1/p')
EXL_DEFAULT=${EXL_DEFAULT:-n/a}

# exl_med SED-PATTERN CMD...: the median of REPS runs of CMD, the number its output
# matches (sed -n with \1), or n/a.
exl_med() {
	local pat=$1 v=()
	shift
	for _ in $(seq "$REPS"); do v+=("$("$@" 2>/dev/null | sed -n "$pat")"); done
	printf '%s\n' "${v[@]}" | grep . | median
}
# exl_wall CMD...: the median wall time of REPS runs of CMD, ms.
exl_wall() { wall_ms_median "$REPS" "$@"; }

EXL_GP_PAT='s/.*, \([0-9.]*\) us\/call.*/\1/p'
EXL_RD_PAT='s/.*, \([0-9.]*\) us\/read.*/\1/p'
declare -A EXL_N EXL_X EXL_E   # native, exitless (default), exit
EXL_ROWS=(getpid read1 read64k du python fork)
EXL_N[getpid]=$(exl_med "$EXL_GP_PAT" "$GUEST/getpid_loop" 20000)
EXL_X[getpid]=$(exl_med "$EXL_GP_PAT" "$PDVM" run -- "$GUEST/getpid_loop" 20000)
EXL_E[getpid]=$(exl_med "$EXL_GP_PAT" "$PDVM" run --syscall-path exit -- "$GUEST/getpid_loop" 20000)
EXL_N[read1]=$(exl_med "$EXL_RD_PAT" "$GUEST/read_loop" 20000 1)
EXL_X[read1]=$(exl_med "$EXL_RD_PAT" "$PDVM" run -- "$GUEST/read_loop" 20000 1)
EXL_E[read1]=$(exl_med "$EXL_RD_PAT" "$PDVM" run --syscall-path exit -- "$GUEST/read_loop" 20000 1)
EXL_N[read64k]=$(exl_med "$EXL_RD_PAT" "$GUEST/read_loop" 5000 65536)
EXL_X[read64k]=$(exl_med "$EXL_RD_PAT" "$PDVM" run -- "$GUEST/read_loop" 5000 65536)
EXL_E[read64k]=$(exl_med "$EXL_RD_PAT" "$PDVM" run --syscall-path exit -- "$GUEST/read_loop" 5000 65536)
EXL_N[du]=$(exl_wall du -s /usr/share/zoneinfo)
EXL_X[du]=$(exl_wall "$PDVM" run -- /usr/bin/du -s /usr/share/zoneinfo)
EXL_E[du]=$(exl_wall "$PDVM" run --syscall-path exit -- /usr/bin/du -s /usr/share/zoneinfo)
EXL_N[python]=$(exl_wall /usr/bin/python3 -c pass)
EXL_X[python]=$(exl_wall "$PDVM" run -- /usr/bin/python3 -c pass)
EXL_E[python]=$(exl_wall "$PDVM" run --syscall-path exit -- /usr/bin/python3 -c pass)
EXL_FE='i=0; while [ $i -lt 40 ]; do /bin/busybox true; i=$((i + 1)); done'
EXL_N[fork]=$(exl_wall /bin/busybox sh -c "$EXL_FE")
EXL_X[fork]=$(exl_wall "$PDVM" run -- /bin/busybox sh -c "$EXL_FE")
EXL_E[fork]=$(exl_wall "$PDVM" run --syscall-path exit -- /bin/busybox sh -c "$EXL_FE")

# An idle domain: a thread blocked in read on a pipe for 5 s; pdvm's CPU time over that.
exl_idle_pct() {
	local pid t0 t1
	sleep 6 | "$PDVM" run --name pdvmb-idle "$@" -- /bin/busybox cat >/dev/null 2>&1 &
	sleep 0.5
	pid=$(pgrep -n -f "^$PDVM run --name pdvmb-idle " || true)
	[ -n "$pid" ] || { echo n/a; wait; return; }
	t0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	sleep 5
	t1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo "$t0")
	wait
	awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz / 5 * 100 }'
}
EXL_IDLE_X=$(exl_idle_pct)
EXL_IDLE_E=$(exl_idle_pct --syscall-path exit)

# Eight domains each running a getpid loop on this host's CPUs, against one alone: wall time
# of the eight over eight times one's.
exl_crowd() {
	local t0 t1 one eight
	t0=$(ms_now); "$PDVM" run "$@" -- "$GUEST/getpid_loop" 20000 >/dev/null 2>&1; t1=$(ms_now); one=$((t1 - t0))
	t0=$(ms_now)
	for i in 1 2 3 4 5 6 7 8; do "$PDVM" run --name "pdvmb-crowd-$i" "$@" -- "$GUEST/getpid_loop" 20000 >/dev/null 2>&1 & done
	wait
	t1=$(ms_now); eight=$((t1 - t0))
	awk -v a="$eight" -v b="$one" 'BEGIN { printf "%.2f", a / (8 * b) }'
}
EXL_CROWD_X=$(exl_crowd)
EXL_CROWD_E=$(exl_crowd --syscall-path exit)

# On a PVM host the ring-0 variant of the entry code runs only in the nested VM: a getpid
# row there, exitless against the exit in one boot (TCG's ratio: not a speed).
EXL_R0_X=n/a EXL_R0_E=n/a
if [ "${BACKEND:-}" = pvm ] && [ -z "${BENCH_INNER:-}" ]; then
	EXL_R0_OUT=$(tests/nested/vm-run --nested --timeout 300 -- sh -c "for p in exitless exit; do \"$PDVM\" run \
		--syscall-path \$p -- \"$GUEST/getpid_loop\" 20000 2>&1 | sed \"s/^/\$p: /\"; done" 2>/dev/null)
	EXL_R0_X=$(echo "$EXL_R0_OUT" | grep '^exitless: ' | sed -n "$EXL_GP_PAT")
	EXL_R0_E=$(echo "$EXL_R0_OUT" | grep '^exit: ' | sed -n "$EXL_GP_PAT")
fi

exl_report() {
	printf '%-44s %12s %12s %12s %8s %8s\n' "syscall path (default here: $EXL_DEFAULT)" "native" "default" "exit" \
		"dflt/nat" "exit/dflt"
	local k label
	for k in "${EXL_ROWS[@]}"; do
		case $k in
		getpid) label="getpid round trip, us" ;;
		read1) label="1-byte read of /dev/zero, us" ;;
		read64k) label="64 KiB read of /dev/zero, us" ;;
		du) label="du -s /usr/share/zoneinfo, ms" ;;
		python) label="python3 -c pass, ms" ;;
		fork) label="40 x fork+exec+wait busybox true, ms" ;;
		esac
		printf '%-44s %12s %12s %12s %8s %8s\n' "  $label" "${EXL_N[$k]:-n/a}" "${EXL_X[$k]:-n/a}" "${EXL_E[$k]:-n/a}" \
			"$(ratio "${EXL_X[$k]:-n/a}" "${EXL_N[$k]:-n/a}")" "$(ratio "${EXL_E[$k]:-n/a}" "${EXL_X[$k]:-n/a}")"
	done
	printf '%-44s %12s %12s %12s\n' "  idle domain (read on a pipe), % of a CPU" "" "$EXL_IDLE_X" "$EXL_IDLE_E"
	printf '%-44s %12s %12s %12s\n' "  8 getpid domains at once / 8 x one" "" "$EXL_CROWD_X" "$EXL_CROWD_E"
	[ "$EXL_R0_X" = n/a ] ||
		printf '%-44s %12s %12s %12s %8s %8s\n' "  ring0 in the nested VM (TCG): getpid, us" "" "${EXL_R0_X:-n/a}" \
			"${EXL_R0_E:-n/a}" "" "$(ratio "${EXL_R0_E:-n/a}" "${EXL_R0_X:-n/a}")"
	echo
}

exl_json() {
	local k first=1
	printf '{ "default_path": "%s", "rows": {' "$EXL_DEFAULT"
	for k in "${EXL_ROWS[@]}"; do
		[ -n "$first" ] || printf ','
		first=
		printf ' "%s": { "native": %s, "default": %s, "exit": %s }' "$k" "$(jnum "${EXL_N[$k]:-}")" \
			"$(jnum "${EXL_X[$k]:-}")" "$(jnum "${EXL_E[$k]:-}")"
	done
	printf ' }, "idle_cpu_pct": { "default": %s, "exit": %s }, "eight_over_eight_times_one": { "default": %s, "exit": %s },' \
		"$(jnum "$EXL_IDLE_X")" "$(jnum "$EXL_IDLE_E")" "$(jnum "$EXL_CROWD_X")" "$(jnum "$EXL_CROWD_E")"
	printf ' "ring0_nested_tcg_getpid_us": { "exitless": %s, "exit": %s } }' "$(jnum "${EXL_R0_X:-}")" "$(jnum "${EXL_R0_E:-}")"
}

if [ -n "${EXL_ALONE:-}" ]; then
	exl_report
	bench_alone_json EXITLESS exitless "$(exl_json)"
fi

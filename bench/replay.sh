#!/bin/bash
# replay.sh: the record/replay rows of `make bench`, sourced by bench/run.sh — per workload, a run (default syscall path), a run on the exit path (what a recording uses), a recording and a replay of it, side by side in one run: slowdowns, trace bytes and bytes per second of run.
#
# Uses run.sh's PDVM, GUEST, REPS and bench/lib.bash; run alone (bench/replay.sh), it
# prints its table and writes bench/results/REPLAY-<date>.json with the host kind.
# Then the 2-thread rows (tests/guest/rrthreads): (a) no sharing, (b) a counter under a
# mutex, (c) false sharing on one page — run, record, replay, and the pages that moved
# between the threads' views (ownership transfers): adaptive (the default), without the
# adaptive hold (PDVM_CREW_HOLD_MAX_US=0), and plain CREW (PDVM_CREW_ADAPT=0: no hold, and
# a taker's grace fixed at its 50 us minimum instead of growing for a page it keeps losing).

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
	. bench/lib.bash
	B=${B:-build}
	case "$B" in /*) ;; *) B=$PWD/$B ;; esac
	PDVM=$B/pdvm GUEST=$B/guest REPS=${BENCH_REPS:-5}
	RR_ALONE=1
fi

RR_DIR=$(mktemp -d /var/tmp/pdvm-bench-rr.XXXXXX)
RR_ROWS=(cpu getpid python du)
declare -A RR_CMD RR_DEF RR_RUN RR_REC RR_REP RR_BYTES
RR_CMD[cpu]="$GUEST/cpuloop 200"
RR_CMD[getpid]="$GUEST/getpid_loop 20000"
RR_CMD[python]="/usr/bin/python3 -c pass"
RR_CMD[du]="/usr/bin/du -s /usr/share/zoneinfo"

# rr_wall CMD...: the median wall time of REPS runs of CMD, ms.
rr_wall() { wall_ms_median "$REPS" "$@"; }
# rr_record K CMD...: one recording into $RR_DIR/K (rm'ed first), for rr_wall.
rr_record() {
	local k=$1
	shift
	rm -rf "${RR_DIR:?}/$k"
	"$PDVM" record --trace "$RR_DIR/$k" -- "$@"
}

for k in "${RR_ROWS[@]}"; do
	# shellcheck disable=SC2086 # the command line is words
	RR_DEF[$k]=$(rr_wall "$PDVM" run -- ${RR_CMD[$k]})
	# shellcheck disable=SC2086
	RR_RUN[$k]=$(rr_wall "$PDVM" run --syscall-path exit -- ${RR_CMD[$k]})
	# shellcheck disable=SC2086
	RR_REC[$k]=$(rr_wall rr_record "$k" ${RR_CMD[$k]})
	RR_REP[$k]=$(rr_wall "$PDVM" replay "$RR_DIR/$k")
	RR_BYTES[$k]=$(stat -c %s "$RR_DIR/$k/events" 2>/dev/null || echo n/a)
done

RT_ROWS=(private mutex false)
declare -A RT_RUN RT_REC RT_REP RT_MOVED RT_MOVED0 RT_REC0 RT_MOVEDP RT_RECP RT_BYTES
# rt_moved K: the pages moved in $RR_DIR/K's trace.
rt_moved() { "$PDVM" replay --info "$RR_DIR/$1" 2>/dev/null | awk '/^pages moved:/ { print $3; f = 1 } END { if (!f) print "n/a" }'; }
for k in "${RT_ROWS[@]}"; do
	RT_RUN[$k]=$(rr_wall "$PDVM" run -- "$GUEST/rrthreads" "$k")
	RT_REC[$k]=$(rr_wall rr_record "t$k" "$GUEST/rrthreads" "$k")
	RT_REP[$k]=$(rr_wall "$PDVM" replay "$RR_DIR/t$k")
	RT_BYTES[$k]=$(stat -c %s "$RR_DIR/t$k/events" 2>/dev/null || echo n/a)
	RT_MOVED[$k]=$(rt_moved "t$k")
	RT_REC0[$k]=$(PDVM_CREW_HOLD_MAX_US=0 rr_wall rr_record "t${k}0" "$GUEST/rrthreads" "$k")
	RT_MOVED0[$k]=$(rt_moved "t${k}0")
	RT_RECP[$k]=$(PDVM_CREW_ADAPT=0 rr_wall rr_record "t${k}p" "$GUEST/rrthreads" "$k")
	RT_MOVEDP[$k]=$(rt_moved "t${k}p")
done
rm -rf "$RR_DIR"

rr_report() {
	printf '%-36s %9s %10s %9s %9s %8s %8s %8s %11s\n' "record/replay (1 thread), ms" "run" "run (exit)" "record" "replay" \
		"rec/run" "rec/exit" "rep/exit" "trace KiB/s"
	local k label
	for k in "${RR_ROWS[@]}"; do
		case $k in
		cpu) label="CPU loop, no system calls" ;;
		getpid) label="20000 getpid" ;;
		python) label="python3 -c pass" ;;
		du) label="du -s /usr/share/zoneinfo" ;;
		esac
		printf '%-36s %9s %10s %9s %9s %8s %8s %8s %11s\n' "  $label" "${RR_DEF[$k]}" "${RR_RUN[$k]}" "${RR_REC[$k]}" \
			"${RR_REP[$k]}" "$(ratio "${RR_REC[$k]}" "${RR_DEF[$k]}")" "$(ratio "${RR_REC[$k]}" "${RR_RUN[$k]}")" \
			"$(ratio "${RR_REP[$k]}" "${RR_RUN[$k]}")" \
			"$(awk -v b="${RR_BYTES[$k]}" -v t="${RR_REC[$k]}" 'BEGIN { if (b == "n/a" || t + 0 == 0) print "n/a"; else printf "%.0f", b / 1024 / (t / 1000) }')"
	done
	echo
	printf '%-36s %7s %7s %7s %8s %8s %11s %7s %8s %7s %8s\n' "record/replay (2 threads), ms" "run" "record" "replay" \
		"rec/run" "rep/run" "trace KiB/s" "moved" "no hold" "plain" "plain/mv"
	for k in "${RT_ROWS[@]}"; do
		case $k in
		private) label="(a) CPU-bound, no sharing" ;;
		mutex) label="(b) counter under a mutex" ;;
		false) label="(c) false sharing, one page" ;;
		esac
		printf '%-36s %7s %7s %7s %8s %8s %11s %7s %8s %7s %8s\n' "  $label" "${RT_RUN[$k]}" "${RT_REC[$k]}" "${RT_REP[$k]}" \
			"$(ratio "${RT_REC[$k]}" "${RT_RUN[$k]}")" "$(ratio "${RT_REP[$k]}" "${RT_RUN[$k]}")" \
			"$(awk -v b="${RT_BYTES[$k]}" -v t="${RT_REC[$k]}" 'BEGIN { if (b == "n/a" || t + 0 == 0) print "n/a"; else printf "%.0f", b / 1024 / (t / 1000) }')" \
			"${RT_MOVED[$k]}" "${RT_MOVED0[$k]}" "${RT_MOVEDP[$k]}" "$(ratio "${RT_MOVEDP[$k]}" "${RT_MOVED[$k]}")"
	done
	echo "  (moved: pages taken from the other thread's view, adaptive; no hold: without the adaptive hold; plain: no"
	echo "   adaptation at all (PDVM_CREW_ADAPT=0), recorded in ${RT_RECP[mutex]} ms for (b), ${RT_RECP[false]} ms for (c))"
	echo
}

rr_json() {
	local k first=1
	printf '{ "rows": {'
	for k in "${RR_ROWS[@]}"; do
		[ -n "$first" ] || printf ','
		first=
		printf ' "%s": { "run_ms": %s, "run_exit_ms": %s, "record_ms": %s, "replay_ms": %s, "trace_bytes": %s }' "$k" \
			"$(jnum "${RR_DEF[$k]}")" "$(jnum "${RR_RUN[$k]}")" "$(jnum "${RR_REC[$k]}")" "$(jnum "${RR_REP[$k]}")" "$(jnum "${RR_BYTES[$k]}")"
	done
	printf ' }, "threads": {'
	first=1
	for k in "${RT_ROWS[@]}"; do
		[ -n "$first" ] || printf ','
		first=
		printf ' "%s": { "run_ms": %s, "record_ms": %s, "replay_ms": %s, "trace_bytes": %s, "pages_moved": %s, "pages_moved_no_hold": %s, "record_no_hold_ms": %s, "pages_moved_plain": %s, "record_plain_ms": %s }' \
			"$k" "$(jnum "${RT_RUN[$k]}")" "$(jnum "${RT_REC[$k]}")" "$(jnum "${RT_REP[$k]}")" "$(jnum "${RT_BYTES[$k]}")" \
			"$(jnum "${RT_MOVED[$k]}")" "$(jnum "${RT_MOVED0[$k]}")" "$(jnum "${RT_REC0[$k]}")" "$(jnum "${RT_MOVEDP[$k]}")" "$(jnum "${RT_RECP[$k]}")"
	done
	printf ' } }'
}

if [ -n "${RR_ALONE:-}" ]; then
	rr_report
	bench_alone_json REPLAY replay "$(rr_json)"
fi

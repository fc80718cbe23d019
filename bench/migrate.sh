#!/bin/bash
# migrate.sh: the live-migration rows of `make bench`, sourced by bench/run.sh — downtime and total time of `pdvm migrate` for 64 MiB and 1 GiB domains, idle and with a writer dirtying 50 MB/s, stop-and-copy beside pre-copy, between two hosts (network namespaces) joined by a link limited to 1 Gbit/s.
# Needs from run.sh: PDVM, B, TMP, HOST_KIND, median, ratio, num_or_na, timed, tmo, secs_left, wait_line, gone, why (and jnum, jstr for
# mig_json). Sets MIG_*; mig_report prints the rows, mig_json the results. Never fails the bench: what cannot run is n/a.
#
# Hosts a and b are network namespaces joined by a veth pair, each with its own run directory (control sockets);
# a tbf qdisc on both ends limits the link, and a TCP transfer over it measures what it really carries. Each case:
# `pdvm receive` on b, a domain on a running tests/guest/ratewriter (memfill's zero/random/text bytes, then the writer
# at 0 or 50 MB/s), `pdvm migrate --json` once it is ready, then its stop file: the receiver must exit 0 with the
# writer's "consistent" (every page holds its last write, the rest its sum). Downtime is the source's paused_ms
# (pause to the target's STARTED); total time is the migrate command's wall time, also as a multiple of memory size /
# link bandwidth. Stop-and-copy is the same source with PDVM_PRECOPY_ROUNDS=0; both with --postcopy never, so that
# the columns stay what they say. Post-copy's column is not measured yet: n/a.

MIG_T0=$SECONDS
MIG_RATE_BITS=1000000000                  # the link limit, bit/s
MIG_WRITER_MBPS=50
MIG_NS_A=pdvmb-a MIG_NS_B=pdvmb-b
MIG_ADDR_A=10.79.5.1 MIG_ADDR_B=10.79.5.2
MIG_RW=$B/guest/ratewriter
MIG_DIR=$TMP/mig
MIG_WHY=""        # why the section is n/a
MIG_NOTE=""       # what was left out
MIG_LINK_MBIT=n/a MIG_LINK_FREE_MBIT=n/a MIG_LINK_OK=n/a
if [ -n "${BENCH_QUICK:-}" ]; then
	MIG_SIZES=(64); MIG_NOTE="BENCH_QUICK: 64 MiB cases only, 1 repetition"
elif [ -n "${BENCH_INNER:-}" ]; then
	MIG_SIZES=(64); MIG_NOTE="nested TCG VM: 64 MiB cases only"
else
	MIG_SIZES=(64 1024)
fi
# mig_reps MIB MBPS: repetitions (medians). The 64 MiB cases are cheap; a 1 GiB domain takes ~8 s just to fill, so
# once idle and twice with the writer (the case the targets are about)
mig_reps() {
	if [ -n "${BENCH_QUICK:-}" ]; then echo 1
	elif [ "$1" -lt 1024 ]; then echo "${BENCH_MIG_REPS:-3}"
	elif [ "$2" = 0 ]; then echo 1
	else echo 2; fi
}

# mig_tmo SECS: a command's time limit; inside the nested VM, no later than its deadline (run.sh's tmo)
mig_tmo() { if [ -n "${BENCH_INNER:-}" ]; then tmo "$1"; else echo "$1"; fi; }

mig_cleanup() { ip netns del "$MIG_NS_A" 2>/dev/null; ip netns del "$MIG_NS_B" 2>/dev/null; }

# mig_topology: the two hosts and the limited link between them; 1 with MIG_WHY set if this machine cannot
mig_topology() {
	mig_cleanup # a killed run's
	if ! command -v ip >/dev/null || ! command -v tc >/dev/null; then
		MIG_WHY="needs ip and tc (iproute2)"; return 1
	fi
	if ! ip netns add "$MIG_NS_A" 2>"$MIG_DIR/topo.err" || ! ip netns add "$MIG_NS_B" 2>>"$MIG_DIR/topo.err"; then
		MIG_WHY="no network namespaces here: $(why "$MIG_DIR/topo.err")"; return 1
	fi
	if ! ip link add ab netns "$MIG_NS_A" type veth peer name ba netns "$MIG_NS_B" 2>"$MIG_DIR/topo.err" ||
	   ! ip -n "$MIG_NS_A" addr add "$MIG_ADDR_A/24" dev ab || ! ip -n "$MIG_NS_B" addr add "$MIG_ADDR_B/24" dev ba ||
	   ! ip -n "$MIG_NS_A" link set ab up || ! ip -n "$MIG_NS_B" link set ba up ||
	   ! ip -n "$MIG_NS_A" link set lo up || ! ip -n "$MIG_NS_B" link set lo up; then
		MIG_WHY="cannot make a veth link: $(why "$MIG_DIR/topo.err")"; return 1
	fi
	MIG_LINK_FREE_MBIT=$(mig_link_mbit 128)
	# a burst of 256 KiB (2 ms at the rate); up to 50 ms queued, then drops, as at a switch port
	if ! ip netns exec "$MIG_NS_A" tc qdisc add dev ab root tbf rate "${MIG_RATE_BITS}bit" burst 256kb latency 50ms \
		2>"$MIG_DIR/topo.err" ||
	   ! ip netns exec "$MIG_NS_B" tc qdisc add dev ba root tbf rate "${MIG_RATE_BITS}bit" burst 256kb latency 50ms \
		2>>"$MIG_DIR/topo.err"; then
		MIG_WHY="tc cannot limit the link (tbf): $(why "$MIG_DIR/topo.err")"; return 1
	fi
	MIG_LINK_MBIT=$(mig_link_mbit 64)
	# TCP's goodput over the limit: ~96% of it (headers); well off that, the times below are not the link's
	MIG_LINK_OK=$(awk -v m="$MIG_LINK_MBIT" -v r="$MIG_RATE_BITS" 'BEGIN {
		if (m !~ /^[0-9.]+$/) print "n/a"; else print (m * 1e6 >= 0.85 * r && m * 1e6 <= 1.02 * r ? "yes" : "no") }')
}

# mig_link_mbit MIB: Mbit/s of one TCP transfer of MIB MiB from a to b, as b's sink counts it (accept to end)
MIG_LINK_PY='
import socket, sys, time
if sys.argv[1] == "sink":
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((sys.argv[2], int(sys.argv[3])))
    l.listen(1)
    print("listening", flush=True)
    l.settimeout(30)
    c, _ = l.accept()
    c.settimeout(30)
    n, t0 = 0, time.monotonic()
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        n += len(b)
    print("%.1f" % (n * 8 / (time.monotonic() - t0) / 1e6))
else:
    s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=30)
    b = bytes(1 << 20)
    for _ in range(int(sys.argv[4])):
        s.sendall(b)
    s.close()
'
mig_link_mbit() {
	local port=$((20000 + RANDOM % 12000)) out=$MIG_DIR/link.out pid
	command -v python3 >/dev/null || { echo n/a; return; }
	: >"$out"
	ip netns exec "$MIG_NS_B" timeout 60 python3 -c "$MIG_LINK_PY" sink "$MIG_ADDR_B" "$port" >"$out" 2>/dev/null &
	pid=$!
	wait_line "$out" listening "$pid" 10 &&
		ip netns exec "$MIG_NS_A" timeout 60 python3 -c "$MIG_LINK_PY" send "$MIG_ADDR_B" "$port" "$1" 2>/dev/null
	wait "$pid"
	num_or_na "$(sed -n '2p' "$out")"
}

# mig_field NAME FILE: a number from migrate's JSON line
mig_field() {
	python3 -c 'import json, sys; v = json.load(open(sys.argv[2])).get(sys.argv[1]); print(round(v, 2) if isinstance(v, (int, float)) else "n/a")' \
		"$1" "$2" 2>/dev/null || echo n/a
}
mig_str() { python3 -c 'import json, sys; print(json.load(open(sys.argv[2])).get(sys.argv[1], ""))' "$1" "$2" 2>/dev/null; }

# mig_one MIB MBPS MODE (sc|pc) REP: one migration a -> b; sets M_DOWN, M_TOTAL (ms), M_ROUNDS, M_BYTES, M_WRITER
# (the writer's line), M_CHECK (ok or what went wrong), M_STATS (the JSON line, if valid), M_PAUSE (where it went)
mig_one() {
	local mib=$1 mbps=$2 mode=$3 name=bmig$1-$2-$3-$4 d=$MIG_DIR/$1-$2-$3-$4 port=$((20000 + RANDOM % 12000)) rpid spid
	local envs=() rrc src mrc
	[ "$mode" = sc ] && envs=(PDVM_PRECOPY_ROUNDS=0)
	M_DOWN=n/a M_TOTAL=n/a M_ROUNDS=n/a M_BYTES=n/a M_WRITER="" M_STATS="" M_STOPPED="" M_PAUSE="n/a"
	mkdir -p "$d/work"
	chmod 755 "$d" # the domain runs as the unprivileged user: it looks for its stop file in here
	ip netns exec "$MIG_NS_B" env PDVM_RUN_DIR="$MIG_DIR/run-b" timeout -k 5 "$(mig_tmo 300)" "$PDVM" receive -v \
		--listen "$MIG_ADDR_B:$port" --key "$MIG_DIR/key" --work-dir "$d/work" </dev/null >"$d/recv.out" 2>"$d/recv.err" &
	rpid=$!
	if ! wait_line "$d/recv.err" ".*waiting on.*" "$rpid" 20; then
		M_CHECK="the receiver did not listen: $(why "$d/recv.err")"
		kill "$rpid" 2>/dev/null; wait "$rpid"; return
	fi
	ip netns exec "$MIG_NS_A" env PDVM_RUN_DIR="$MIG_DIR/run-a" ${envs[@]+"${envs[@]}"} timeout -k 5 "$(mig_tmo 300)" \
		"$PDVM" run --name "$name" --memory "$((mib + mib / 8 + 128))M" --log "$d/run.log" -- \
		"$MIG_RW" "$mib" "$mbps" "$d/stop" </dev/null >"$d/run.out" 2>"$d/run.err" &
	spid=$!
	if ! wait_line "$d/run.out" ready "$spid" "$(mig_tmo 120)"; then
		M_CHECK="no 'ready' from ratewriter $mib in a domain: $(why "$d/run.err")"
		kill "$spid" "$rpid" 2>/dev/null; wait "$spid" "$rpid"; return
	fi
	timed ip netns exec "$MIG_NS_A" env PDVM_RUN_DIR="$MIG_DIR/run-a" timeout -k 5 "$(mig_tmo 300)" "$PDVM" migrate --json \
		--postcopy never --key "$MIG_DIR/key" "$name" "$MIG_ADDR_B:$port" </dev/null >"$d/migrate.out" 2>"$d/migrate.err"
	mrc=$?
	M_TOTAL=$T_MS
	: >"$d/stop"
	gone "$spid" 30 || kill "$spid" 2>/dev/null
	wait "$spid"; src=$?
	gone "$rpid" 60 || kill "$rpid" 2>/dev/null
	wait "$rpid"; rrc=$?
	if python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$d/migrate.out" 2>/dev/null; then
		M_STATS=$(head -n1 "$d/migrate.out")
		M_DOWN=$(mig_field paused_ms "$d/migrate.out")
		M_ROUNDS=$(mig_field rounds "$d/migrate.out")
		M_BYTES=$(mig_field bytes "$d/migrate.out")
		M_STOPPED=$(mig_str precopy_stopped "$d/migrate.out")
		M_PAUSE="image $(mig_field image_ms "$d/migrate.out") + sent $(mig_field send_ms "$d/migrate.out") + target $(mig_field target_ms "$d/migrate.out") ms"
	fi
	# the target's part of the pause: its own restore's time to running, the rest is receiving and the hand-over
	M_PAUSE+=" (its restore $(num_or_na "$(sed -n 's/.*restored from .* in \([0-9.]*\) ms.*/\1/p' "$d/recv.err" | head -n1)") ms)"
	M_WRITER=$(grep '^wrote ' "$d/recv.out" | tail -n1)
	if [ "$mrc" != 0 ]; then
		M_CHECK="migrate exit $mrc: $(why "$d/migrate.err")"; M_TOTAL=n/a
	elif [ "$src" != 0 ] || [ "$rrc" != 0 ]; then
		M_CHECK="source exit $src, receiver exit $rrc: $(why "$d/recv.err")"
	elif ! grep -qx consistent "$d/recv.out"; then
		M_CHECK="WRONG: $(why "$d/recv.out")"
	elif [ "$mode" = sc ] && [ "$M_ROUNDS" != 0 ]; then
		M_CHECK="stop-and-copy ran $M_ROUNDS pre-copy rounds"
	else
		M_CHECK=ok
	fi
	rm -rf "$d/work"
}

# mig_median "A B C" DECIMALS: the median of the numbers among them, or n/a
mig_median() {
	local m
	m=$(tr ' ' '\n' <<<"$1" | grep -E '^[0-9.]+$' | median)
	[ -n "$m" ] && [ "$m" != n/a ] && printf "%.${2}f" "$m" || echo n/a
}

# the cases: per size and writer, stop-and-copy and pre-copy in turn (MIG_K: "MIB-MBPS-MODE")
declare -A MIG_DOWN MIG_TOTAL MIG_ROUNDS MIG_BYTES MIG_WRITER MIG_CHECK MIG_STATS MIG_STOPPED MIG_PAUSE MIG_DOWN_ALL MIG_TOTAL_ALL
MIG_CASES=()
mkdir -p "$MIG_DIR"
if [ ! -x "$MIG_RW" ]; then
	MIG_WHY="$MIG_RW missing"
elif [ -n "${BENCH_INNER:-}" ] && [ "$(secs_left)" -lt 180 ]; then
	MIG_WHY="skipped: $(secs_left) s left before the nested VM's deadline"
elif ! command -v python3 >/dev/null; then
	MIG_WHY="needs python3 (the link measurement, migrate's JSON)"
elif mig_topology; then
	mkdir -p -m 700 "$MIG_DIR/run-a" "$MIG_DIR/run-b"
	head -c 32 /dev/urandom >"$MIG_DIR/key" && chmod 600 "$MIG_DIR/key"
	for mib in "${MIG_SIZES[@]}"; do
		for mbps in 0 "$MIG_WRITER_MBPS"; do
			for rep in $(seq "$(mig_reps "$mib" "$mbps")"); do
				for mode in sc pc; do
					k=$mib-$mbps-$mode
					[ "$rep" = 1 ] && MIG_CASES+=("$k")
					mig_one "$mib" "$mbps" "$mode" "$rep"
					MIG_DOWN_ALL[$k]+="$M_DOWN " MIG_TOTAL_ALL[$k]+="$M_TOTAL "
					# the last repetition's details; a failed one stays
					if [ "${MIG_CHECK[$k]:-ok}" = ok ]; then
						MIG_ROUNDS[$k]=$M_ROUNDS MIG_BYTES[$k]=$M_BYTES MIG_WRITER[$k]=$M_WRITER MIG_CHECK[$k]=$M_CHECK
						MIG_STATS[$k]=$M_STATS MIG_STOPPED[$k]=$M_STOPPED MIG_PAUSE[$k]=$M_PAUSE
					fi
				done
			done
			for mode in sc pc; do
				k=$mib-$mbps-$mode
				MIG_DOWN[$k]=$(mig_median "${MIG_DOWN_ALL[$k]}" 2)
				MIG_TOTAL[$k]=$(mig_median "${MIG_TOTAL_ALL[$k]}" 1)
			done
		done
	done
fi
mig_cleanup

# total time over memory size / link bandwidth (the 1.3 target); the targets, read off the 1 GiB 50 MB/s pre-copy case
mig_ideal_ms() { awk -v m="$1" -v r="$MIG_RATE_BITS" 'BEGIN { printf "%.1f", m * 1048576 * 8 / r * 1000 }'; }
mig_over() { ratio "$1" "$(mig_ideal_ms "$2")"; }
MIG_TK=1024-$MIG_WRITER_MBPS-pc
MIG_T_DOWN=${MIG_DOWN[$MIG_TK]:-n/a}
MIG_T_OVER=$(mig_over "${MIG_TOTAL[$MIG_TK]:-n/a}" 1024)
mig_yes() { awk -v v="$1" -v lim="$2" 'BEGIN { if (v !~ /^[0-9.]+$/) print "n/a"; else print (v + 0 <= lim ? "yes" : "no") }'; }
MIG_T_DOWN_OK=$(mig_yes "$MIG_T_DOWN" 19.999)
MIG_T_OVER_OK=$(mig_yes "$MIG_T_OVER" 1.3)
MIG_SECONDS=$((SECONDS - MIG_T0))

mig_cell() { # downtime or total (x ideal) for one key, with a failure marked
	local k=$1 what=$2 v
	v=$([ "$what" = down ] && echo "${MIG_DOWN[$k]:-n/a}" || echo "${MIG_TOTAL[$k]:-n/a}")
	[ "$what" = total ] && [ "$v" != n/a ] && v="$v ($(mig_over "$v" "${k%%-*}")x)"
	case "${MIG_CHECK[$k]:-ok}" in ok) ;; WRONG*) v="WRONG $v" ;; *) v="failed" ;; esac
	echo "$v"
}

# mig_list "A B C": "A, B, C", with null for what is not a number (JSON arrays and the report)
mig_list() { awk '{ for (i = 1; i <= NF; i++) printf "%s%s", (i > 1 ? ", " : ""), ($i ~ /^[0-9.]+$/ ? $i : "null") }' <<<"$1"; }
mig_mb() { awk -v b="$1" 'BEGIN { if (b !~ /^[0-9.]+$/) print "n/a"; else printf "%.1f", b / 1e6 }'; }

mig_report() {
	local mib mbps k label
	printf '%-44s %14s %14s %10s\n' "live migration, 1 Gbit/s link, TLS, ms" "stop-and-copy" "pre-copy" "post-copy"
	if [ -n "$MIG_WHY" ]; then
		printf '  n/a: %s\n\n' "$MIG_WHY"
		return
	fi
	for mib in "${MIG_SIZES[@]}"; do
		for mbps in 0 "$MIG_WRITER_MBPS"; do
			label="$([ "$mib" -ge 1024 ] && echo "$((mib / 1024)) GiB" || echo "$mib MiB"), $([ "$mbps" = 0 ] && echo idle || echo "writer $mbps MB/s")"
			printf '%-44s %14s %14s %10s\n' "  $label: downtime" "$(mig_cell "$mib-$mbps-sc" down)" \
				"$(mig_cell "$mib-$mbps-pc" down)" "n/a"
			printf '%-44s %14s %14s %10s\n' "    total (x size/link)" "$(mig_cell "$mib-$mbps-sc" total)" \
				"$(mig_cell "$mib-$mbps-pc" total)" "n/a"
			for k in "$mib-$mbps-sc" "$mib-$mbps-pc"; do
				[ "${MIG_CHECK[$k]:-}" = ok ] || printf '    %s: %s\n' "$k" "${MIG_CHECK[$k]:-not run}"
			done
			k=$mib-$mbps-pc
			printf '    MB sent %s | %s; pre-copy %s rounds, stopped: %s\n' "$(mig_mb "${MIG_BYTES[$mib-$mbps-sc]:-n/a}")" \
				"$(mig_mb "${MIG_BYTES[$k]:-n/a}")" "${MIG_ROUNDS[$k]:-n/a}" "${MIG_STOPPED[$k]:-n/a}"
			printf '    pause: %s | %s\n' "${MIG_PAUSE[$mib-$mbps-sc]:-n/a}" "${MIG_PAUSE[$k]:-n/a}"
			[ "$(mig_reps "$mib" "$mbps")" = 1 ] || printf '    each run, downtime; total ms: %s; %s | %s; %s\n' \
				"$(mig_list "${MIG_DOWN_ALL[$mib-$mbps-sc]:-}")" "$(mig_list "${MIG_TOTAL_ALL[$mib-$mbps-sc]:-}")" \
				"$(mig_list "${MIG_DOWN_ALL[$k]:-}")" "$(mig_list "${MIG_TOTAL_ALL[$k]:-}")"
			[ "$mbps" = 0 ] || printf '    writer (stop-and-copy | pre-copy): %s | %s\n' "${MIG_WRITER[$mib-$mbps-sc]:-n/a}" "${MIG_WRITER[$k]:-n/a}"
		done
	done
	printf '  link: one TCP transfer carried %s Mbit/s over the 1 Gbit/s limit (as expected: %s; %s unlimited); size/link for 1 GiB: %s ms\n' \
		"$MIG_LINK_MBIT" "$MIG_LINK_OK" "$MIG_LINK_FREE_MBIT" "$(mig_ideal_ms 1024)"
	if [ -n "${MIG_CHECK[$MIG_TK]:-}" ]; then
		printf '  targets (1 GiB, writer %s MB/s, pre-copy): downtime %s ms < 20: %s; total %sx size/link <= 1.3: %s\n' \
			"$MIG_WRITER_MBPS" "$MIG_T_DOWN" "$MIG_T_DOWN_OK" "$MIG_T_OVER" "$MIG_T_OVER_OK"
	else
		printf '  targets (1 GiB, writer %s MB/s, pre-copy): n/a, no 1 GiB case run\n' "$MIG_WRITER_MBPS"
	fi
	printf '  post-copy: n/a (not measured here yet). Host: %s. %s%s s\n\n' "${HOST_KIND:-n/a}" "${MIG_NOTE:+$MIG_NOTE; }" "$MIG_SECONDS"
}

mig_bool() { case "$1" in yes) echo true ;; no) echo false ;; *) echo null ;; esac; }
mig_json() {
	local k sep="" mib mbps mode
	printf '{ "available": %s, "why": %s, "note": %s, "host_kind": %s, "quick": %s, "link_limit_mbit": %s, "link_measured_mbit": %s, ' \
		"$([ -z "$MIG_WHY" ] && echo true || echo false)" "$(jstr "$MIG_WHY")" "$(jstr "$MIG_NOTE")" "$(jstr "${HOST_KIND:-}")" \
		"$([ -n "${BENCH_QUICK:-}" ] && echo true || echo false)" "$((MIG_RATE_BITS / 1000000))" "$(jnum "$MIG_LINK_MBIT")"
	printf '"link_as_limited": %s, "link_unlimited_mbit": %s, "tls": true, "writer_mbps": %s, "post_copy": "n/a (not measured yet)",\n' \
		"$(mig_bool "$MIG_LINK_OK")" "$(jnum "$MIG_LINK_FREE_MBIT")" "$MIG_WRITER_MBPS"
	printf '    "targets": { "downtime_1g_writer_ms": %s, "downtime_under_20ms": %s, "total_over_size_link_1g_writer": %s, "total_within_1_3x": %s },\n' \
		"$(jnum "$MIG_T_DOWN")" "$(mig_bool "$MIG_T_DOWN_OK")" "$(jnum "$MIG_T_OVER")" "$(mig_bool "$MIG_T_OVER_OK")"
	printf '    "cases": ['
	for k in ${MIG_CASES[@]+"${MIG_CASES[@]}"}; do
		IFS=- read -r mib mbps mode <<<"$k"
		printf '%s\n      { "mib": %s, "writer_mbps": %s, "mode": "%s", "downtime_ms": %s, "total_ms": %s, "size_over_link_ms": %s, ' \
			"$sep" "$mib" "$mbps" "$([ "$mode" = sc ] && echo stop-and-copy || echo pre-copy)" "$(jnum "${MIG_DOWN[$k]:-}")" \
			"$(jnum "${MIG_TOTAL[$k]:-}")" "$(mig_ideal_ms "$mib")"
		printf '"total_over_size_link": %s, "repetitions": %s, "downtime_all": [%s], "total_all": [%s], "check": %s, "writer": %s,\n        "pause": %s, "stats": %s }' \
			"$(jnum "$(mig_over "${MIG_TOTAL[$k]:-n/a}" "$mib")")" "$(mig_reps "$mib" "$mbps")" \
			"$(mig_list "${MIG_DOWN_ALL[$k]:-}")" "$(mig_list "${MIG_TOTAL_ALL[$k]:-}")" \
			"$(jstr "${MIG_CHECK[$k]:-}")" "$(jstr "${MIG_WRITER[$k]:-}")" "$(jstr "${MIG_PAUSE[$k]:-}")" "${MIG_STATS[$k]:-null}"
		sep=","
	done
	printf '\n    ],\n    "section_seconds": %s }' "$MIG_SECONDS"
}

#!/bin/bash
# net.sh: the networking rows of `make bench`, sourced by bench/run.sh (inside the nested VM when there is no /dev/kvm) —
# TCP throughput host<->domain against host<->host on loopback with 64 KiB writes, small-message round trips against
# native, and snapshot --stop plus restore of a server holding 100 established connections against the same server idle.
# Needs from run.sh: PDVM, B, REPS, TMP, median, ratio, num_or_na, ms_now, FLOOR_US, DFLOOR_US, DFLOOR_NATIVE_US. Sets NET_*; net_report prints the rows, net_json the results.

NET_PERF=$B/bench/tcpperf
NET_MIB=${BENCH_NET_MIB:-64}
NET_PINGS=${BENCH_NET_PINGS:-500}
NET_PORT=$((20000 + RANDOM % 12000))   # below the ephemeral range

# net_pair SERVER-WHERE CLIENT-WHERE SERVER-CMD CLIENT-CMD CLIENT-ARG: one server/client run (native or pdvm
# on each side); prints the client's and server's last lines.
net_pair() {
	local sw=$1 cw=$2 sargs=$3 cargs=$4 carg=$5 port=$((NET_PORT++)) out=$TMP/net.srv
	: >"$out"
	if [ "$sw" = pdvm ]; then "$PDVM" run -- "$NET_PERF" $sargs "$port" >"$out" 2>/dev/null &
	else "$NET_PERF" $sargs "$port" >"$out" 2>/dev/null & fi
	local spid=$!
	for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.1; done
	if [ "$cw" = pdvm ]; then "$PDVM" run -- "$NET_PERF" "$cargs" "$port" "$carg" 2>/dev/null | tail -n1
	else "$NET_PERF" "$cargs" "$port" "$carg" 2>/dev/null | tail -n1; fi
	wait "$spid"
	tail -n1 "$out"
}

# Throughput as the sink measured it (and how many reads it took, kept in $TMP/net.reads); round trips as
# the client measured them.
net_tput() {
	local line
	line=$(net_pair "$1" "$2" sink send "$NET_MIB" | grep '^sink: ')
	sed -n 's/^sink: .* in \([0-9]*\) reads.*/\1/p' <<<"$line" >"$TMP/net.reads"
	sed -n 's/^sink: .*, \([0-9.]*\) MB\/s/\1/p' <<<"$line"
}
net_rtt() { net_pair "$1" native echo ping "$NET_PINGS" | sed -n 's/^ping: .*, \([0-9.]*\) us.*/\1/p'; }
NET_TPUT_NATIVE=n/a NET_TPUT_TO_DOM=n/a NET_TPUT_FROM_DOM=n/a NET_RTT_NATIVE=n/a NET_RTT_DOM=n/a
if [ -x "$NET_PERF" ]; then
	a=() b=() c=() d=() e=() reads=()
	for _ in $(seq "$REPS"); do
		a+=("$(net_tput native native)")
		b+=("$(net_tput pdvm native)")
		reads+=("$(cat "$TMP/net.reads")")
		c+=("$(net_tput native pdvm)")
		d+=("$(net_rtt native)")
		e+=("$(net_rtt pdvm)")
	done
	NET_TPUT_NATIVE=$(num_or_na "$(printf '%s\n' "${a[@]}" | grep . | median)")
	NET_TPUT_TO_DOM=$(num_or_na "$(printf '%s\n' "${b[@]}" | grep . | median)")
	NET_TPUT_FROM_DOM=$(num_or_na "$(printf '%s\n' "${c[@]}" | grep . | median)")
	NET_RTT_NATIVE=$(num_or_na "$(printf '%s\n' "${d[@]}" | grep . | median)")
	NET_RTT_DOM=$(num_or_na "$(printf '%s\n' "${e[@]}" | grep . | median)")
	NET_READS=$(num_or_na "$(printf '%s\n' "${reads[@]}" | grep . | median)")
fi

# The trap-bound ceiling of each direction: every read (or 64 KiB write) in a domain is one trap, so even a
# VMM that cost nothing but the platform's trap floor would take native time + traps x floor. A ratio near
# the ceiling means the transfer is trap-bound, not VMM-bound.
net_ceiling() { # traps, us per trap
	awk -v mib="$NET_MIB" -v nat="$NET_TPUT_NATIVE" -v traps="$1" -v fl="$2" 'BEGIN {
		if (nat !~ /^[0-9.]+$/ || traps !~ /^[0-9.]+$/ || fl !~ /^[0-9.]+$/ || nat == 0) { print "n/a"; exit }
		t = mib * 1048576 / nat; printf "%.2f\n", t / (t + traps * fl) }'
}
NET_CEIL_TO_DOM=$(net_ceiling "${NET_READS:-n/a}" "$FLOOR_US")
NET_CEIL_FROM_DOM=$(net_ceiling "$((NET_MIB * 16))" "$FLOOR_US")
# The same with the platform's data-carrying trap (run.sh: trapfloor with 64 KiB copied into guest memory per
# round trip), less the same copy done natively: what such a trap costs beyond the native read it replaces.
NET_DTRAP_US=$(awk -v df="${DFLOOR_US:-n/a}" -v dn="${DFLOOR_NATIVE_US:-n/a}" 'BEGIN {
	if (df !~ /^[0-9.]+$/ || dn !~ /^[0-9.]+$/) print "n/a"; else print (df > dn ? df - dn : 0) }')
NET_DCEIL_TO_DOM=$(net_ceiling "${NET_READS:-n/a}" "$NET_DTRAP_US")
NET_DCEIL_FROM_DOM=$(net_ceiling "$((NET_MIB * 16))" "$NET_DTRAP_US")

# 100 established connections (idle half way through a stream) in an epoll server: snapshot --stop wall time and
# the restore's time to running (its own log line), against the same server with no connection.
NET_C100_SNAP=n/a NET_C100_REST=n/a NET_C0_SNAP=n/a NET_C0_REST=n/a NET_C100_CHECK=n/a
net_conns_case() { # $1: connections (0 or 100) -> "snap_ms restore_ms check"
	local n=$1 port=$((NET_PORT++)) dir=$TMP/net.c$1 t0 t1 cpid=""
	rm -rf "$dir" && mkdir -p "$dir"
	"$PDVM" run --name "netc$n" --log "$TMP/netc$n.log" -- "$B/guest/dyn/tcpecho" "$port" "$((n ? n : 1))" epoll >"$dir/out" 2>/dev/null &
	local pid=$!
	for _ in $(seq 100); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
	if [ "$n" -gt 0 ]; then
		/usr/bin/python3 "$REPO/tests/host/tcpclient.py" --port "$port" --conns "$n" --bytes 65536 --progress "$dir/half" \
			--pause "$dir/go" --timeout 300 >"$dir/client" 2>&1 &
		cpid=$!
		for _ in $(seq 600); do [ -e "$dir/half" ] && break; sleep 0.1; done
	fi
	t0=$(ms_now)
	"$PDVM" snapshot --stop "netc$n" "$dir/img" >/dev/null 2>&1 || { echo "n/a n/a snapshot-failed"; kill "$pid" $cpid 2>/dev/null; return; }
	t1=$(ms_now)
	wait "$pid"
	"$PDVM" restore -v --name "netc$n-r" "$dir/img" >"$dir/rout" 2>"$dir/rerr" &
	local rpid=$!
	for _ in $(seq 100); do grep -q "restored from" "$dir/rerr" 2>/dev/null && break; sleep 0.1; done
	local rms
	rms=$(sed -n 's/.*restored from .* in \([0-9.]*\) ms.*/\1/p' "$dir/rerr" | head -n1)
	local check=ok
	if [ -n "$cpid" ]; then
		: >"$dir/go"
		wait "$cpid" || check="client-failed"
		grep -q "^OK $n connections" "$dir/client" || check="client-failed"
		wait "$rpid"
	else
		kill "$rpid" 2>/dev/null
		wait "$rpid"
	fi
	echo "$(((t1 - t0) / 1000)) ${rms:-n/a} $check"
	cp "$dir/rerr" "$TMP/netc$n.rerr" 2>/dev/null; rm -rf "$dir"
}
if [ -x "$B/guest/dyn/tcpecho" ] && [ -x /usr/bin/python3 ]; then
	read -r NET_C0_SNAP NET_C0_REST _ <<<"$(net_conns_case 0)"
	read -r NET_C100_SNAP NET_C100_REST NET_C100_CHECK <<<"$(net_conns_case 100)"
fi

net_report() {
	printf '%-44s %14s %14s %10s\n' "TCP loopback, 64 KiB writes, MB/s" "host<->host" "pdvm" "ratio"
	printf '%-44s %14s %14s %10s\n' "  host -> domain ($NET_MIB MiB)" "$NET_TPUT_NATIVE" "$NET_TPUT_TO_DOM" \
		"$(ratio "$NET_TPUT_TO_DOM" "$NET_TPUT_NATIVE")"
	printf '%-44s %14s %14s %10s\n' "  domain -> host" "$NET_TPUT_NATIVE" "$NET_TPUT_FROM_DOM" \
		"$(ratio "$NET_TPUT_FROM_DOM" "$NET_TPUT_NATIVE")"
	printf '%-44s %14s %14s %10s\n' "  trap-bound ceiling (floor x traps), ratio" "" "" "$NET_CEIL_TO_DOM / $NET_CEIL_FROM_DOM"
	printf '%-44s %14s %14s %10s\n' "  data-trap ceiling (64 KiB trap floor), ratio" "" "" "$NET_DCEIL_TO_DOM / $NET_DCEIL_FROM_DOM"
	printf '%-44s %14s %14s %10s\n' "  (reads by the domain's sink)" "" "${NET_READS:-n/a}" ""
	printf '%-44s %14s %14s %10s\n' "64-byte request/response, us/round trip" "$NET_RTT_NATIVE" "$NET_RTT_DOM" \
		"$(ratio "$NET_RTT_DOM" "$NET_RTT_NATIVE")"
	printf '%-44s %14s %14s %10s\n' "epoll server, ms: snapshot --stop / restore" "no connection" "100 conns" "ratio"
	printf '%-44s %14s %14s %10s\n' "  snapshot --stop wall time" "$NET_C0_SNAP" "$NET_C100_SNAP" "$(ratio "$NET_C100_SNAP" "$NET_C0_SNAP")"
	printf '%-44s %14s %14s %10s  %s\n\n' "  restore, time to running" "$NET_C0_REST" "$NET_C100_REST" \
		"$(ratio "$NET_C100_REST" "$NET_C0_REST")" "all 100 alive after: $NET_C100_CHECK"
}

net_json() {
	printf '{ "mib": %s, "tput_native_mbps": %s, "tput_host_to_domain_mbps": %s, "tput_domain_to_host_mbps": %s, ' \
	"$NET_MIB" "$(jnum "$NET_TPUT_NATIVE")" "$(jnum "$NET_TPUT_TO_DOM")" "$(jnum "$NET_TPUT_FROM_DOM")"
	printf '"domain_sink_reads": %s, "ceiling_host_to_domain": %s, "ceiling_domain_to_host": %s, ' \
	"$(jnum "${NET_READS:-n/a}")" "$(jnum "$NET_CEIL_TO_DOM")" "$(jnum "$NET_CEIL_FROM_DOM")"
	printf '"data_ceiling_host_to_domain": %s, "data_ceiling_domain_to_host": %s, ' \
	"$(jnum "$NET_DCEIL_TO_DOM")" "$(jnum "$NET_DCEIL_FROM_DOM")"
	printf '"rtt_native_us": %s, "rtt_domain_us": %s, "snap_idle_ms": %s, "snap_100_ms": %s, ' \
	"$(jnum "$NET_RTT_NATIVE")" "$(jnum "$NET_RTT_DOM")" "$(jnum "$NET_C0_SNAP")" "$(jnum "$NET_C100_SNAP")"
	printf '"restore_idle_ms": %s, "restore_100_ms": %s, "check_100": "%s" }' \
	"$(jnum "$NET_C0_REST")" "$(jnum "$NET_C100_REST")" "$NET_C100_CHECK"
}

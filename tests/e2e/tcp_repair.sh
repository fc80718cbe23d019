#!/bin/bash
# tcp_repair.sh: TCP connections across snapshot --stop, kill and restore (issue 5) — a client on the host (Python, not pdvm code) streams both ways through an echo server in a domain and must see every byte in order with no reset; same host, and a second network namespace with the same address; queues in flight both ways at the snapshot; 100 connections on an epoll server; UDP datagrams queued at a snapshot delivered exactly once; failure modes (address in use at restore, no CAP_NET_ADMIN, a peer that closed meanwhile).
# timeout: 480
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file /usr/bin/python3 "$B/guest/dyn/tcpecho" "$B/guest/dyn/udprecv" tests/host/tcpclient.py tests/host/acceptq_client.py tests/guest/py/acceptq.py \
	tests/host/halfclose_server.py tests/guest/py/halfclose.py tests/host/connectlate_server.py tests/guest/py/connectlate.py
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"
ECHO=$B/guest/dyn/tcpecho
CLIENT=$(pwd)/tests/host/tcpclient.py

# stream_across NAME ADDR NSRUN1 NSRUN2 NSCLI: server in a domain (under NSRUN1), client
# (under NSCLI) streaming 3 MiB each way and reading slowly so that both directions have
# queues at the snapshot; snapshot --stop once half is through; BETWEEN runs; restore under
# NSRUN2. Sets CRC/COUT (client), RRC2/ROUT/RERR (restored domain), LOG.
stream_across() {
	local name=$1 addr=$2 run1=$3 run2=$4 cli=$5 stall=$6 port=$(free_port)
	NAME=$name
	LOG=$SCRATCH/$name.log
	local img=$SCRATCH/$name.img prog=$SCRATCH/$name.half
	: >"$SCRATCH/$name.out"
	$run1 timeout -k 5 "$PDVM_TIMEOUT" "$PDVM" run --name "$name" --log "$LOG" -- "$ECHO" "$port" "$CONNS" "$MODE" "$addr" "${stall:+65536}" \
		</dev/null >"$SCRATCH/$name.out" 2>"$SCRATCH/$name.err" &
	local pid=$!
	BGPIDS+=("$pid")
	wait_lines "$SCRATCH/$name.out" 1 "$pid"
	COUT=$SCRATCH/$name.client
	local gate
	case $stall in
	stall) gate=(--stall "$SCRATCH/$name.go") ;;   # queues fill both ways
	pause) gate=(--pause "$SCRATCH/$name.go") ;;   # idle half way: none ends early
	*) gate=(--pace 0.1) ;;                         # mid-stream, however fast the link
	esac
	$cli /usr/bin/python3 "$CLIENT" --host "$addr" --port "$port" --conns "$CONNS" --bytes "$BYTES" --chunk 16384 \
		--progress "$prog" "${gate[@]}" --timeout 150 >"$COUT" 2>&1 &
	local cpid=$!
	BGPIDS+=("$cpid")
	for _ in $(seq 300); do [ -e "$prog" ] && break; sleep 0.1; done
	[ -z "$stall" ] || sleep 2 # the queues fill
	"${BEFORE_SNAP[@]}"
	ls "$PDVM_RUN_DIR" >"$SCRATCH/$name.trace"; date +%T.%N >>"$SCRATCH/$name.trace"
	snap --stop "$name" "$img"
	date +%T.%N >>"$SCRATCH/$name.trace"
	wait_pid "$pid" 30
	"${BETWEEN[@]}"
	ROUT=$SCRATCH/$name.rout
	RERR=$SCRATCH/$name.rerr
	$run2 timeout -k 5 "$PDVM_TIMEOUT" "$PDVM" restore -v --name "$name-r" "$img" \
		</dev/null >"$ROUT" 2>"$RERR" &
	local rpid=$!
	BGPIDS+=("$rpid")
	sleep 1
	: >"$SCRATCH/$name.go"
	wait_pid "$cpid" 170
	CRC=$WRC
	wait_pid "$rpid" 30
	RRC2=$WRC
}

# check_stream TEST both|sent|none: the client saw everything; the image held unread and
# unacknowledged bytes (both), or bytes sent but not yet acknowledged (sent).
check_stream() {
	local t=$1 want=$2
	echo "  [$t: ${SECONDS}s into the script]"
	if [ "$SRC" = 0 ] && [ "$CRC" = 0 ] && grep -q "^OK $CONNS connections, $BYTES bytes each" "$COUT" &&
	   [ "$RRC2" = 0 ] && grep -q "^done $CONNS connections, $((CONNS * BYTES)) bytes echoed" "$ROUT"; then
		pass "$t"
	else
		fail "$t" "snapshot $SRC $(head -c 300 "$SERR"); client $CRC; restore $RRC2 $(tails "$SCRATCH/$NAME.trace" "$COUT" "$SCRATCH/$NAME.err" "$ROUT" "$RERR" "$LOG")"
	fi
	[ "$want" != none ] || return 0
	# Data was in flight both ways: the server had unacknowledged bytes and unread bytes.
	local q
	q=$(grep -o "TCP [a-z-]*, [0-9]* bytes unacknowledged ([0-9]* of them unsent), [0-9]* unread" "$LOG" | head -n1)
	local ok=""
	if [[ $q =~ ,\ ([0-9]+)\ bytes\ unacknowledged\ \(([0-9]+)\ of\ them\ unsent\),\ ([0-9]+)\ unread ]]; then
		case $want in
		both) [ "${BASH_REMATCH[1]}" -gt 0 ] && [ "${BASH_REMATCH[3]}" -gt 0 ] && ok=1 ;;
		sent) [ "${BASH_REMATCH[1]}" -gt "${BASH_REMATCH[2]}" ] && ok=1 ;;
		esac
	fi
	echo "  snapshot saw: ${q:-no queue line}"
	if [ -n "$ok" ]; then
		pass "$t-queues-$want"
	else
		fail "$t-queues-$want" "log: ${q:-no queue line}"
	fi
}

CONNS=1 BYTES=$((1 << 20)) MODE=poll
BETWEEN=(true)
BEFORE_SNAP=(true)
stream_across same 127.0.0.1 "" "" "" stall
check_stream tcp-stream-stop-kill-restore-same-host both
# The lock is gone after the restore.
if nft list table inet pdvm 2>/dev/null | grep -q "lock-"; then
	fail "network-lock-released" "$(nft list table inet pdvm 2>&1 | head -n 8)"
else
	pass "network-lock-released"
fi

# The same over IPv6 (loopback ::1): the lock's v6 set, the v6 addresses in the records.
stream_across six ::1 "" "" "" stall
check_stream tcp-ipv6-stream-stop-kill-restore both

# An epoll server with 100 connections, idle half way through: all 100 alive after.
CONNS=100 BYTES=16384 MODE=epoll
stream_across many 127.0.0.1 "" "" "" pause
check_stream tcp-100-connections-epoll-server none
n=$(grep -c "TCP established" "$LOG")
if [ "$n" = 100 ]; then pass "tcp-100-connections-all-in-image"; else fail "tcp-100-connections-all-in-image" "$n in the image"; fi
CONNS=1 BYTES=$((1 << 20)) MODE=poll

# Connections a server had not accepted yet (their requests already sent) survive: the
# snapshot takes them out of the accept queue, the restored server's accept() gets them.
port=$(free_port)
AQ=$SCRATCH/aq
mkdir -p "$AQ"
: >"$AQ/out"
start_run aq "$AQ/out" "$AQ/err" --log "$AQ/log" -- /usr/bin/python3 "$(pwd)/tests/guest/py/acceptq.py" "$port" "$AQ/go"
pid=$BGPID
wait_lines "$AQ/out" 1 "$pid"
/usr/bin/python3 tests/host/acceptq_client.py "$port" "$AQ/ready" >"$AQ/client" 2>&1 &
cpid=$!
BGPIDS+=("$cpid")
for _ in $(seq 100); do [ -e "$AQ/ready" ] && break; sleep 0.1; done
snap --stop aq "$AQ/img"
wait_pid "$pid" 30
start_restore aq-r "$AQ/rout" "$AQ/rerr" "$AQ/img"
rpid=$BGPID
sleep 1
: >"$AQ/go"
wait_pid "$cpid" 60
wait_pid "$rpid" 30
if [ "$SRC" = 0 ] && grep -q "took 2 connections not yet accepted" "$AQ/log" && [ "$WRC" = 0 ] &&
   grep -q "^served 2" "$AQ/rout" && grep -q "^conn 0: echo:hello0" "$AQ/client" &&
   grep -q "^conn 1: echo:hello1" "$AQ/client"; then
	pass "tcp-accept-queue-connections-survive"
else
	fail "tcp-accept-queue-connections-survive" "snapshot $SRC $(head -c 300 "$SERR"); restore $WRC $(tails "$AQ/client" "$AQ/log" "$AQ/rout" "$AQ/rerr")"
fi

# peer_across DIR NAME READY SERVER.py [ARGS] -- GUEST.py [ARGS]: a host server (tests/host, Python, prints one
# line when listening) and a domain client; once READY (a file, or "line": the client's first line, then a
# second for its SYN to go out) snapshot --stop, restore, then DIR/go. Leaves DIR/{srv,log,out,rout,rerr}, SRC.
peer_across() {
	local dir=$1 name=$2 ready=$3 srv=() gst=()
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do srv+=("$1"); shift; done
	shift
	gst=("$@")
	mkdir -p "$dir"
	: >"$dir/srv"
	/usr/bin/python3 "${srv[@]}" >"$dir/srv" 2>&1 &
	local spid=$!
	BGPIDS+=("$spid")
	wait_lines "$dir/srv" 1 "$spid"
	: >"$dir/out"
	start_run "$name" "$dir/out" "$dir/err" --log "$dir/log" -- /usr/bin/python3 "${gst[@]}"
	local pid=$BGPID
	if [ "$ready" = line ]; then
		wait_lines "$dir/out" 1 "$pid"
		sleep 1
	else
		for _ in $(seq 300); do [ -e "$ready" ] && break; sleep 0.1; done
	fi
	snap --stop "$name" "$dir/img"
	wait_pid "$pid" 30
	start_restore "$name-r" "$dir/rout" "$dir/rerr" "$dir/img"
	local rpid=$BGPID
	sleep 1
	: >"$dir/go"
	wait_pid "$rpid" 60
	wait_pid "$spid" 30
}

# A half-closed connection: the domain's client shut down its sending half (FIN-WAIT-2) and has
# 50000 bytes unread at the snapshot; after --stop and restore it reads those and 50000 more to
# EOF, writing still gets EPIPE, and the host server sees EOF, no reset.
HC=$SCRATCH/hc
port=$(free_port)
peer_across "$HC" hc "$HC/ready" tests/host/halfclose_server.py "$port" "$HC/ready" "$HC/go" \
	-- "$(pwd)/tests/guest/py/halfclose.py" "$port" "$HC/go"
if [ "$SRC" = 0 ] && grep -q "TCP fin-wait-2" "$HC/log" && grep -q "^got 100000 intact epipe" "$HC/rout" &&
   grep -q "^request 10000, answer sent, then eof" "$HC/srv"; then
	pass "tcp-half-closed-connection-survives"
else
	fail "tcp-half-closed-connection-survives" "snapshot $SRC $(head -c 300 "$SERR"); $(tails "$HC/srv" "$HC/log" "$HC/out" "$HC/rout" "$HC/rerr")"
fi

# A connect still in its handshake (SYN-SENT: the server's accept queue is full) at snapshot --stop:
# the restore connects again from the same address, the guest's re-issued connect() waits for it.
CL=$SCRATCH/cl
port=$(free_port)
peer_across "$CL" cl line tests/host/connectlate_server.py "$port" "$CL/go" -- "$(pwd)/tests/guest/py/connectlate.py" "$port"
if [ "$SRC" = 0 ] && grep -q "TCP syn-sent, connects again" "$CL/log" && grep -q "^answer echo:hello" "$CL/rout" &&
   grep -q "^served" "$CL/srv"; then
	pass "tcp-connect-in-progress-survives"
else
	fail "tcp-connect-in-progress-survives" "snapshot $SRC $(head -c 300 "$SERR"); $(tails "$CL/srv" "$CL/log" "$CL/out" "$CL/rout" "$CL/rerr")"
fi

# UDP: datagrams queued at a snapshot are read exactly once, by the domain that runs on
# (the snapshot drains them into its restart queue) and by the restored copy.
UDP=$B/guest/dyn/udprecv
port=$(free_port)
udp_send() { /usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for m in sys.argv[2:]: s.sendto(m.encode(), ("127.0.0.1", int(sys.argv[1])))' "$port" "$@"; }
: >"$SCRATCH/udp.out"
start_run udp "$SCRATCH/udp.out" "$SCRATCH/udp.err" -- "$UDP" "$port" "$SCRATCH/udp.go"
pid=$BGPID
wait_lines "$SCRATCH/udp.out" 1 "$pid"
udp_send a1 a2 a3
snap udp "$SCRATCH/udp.img"
usrc=$SRC
udp_send a4 END
: >"$SCRATCH/udp.go"
wait_pid "$pid" 30
start_restore udp-r "$SCRATCH/udpr.out" "$SCRATCH/udpr.err" "$SCRATCH/udp.img"
rpid=$BGPID
# Until the restored domain has bound its port: one sender, retrying (python starts slowly).
/usr/bin/python3 -c 'import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(100):
    for m in (b"b1", b"END"): s.sendto(m, ("127.0.0.1", int(sys.argv[1])))
    if os.path.exists(sys.argv[2]) and open(sys.argv[2]).read().startswith("a1"): break
    time.sleep(0.3)' "$port" "$SCRATCH/udpr.out"
wait_pid "$rpid" 30
live=$(cat "$SCRATCH/udp.out" | tr '\n' ' ')
restored=$(cat "$SCRATCH/udpr.out" | tr '\n' ' ')
if [ "$usrc" = 0 ] && [ "$live" = "ready a1 from loopback a2 from loopback a3 from loopback a4 from loopback " ] &&
   [[ $restored == "a1 from loopback a2 from loopback a3 from loopback b1 from loopback "* ]]; then
	pass "udp-queued-datagrams-exactly-once"
else
	fail "udp-queued-datagrams-exactly-once" "snapshot $usrc; live: $live; restored: $restored $(tails "$SCRATCH/udpr.err")"
fi

# Failure modes. The address is held by another program at restore: a clear error.
/usr/bin/python3 -c "import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', $port)); time.sleep(60)" &
hold=$!
BGPIDS+=("$hold")
for _ in $(seq 100); do ss -uln | grep -q "127.0.0.1:$port " && break; sleep 0.2; done
restore_fg "$SCRATCH/ur2.out" "$SCRATCH/ur2.err" "$SCRATCH/udp.img"
kill "$hold" 2>/dev/null
if [ "$RRC" != 0 ] && grep -q "bind: Address already in use (another program holds the address)" "$SCRATCH/ur2.err"; then
	pass "restore-address-in-use-clear-error"
	echo "  [${SECONDS}s into the script]"
else
	fail "restore-address-in-use-clear-error" "restore $RRC: $(cat "$SCRATCH/ur2.err")"
fi

# Without CAP_NET_ADMIN the snapshot is refused, naming it; the connection goes on unharmed.
port=$(free_port)
: >"$SCRATCH/nocap.out"
setpriv --inh-caps=-net_admin --bounding-set=-net_admin timeout -k 5 "$PDVM_TIMEOUT" "$PDVM" run --name nocap \
	-- "$ECHO" "$port" 1 poll </dev/null >"$SCRATCH/nocap.out" 2>"$SCRATCH/nocap.err" &
pid=$!
BGPIDS+=("$pid")
wait_lines "$SCRATCH/nocap.out" 1 "$pid"
/usr/bin/python3 "$CLIENT" --port "$port" --bytes 65536 --progress "$SCRATCH/nocap.half" --pause "$SCRATCH/nocap.go" \
	--timeout 100 >"$SCRATCH/nocap.client" 2>&1 &
cpid=$!
BGPIDS+=("$cpid")
for _ in $(seq 300); do [ -e "$SCRATCH/nocap.half" ] && break; sleep 0.1; done
snap nocap "$SCRATCH/nocap.img"
: >"$SCRATCH/nocap.go"
wait_pid "$cpid" 100
if [ "$SRC" != 0 ] && grep -q "needs CAP_NET_ADMIN" "$SERR" && [ "$WRC" = 0 ] &&
   grep -q "^OK 1 connections" "$SCRATCH/nocap.client"; then
	pass "no-cap-net-admin-refused-connection-unharmed"
	echo "  [${SECONDS}s into the script]"
else
	fail "no-cap-net-admin-refused-connection-unharmed" "snapshot $SRC: $(cat "$SERR"); client $WRC $(tails "$SCRATCH/nocap.client")"
fi
wait_pid "$pid" 30

# The peer closes while the domain is down: after the restore the server reads its
# bytes, then end-of-file, and ends normally.
port=$(free_port)
: >"$SCRATCH/pc.out"
start_run pc "$SCRATCH/pc.out" "$SCRATCH/pc.err" -- "$ECHO" "$port" 1 poll
pid=$BGPID
wait_lines "$SCRATCH/pc.out" 1 "$pid"
/usr/bin/python3 -c "import socket, os, sys, time
s = socket.create_connection(('127.0.0.1', $port))
s.sendall(b'x' * 1000)
got = b''
while len(got) < 1000: got += s.recv(1000)
open(sys.argv[1], 'w').close()
while not os.path.exists(sys.argv[2]): time.sleep(0.05)
s.sendall(b'y' * 500)
s.close()" "$SCRATCH/pc.ready" "$SCRATCH/pc.go" >"$SCRATCH/pc.client" 2>&1 &
cpid=$!
BGPIDS+=("$cpid")
for _ in $(seq 300); do [ -e "$SCRATCH/pc.ready" ] && break; sleep 0.1; done
snap --stop pc "$SCRATCH/pc.img"
wait_pid "$pid" 30
: >"$SCRATCH/pc.go"
wait_pid "$cpid" 60
restore_fg "$SCRATCH/pcr.out" "$SCRATCH/pcr.err" "$SCRATCH/pc.img"
if [ "$SRC" = 0 ] && [ "$RRC" = 0 ] && grep -q "^done 1 connections, 1500 bytes echoed" "$SCRATCH/pcr.out"; then
	pass "peer-closed-while-down-sees-eof-after-restore"
	echo "  [${SECONDS}s into the script]"
else
	fail "peer-closed-while-down-sees-eof-after-restore" "snapshot $SRC, restore $RRC $(tails "$SCRATCH/pc.client" "$SCRATCH/pcr.out" "$SCRATCH/pcr.err")"
fi

# Another "host": the domain runs in one network namespace, is restored in a fresh one
# that carries the same address (and MAC), reached by the client from a third.
if ip netns add pdvmt-c 2>/dev/null; then
	NS=(pdvmt-c)
	host_ns() { # NAME: a namespace with a veth to the client's, 10.77.0.2 on its end
		ip netns add "$1" && NS+=("$1") &&
		ip link add "v$1" netns "$1" address 02:00:00:00:77:02 type veth peer name "c$1" netns pdvmt-c \
			address 02:00:00:00:77:01 &&
		ip -n "$1" addr add 10.77.0.2/24 dev "v$1" && ip -n "$1" link set "v$1" up &&
		ip -n "$1" link set lo up &&
		ip -n pdvmt-c addr add 10.77.0.1/24 dev "c$1" && ip -n pdvmt-c link set "c$1" up
	}
	# At the snapshot, bytes the domain sent await their ACK: from a second before it
	# until the restore, the client's namespace drops all the domain sends (its echo
	# and its ACKs), however fast the link. The restored domain must send them again.
	hold_acks() {
		ip netns exec pdvmt-c nft -f - <<-'EOF'
		table inet pdvmt { chain in { type filter hook input priority 0; ip saddr 10.77.0.2 drop; }; }
		EOF
		sleep 1
	}
	ip -n pdvmt-c link set lo up
	if host_ns pdvmt-h1; then
		BEFORE_SNAP=(hold_acks)
		BETWEEN=(eval 'ip netns exec pdvmt-c nft delete table inet pdvmt; ip netns del pdvmt-h1; host_ns pdvmt-h2')
		BYTES=$((512 << 10))
		stream_across ns 10.77.0.2 "ip netns exec pdvmt-h1" "ip netns exec pdvmt-h2" "ip netns exec pdvmt-c" ""
		check_stream tcp-stream-restored-in-another-netns sent
		BEFORE_SNAP=(true)
	else
		skip tcp-stream-restored-in-another-netns "cannot make veth pairs here"
	fi
	for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null; done
else
	skip tcp-stream-restored-in-another-netns "cannot make network namespaces here"
fi
finish

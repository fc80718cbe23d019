#!/bin/bash
# netns.sh: network placement (issue 5) — a domain in its own namespace (--net netns): /usr/bin/python3 -m http.server answers curl on the host through --publish, and at its own address; a domain fetches from a server on the host (python urllib in netns mode, busybox wget in host mode); a published server snapshotted with --stop and restored answers again; a crashed pdvm's namespace and rules are removed at the next start, a clean exit removes its own.
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file /usr/bin/python3 /bin/busybox tests/guest/py/net.py
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"
ROOTDIR=$(pwd)
if ! command -v curl >/dev/null || ! command -v nft >/dev/null || ! ip netns list >/dev/null 2>&1; then
	skip "netns-mode" "needs curl, nft and ip netns"
	finish
fi

# fetch URL FILE: 0 when URL's body (tried for up to ~20 s) equals FILE.
fetch() {
	local got
	for _ in $(seq 100); do
		got=$(curl -sf --max-time 5 "$1") && break
		sleep 0.2
	done
	[ -n "$got" ] && [ "$got" = "$(cat "$2")" ]
}

HP=$(free_port)
start_run web "$SCRATCH/web.out" "$SCRATCH/web.err" --net netns --publish "$HP:8000" --cwd "$ROOTDIR" \
	-- /usr/bin/python3 -m http.server --directory tests/guest/py 8000
pid=$BGPID
if fetch "http://127.0.0.1:$HP/net.py" tests/guest/py/net.py; then
	pass "http-server-in-netns-curl-through-publish"
else
	fail "http-server-in-netns-curl-through-publish" "$(tails "$SCRATCH/web.err"; ip netns list; nft list ruleset 2>&1 | tail -n 20)"
fi
addr=$(sed -n 's/^[0-9]* \(10\.231\.0\.[0-9]*\)$/\1/p' /run/pdvm/net/pdvm-web.rec 2>/dev/null)
if [ -n "$addr" ] && fetch "http://$addr:8000/net.py" tests/guest/py/net.py; then
	pass "http-server-in-netns-at-its-address"
else
	fail "http-server-in-netns-at-its-address" "address '$addr'"
fi

# Snapshot --stop and restore: the same address and the published port again.
snap --stop web "$SCRATCH/web.img"
wait_pid "$pid" 30
gone=$(ip netns list | grep -c "^pdvm-web\b")
start_restore web "$SCRATCH/webr.out" "$SCRATCH/webr.err" "$SCRATCH/web.img"
rpid=$BGPID
if [ "$SRC" = 0 ] && [ "$gone" = 0 ] && fetch "http://127.0.0.1:$HP/net.py" tests/guest/py/net.py &&
   grep -q "^[0-9]* $addr\$" /run/pdvm/net/pdvm-web.rec; then
	pass "published-server-restored-same-address"
else
	fail "published-server-restored-same-address" "snapshot $SRC, namespace left after stop: $gone $(tails "$SERR" "$SCRATCH/webr.err")"
fi
kill -TERM "$rpid" 2>/dev/null
wait_pid "$rpid" 30
if ! ip netns list | grep -q "^pdvm-web\b" && ! nft list tables | grep -q "pdvm-web" && [ ! -e /run/pdvm/net/pdvm-web.rec ]; then
	pass "clean-exit-removes-namespace-and-rules"
else
	fail "clean-exit-removes-namespace-and-rules" "$(ip netns list; nft list tables)"
fi

# A domain fetches from a server on the host: urllib through the bridge (netns), busybox wget (host).
/usr/bin/python3 -m http.server --bind 0.0.0.0 --directory tests/guest/py "$((HP + 1))" >/dev/null 2>&1 &
SPID=$!
BGPIDS+=("$SPID")
run_pdvm --net netns --cwd "$ROOTDIR" -- /usr/bin/python3 -c "import urllib.request, sys, time
for i in range(50):
    try:
        sys.stdout.write(urllib.request.urlopen('http://10.231.0.1:$((HP + 1))/net.py', timeout=5).read().decode()); break
    except OSError: time.sleep(0.2)"
if [ "$RC" = 0 ] && cmp -s "$OUT" tests/guest/py/net.py; then
	pass "urllib-in-netns-fetches-from-host"
else
	fail "urllib-in-netns-fetches-from-host" "$(last_output)"
fi
run_pdvm -- /bin/busybox wget -q -O - "http://127.0.0.1:$((HP + 1))/net.py"
if [ "$RC" = 0 ] && cmp -s "$OUT" tests/guest/py/net.py; then
	pass "busybox-wget-fetches-from-host"
else
	fail "busybox-wget-fetches-from-host" "$(last_output)"
fi
kill "$SPID" 2>/dev/null

# A pdvm killed with SIGKILL leaves its namespace; the next start removes it.
start_run crashy "$SCRATCH/c.out" "$SCRATCH/c.err" --net netns -- /bin/busybox sleep 100
cpid=$BGPID
for _ in $(seq 100); do [ -e /run/pdvm/net/pdvm-crashy.rec ] && break; sleep 0.1; done
sleep 0.5
pkill -KILL -f "pdvm run --name crashy" 2>/dev/null
wait "$cpid" 2>/dev/null
left=$(ip netns list | grep -c "^pdvm-crashy\b")
run_pdvm --net netns -- /bin/busybox true
if [ "$left" = 1 ] && [ "$RC" = 0 ] && ! ip netns list | grep -q "^pdvm-crashy\b" &&
   ! nft list tables | grep -q "pdvm-crashy" && grep -q "removing network namespace pdvm-crashy" "$ERR"; then
	pass "stale-namespace-removed-at-next-start"
else
	fail "stale-namespace-removed-at-next-start" "left after kill: $left; $(last_output); $(ip netns list)"
fi
finish

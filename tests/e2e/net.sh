#!/bin/bash
# net.sh: sockets on the host's network (issue 5) — python3 TCP/UDP/socketpair/AF_UNIX and SCM_RIGHTS between processes inside a domain against native, a domain's http.server fetched from the host, a snapshot of the serving domain, and socketpairs between processes across a restore.
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file /usr/bin/python3 tests/guest/py/net.py tests/guest/py/scm.py tests/guest/py/unixsnap.py tests/guest/py/unixserve.py tests/guest/py/bigsend.py
ROOTDIR=$(pwd)
W=$SCRATCH/w
domain_dir "$W"

compare python3-sockets --cwd "$ROOTDIR" -- /usr/bin/python3 tests/guest/py/net.py
compare scm-rights-between-processes --cwd "$ROOTDIR" -- /usr/bin/python3 tests/guest/py/scm.py
compare blocking-send-all-recv-waitall --cwd "$ROOTDIR" -- /usr/bin/python3 tests/guest/py/bigsend.py

# AF_UNIX paths resolve inside the root; binding needs a writable place.
run_pdvm --writable "$W" --cwd "$ROOTDIR" -- /usr/bin/python3 tests/guest/py/net.py "$W"
if [ "$RC" = 0 ] && grep -q "^unix path b'unix path datagram' True" "$OUT"; then
	pass "unix-socket-path-in-writable-dir"
else
	fail "unix-socket-path-in-writable-dir" "$(last_output)"
fi
run_pdvm --cwd "$ROOTDIR" -- /usr/bin/python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.bind("/etc/pdvm-no.sock")'
if [ "$RC" != 0 ] && grep -q "Read-only file system" "$ERR" && [ ! -e /etc/pdvm-no.sock ]; then
	pass "unix-socket-bind-outside-writable-refused"
else
	fail "unix-socket-bind-outside-writable-refused" "$(last_output)"
fi

# A server in a domain, a client on the host (not pdvm code).
. "$(dirname "${BASH_SOURCE[0]}")/snaplib.bash"
PORT=$(free_port)
start_run web "$SCRATCH/web.out" "$SCRATCH/web.err" --cwd "$ROOTDIR" -- /usr/bin/python3 -m http.server \
	--bind 127.0.0.1 --directory tests/guest/py "$PORT"
pid=$BGPID
got=""
for _ in $(seq 100); do
	got=$(/usr/bin/python3 -c "import urllib.request, sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$PORT/net.py', timeout=5).read().decode())" 2>/dev/null) && break
	sleep 0.2
done
if [ -n "$got" ] && [ "$got" = "$(cat tests/guest/py/net.py)" ]; then
	pass "http-server-in-domain-curl-from-host"
else
	fail "http-server-in-domain-curl-from-host" "$(tails "$SCRATCH/web.out" "$SCRATCH/web.err")"
fi
# A snapshot of the serving domain (its listening socket in the image) leaves it serving.
snap web "$SCRATCH/img"
got=$(/usr/bin/python3 -c "import urllib.request, sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$PORT/net.py', timeout=5).read().decode())" 2>/dev/null)
if [ "$SRC" = 0 ] && [ "$got" = "$(cat tests/guest/py/net.py)" ]; then
	pass "listening-socket-snapshot-domain-serves-on"
else
	fail "listening-socket-snapshot-domain-serves-on" "snapshot exit $SRC: $(cat "$SERR")"
fi
kill -TERM "$pid" 2>/dev/null
wait_pid "$pid"

# socketpair()s between two processes, with messages queued, across snapshot --stop and restore.
stop_restore socketpairs-between-processes-across-restore 2 / -- /usr/bin/python3 "$ROOTDIR/tests/guest/py/unixsnap.py"
verdict socketpairs-between-processes-across-restore

# A server on a UNIX path and an abstract name, a client it talks to and one in its accept
# queue, across snapshot --stop and restore: the pair comes back by inode, the listener at
# its path (the stale socket file removed), the waiting client connected again, the queued
# datagrams and names (getsockname/getpeername) kept.
# Native runs in $W/n, the domain in $W/p (the script binds relative to its directory).
domain_dir "$W/n" "$W/p"
stop_restore unix-server-clients-across-restore 3 "$W/p" --native-cwd "$W/n" --writable "$W/p" -- \
	/usr/bin/python3 "$ROOTDIR/tests/guest/py/unixserve.py"
verdict unix-server-clients-across-restore

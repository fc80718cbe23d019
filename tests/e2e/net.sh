#!/bin/bash
# net.sh: sockets on the host's network (issue 5) — python3 TCP/UDP/socketpair/AF_UNIX and SCM_RIGHTS between processes inside a domain against native, a domain's http.server fetched from the host, a snapshot of the serving domain, and socketpairs between processes across a restore.
# timeout: 300
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_kvm
need_pdvm
need_file /usr/bin/python3 tests/guest/py/net.py tests/guest/py/scm.py tests/guest/py/unixsnap.py tests/guest/py/unixserve.py tests/guest/py/bigsend.py
ROOTDIR=$(pwd)
W=$SCRATCH/w
mkdir -p "$W"

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
PORT=$((20000 + RANDOM % 20000))
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
native_bg "$SCRATCH/unix.native" /usr/bin/python3 "$ROOTDIR/tests/guest/py/unixsnap.py"
: >"$SCRATCH/unix.out"
start_run unixp "$SCRATCH/unix.out" "$SCRATCH/unix.err" -- /usr/bin/python3 "$ROOTDIR/tests/guest/py/unixsnap.py"
pid=$BGPID
wait_lines "$SCRATCH/unix.out" 2 "$pid"
snap --stop unixp "$SCRATCH/unix.img"
wait_pid "$pid" 30
restore_fg "$SCRATCH/unixr.out" "$SCRATCH/unixr.err" "$SCRATCH/unix.img"
wait "$NATPID"
if [ "$SRC" = 0 ] && [ "$RRC" = 0 ] && [ -s "$SCRATCH/unixr.out" ] &&
   concat_is_native "$SCRATCH/unix.native" "$SCRATCH/unix.out" "$SCRATCH/unixr.out"; then
	pass "socketpairs-between-processes-across-restore"
else
	fail "socketpairs-between-processes-across-restore" "snapshot $SRC $(head -c 300 "$SERR"); restore $RRC; $(diff_native "$SCRATCH/unix.native" "$SCRATCH/unix.out" "$SCRATCH/unixr.out") $(tails "$SCRATCH/unixr.err")"
fi
# A server on a UNIX path and an abstract name, a client it talks to and one in its accept
# queue, across snapshot --stop and restore: the pair comes back by inode, the listener at
# its path (the stale socket file removed), the waiting client connected again, the queued
# datagrams and names (getsockname/getpeername) kept.
mkdir -p "$W/n" "$W/p"
native_bg "$SCRATCH/us.native" /usr/bin/python3 "$ROOTDIR/tests/guest/py/unixserve.py" "$W/n"
: >"$SCRATCH/us.out"
start_run unixs "$SCRATCH/us.out" "$SCRATCH/us.err" --writable "$W/p" -- /usr/bin/python3 "$ROOTDIR/tests/guest/py/unixserve.py" "$W/p"
pid=$BGPID
wait_lines "$SCRATCH/us.out" 3 "$pid"
snap --stop unixs "$SCRATCH/us.img"
wait_pid "$pid" 30
restore_fg "$SCRATCH/usr.out" "$SCRATCH/usr.err" "$SCRATCH/us.img"
wait "$NATPID"
if [ "$SRC" = 0 ] && [ "$RRC" = 0 ] && [ -s "$SCRATCH/usr.out" ] &&
   concat_is_native "$SCRATCH/us.native" "$SCRATCH/us.out" "$SCRATCH/usr.out"; then
	pass "unix-server-clients-across-restore"
else
	fail "unix-server-clients-across-restore" "snapshot $SRC $(head -c 300 "$SERR"); restore $RRC; $(diff_native "$SCRATCH/us.native" "$SCRATCH/us.out" "$SCRATCH/usr.out") $(tails "$SCRATCH/usr.err")"
fi

# The same image while another program serves on the path: a clear error, nothing started.
rm -f "$W/p/srv.sock"
/usr/bin/python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); print("up", flush=True); time.sleep(30)' "$W/p/srv.sock" >"$SCRATCH/holder.out" 2>&1 &
holder=$!
BGPIDS+=("$holder")
for _ in $(seq 50); do [ -s "$SCRATCH/holder.out" ] && break; sleep 0.1; done
restore_fg "$SCRATCH/usb.out" "$SCRATCH/usb.err" "$SCRATCH/us.img"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
if [ "$RRC" != 0 ] && grep -q "srv.sock: bind: Address already in use (another program holds the address)" "$SCRATCH/usb.err" &&
   [ ! -s "$SCRATCH/usb.out" ]; then
	pass "unix-restore-address-in-use"
else
	fail "unix-restore-address-in-use" "restore $RRC; $(tails "$SCRATCH/usb.out" "$SCRATCH/usb.err")"
fi
# A stream connected to a server outside the domain cannot be rebuilt from the image: the
# snapshot says so and the domain goes on.
/usr/bin/python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); print("up", flush=True)
c,_=s.accept(); time.sleep(30)' "$W/out.sock" >"$SCRATCH/outside.out" 2>&1 &
outside=$!
BGPIDS+=("$outside")
for _ in $(seq 50); do [ -s "$SCRATCH/outside.out" ] && break; sleep 0.1; done
: >"$SCRATCH/uo.out"
start_run unixo "$SCRATCH/uo.out" "$SCRATCH/uo.err" -- /usr/bin/python3 -c 'import socket,sys,time
c=socket.socket(socket.AF_UNIX); c.connect(sys.argv[1]); print("connected", flush=True); time.sleep(3); print("still here", flush=True)' "$W/out.sock"
pid=$BGPID
wait_lines "$SCRATCH/uo.out" 1 "$pid"
snap unixo "$SCRATCH/uo.img"
wait_pid "$pid" 30
kill "$outside" 2>/dev/null; wait "$outside" 2>/dev/null
if [ "$SRC" != 0 ] && grep -q "connected to a UNIX socket outside the domain ($W/out.sock)" "$SERR" &&
   grep -q "still here" "$SCRATCH/uo.out" && [ ! -e "$SCRATCH/uo.img" ]; then
	pass "unix-peer-outside-domain-refused"
else
	fail "unix-peer-outside-domain-refused" "snapshot $SRC $(head -c 300 "$SERR"); $(tails "$SCRATCH/uo.out" "$SCRATCH/uo.err")"
fi
finish

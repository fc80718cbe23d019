# acceptq_client.py: two TCP connections to PORT, each sends a request at once, then (after creating READY) waits for its answer; prints what came back, or the error.
import socket
import sys

port, ready = int(sys.argv[1]), sys.argv[2]
conns = []
for i in range(2):
    s = socket.create_connection(("127.0.0.1", port), timeout=90)
    s.sendall(b"hello%d" % i)
    conns.append(s)
open(ready, "w").close()
for i, s in enumerate(conns):
    try:
        print("conn %d: %s" % (i, s.recv(100).decode()), flush=True)
    except OSError as e:
        print("conn %d: error %s" % (i, e), flush=True)

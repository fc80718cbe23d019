# connectlate.py PORT: a blocking TCP connect that the server answers late (its accept queue is full, so the
# SYNs are dropped): a snapshot taken meanwhile holds a connection in SYN-SENT. Then a request and its answer.
import socket
import sys

print("connecting", flush=True)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"hello")
print("answer %s" % s.recv(100).decode(), flush=True)

# halfclose_server.py PORT READY GO: accepts one connection, reads the request to EOF, sends 50000 bytes, makes
# READY, waits for GO, sends 50000 more and shuts down; then expects EOF, not a reset. The peer of halfclose.py.
import os
import socket
import sys
import time

port, ready, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]
pattern = bytes(i % 251 for i in range(100000))
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(1)
print("listening", flush=True)
ls.settimeout(60)
c, _ = ls.accept()
c.settimeout(120)
req = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    req += len(b)
c.sendall(pattern[:50000])
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.1)
c.sendall(pattern[50000:])
c.shutdown(socket.SHUT_WR)
try:
    tail = c.recv(10)
    end = "eof" if tail == b"" else "data"
except ConnectionResetError:
    end = "reset"
print("request %d, answer sent, then %s" % (req, end), flush=True)

# connectlate_server.py PORT GO: a listener whose accept queue (backlog 0) holds a connection of its own, so a
# further SYN is dropped and its sender stays in SYN-SENT; when GO appears it takes that one, then accepts the
# next and answers "echo:" + its request. The peer of connectlate.py.
import os
import socket
import sys
import time

port, go = int(sys.argv[1]), sys.argv[2]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(0)
filler = socket.create_connection(("127.0.0.1", port))
print("listening", flush=True)
while not os.path.exists(go):
    time.sleep(0.1)
ls.settimeout(60)
ls.accept()[0].close()
c, _ = ls.accept()
c.settimeout(30)
c.sendall(b"echo:" + c.recv(100))
c.close()
print("served", flush=True)

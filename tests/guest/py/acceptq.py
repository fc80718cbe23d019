# acceptq.py: a TCP server that accepts nothing until a file appears (argv[2]), so its clients wait in the accept queue, requests already sent, across a snapshot; then it answers each.
import os
import socket
import sys
import time

ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(8)
print("listening", flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.1)
for i in range(2):
    c, _ = ls.accept()
    c.sendall(b"echo:" + c.recv(100))
    c.close()
print("served 2", flush=True)

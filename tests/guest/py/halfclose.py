# halfclose.py: a TCP client that sends its request, shuts down its sending half (FIN-WAIT-2 once the peer
# acknowledges) and reads nothing until a file appears (argv[2]); then reads the answer to EOF and checks that
# writing still fails with EPIPE. A snapshot taken while it waits must keep the half-closed connection.
import os
import socket
import sys
import time

s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"R" * 10000)
s.shutdown(socket.SHUT_WR)
print("shut", flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.1)
got = bytearray()
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
ok = got == bytes(i % 251 for i in range(len(got)))
try:
    s.send(b"x")
    after = "sent"
except BrokenPipeError:
    after = "epipe"
print("got %d %s %s" % (len(got), "intact" if ok else "CORRUPT", after), flush=True)

# unixsnap.py: a parent and a fork child talking over socketpair()s (stream and datagram), the child reading slowly, for a snapshot taken with messages queued; output compared with native.
import os
import socket
import time

a, b = socket.socketpair()
d1, d2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
pid = os.fork()
if pid == 0:
    a.close()
    d1.close()
    for i in range(8):
        time.sleep(0.4)
        print("child: stream", b.recv(6).decode(), "datagram", d2.recv(100).decode(), flush=True)
    print("child: end of stream", b.recv(6), flush=True)
    os._exit(0)
b.close()
d2.close()
for i in range(8):
    a.sendall(b"msg%03d" % i)
    d1.send(b"dgram %d" % i)
a.close()
print("parent: sent all", flush=True)
os.waitpid(pid, 0)
print("parent: child done", flush=True)

# unixserve.py: a server on a UNIX path (bound relative to its working directory, or argv[1]) and an abstract datagram name, one client it talks to slowly and one still in its accept queue, for a snapshot taken mid-way; output compared with native.
import os
import socket
import sys
import time

if len(sys.argv) > 1:
    os.chdir(sys.argv[1])
if os.path.exists("srv.sock"):
    os.unlink("srv.sock")
ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
ls.bind("srv.sock")
ls.listen(4)
abstract = b"\0pdvm-unixserve-" + os.path.basename(os.getcwd()).encode()
dg = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
dg.bind(abstract)
print("server: listening on", ls.getsockname(), "abstract name kept", dg.getsockname() == abstract, flush=True)

a = os.fork()
if a == 0:
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect("srv.sock")
    dc = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dc.connect(abstract)
    print("A: connected to", c.getpeername(), flush=True)
    for i in range(4):
        dc.send(b"dg%d" % i)
    for i in range(8):
        time.sleep(0.4)
        print("A: got", c.recv(6).decode(), flush=True)
    dc.send(b"dg-after")
    c.sendall(b"bye")
    os._exit(0)
conn, _ = ls.accept()
b = os.fork()
if b == 0:
    # Connects and waits: at the snapshot it is still in the accept queue.
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect("srv.sock")
    c.recv(2)
    c.sendall(b"late hello")
    os._exit(0)
for i in range(8):
    conn.sendall(b"msg%03d" % i)
os.waitpid(a, 0)
print("server: A's connection is named", conn.getsockname(), "peer", conn.getpeername(), flush=True)
print("server: A says", conn.recv(10), flush=True)
bc, _ = ls.accept()
bc.sendall(b"go")
print("server: B says", bc.recv(20), flush=True)
for i in range(5):
    print("server: datagram", dg.recv(20), flush=True)
os.waitpid(b, 0)
print("server: done", flush=True)

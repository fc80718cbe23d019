# net.py: sockets inside a domain — TCP server and client threads over loopback, UDP, socketpair, AF_UNIX (abstract and in a directory), options, name resolution.
import os
import socket
import sys
import tempfile
import threading

def tcp():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    def serve():
        for _ in range(3):
            c, _ = srv.accept()
            data = b""
            while not data.endswith(b"\n"):
                chunk = c.recv(7)
                if not chunk:
                    break
                data += chunk
            c.sendall(data.upper() * 1000)
            c.close()
    th = threading.Thread(target=serve)
    th.start()
    for i in range(3):
        with socket.create_connection(("127.0.0.1", port)) as c:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c.sendall(b"hello %d\n" % i)
            got = b""
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                got += chunk
            print("tcp", i, len(got), got[:8], c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0)
    th.join()
    srv.close()

def udp():
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b.sendto(b"datagram one", a.getsockname())
    b.sendto(b"datagram two", a.getsockname())
    for _ in range(2):
        data, addr = a.recvfrom(100)
        print("udp", data, addr[1] == b.getsockname()[1])

def pair():
    x, y = socket.socketpair()
    x.sendall(b"through a socketpair")
    print("pair", y.recv(100))
    x.close()
    print("pair eof", y.recv(100))

def unix():
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind("\0pdvm-net-test-%d" % os.getpid())
    srv.listen(1)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(srv.getsockname())
    s, _ = srv.accept()
    c.sendall(b"abstract unix")
    print("unix abstract", s.recv(100))
    d = tempfile.mkdtemp(dir=sys.argv[1]) if len(sys.argv) > 1 else None
    if d:
        path = os.path.join(d, "sock")
        u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        u.bind(path)
        v = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        v.sendto(b"unix path datagram", path)
        print("unix path", u.recv(100), os.path.exists(path))
        os.unlink(path)
        os.rmdir(d)

def names():
    print("resolve", sorted({ai[4][0] for ai in socket.getaddrinfo("localhost", 80, socket.AF_INET)}))

tcp()
udp()
pair()
unix()
names()

# bigsend.py: a blocking send() of 1 MB on a stream socket returns 1 MB, and recv(MSG_WAITALL) waits for all of it — over a socketpair and TCP loopback, between two processes; output compared with native.
import os
import socket

N = 1000000


def run(kind, a, b):
    pid = os.fork()
    if pid == 0:
        a.close()
        got = b.recv(N, socket.MSG_WAITALL)
        print(kind, "recv waitall", len(got), got == bytes(range(256)) * (N // 256) + bytes(range(N % 256)), flush=True)
        os._exit(0)
    b.close()
    n = a.send(bytes(range(256)) * (N // 256) + bytes(range(N % 256)))
    os.waitpid(pid, 0)
    print(kind, "send", n, flush=True)
    a.close()


run("unix", *socket.socketpair())
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen()
c = socket.create_connection(ls.getsockname())
s, _ = ls.accept()
run("tcp", c, s)

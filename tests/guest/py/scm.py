# scm.py: SCM_RIGHTS between processes over a socketpair — a file (its offset shared), a pipe end and a socket passed to a fork child, and a too-small control buffer truncating (MSG_CTRUNC); output compared with native.
import array
import os
import socket
import sys

a, b = socket.socketpair()
r, w = os.pipe()
f = os.open("/etc/passwd", os.O_RDONLY)
head = os.read(f, 3)
s1, s2 = socket.socketpair()
pid = os.fork()
if pid == 0:
    a.close()
    msg, fds, flags, _ = socket.recv_fds(b, 100, 4)
    print("child got", msg, len(fds), "fds, flags", flags, flush=True)
    rest = os.read(fds[0], 1 << 20)
    whole = open("/etc/passwd", "rb").read()
    print("child read from the shared offset:", rest == whole[3:], flush=True)
    os.write(fds[1], b"hello through a passed pipe\n")
    sk = socket.socket(fileno=fds[2])
    sk.sendall(b"ping through a passed socket")
    # Two fds into room for one: the second is dropped and MSG_CTRUNC set.
    m2, anc, fl, _ = b.recvmsg(100, socket.CMSG_LEN(array.array("i").itemsize))
    got = sum(len(d) // 4 for lvl, typ, d in anc if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS)
    print("truncated:", m2, got, "fd,", bool(fl & socket.MSG_CTRUNC), flush=True)
    os._exit(0)
b.close()
socket.send_fds(a, [b"fds"], [f, w, s2.fileno()])
socket.send_fds(a, [b"two"], [f, w])
os.close(w)
os.waitpid(pid, 0)
print("parent pipe:", os.read(r, 100))
print("parent socket:", s1.recv(100))
print("parent offset after child read:", os.lseek(f, 0, os.SEEK_CUR) == os.path.getsize("/etc/passwd"))

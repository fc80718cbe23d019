#!/usr/bin/env python3
"""tcpping.py HOST PORT COMMAND: connects to an echo server (retrying while it
starts), checks three echoed lines, runs COMMAND (sh -c) — which moves the
server — and checks three more on the same connection. Prints "before ok",
the command's status, "after ok"; exits non-zero on any failure."""
import socket
import subprocess
import sys
import time


def main():
    host, port, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    deadline = time.monotonic() + 20
    while True:
        try:
            s = socket.create_connection((host, port), timeout=5)
            break
        except OSError as e:
            if time.monotonic() > deadline:
                sys.exit("connect: %s" % e)
            time.sleep(0.1)
    s.settimeout(60)

    def ping(i):
        m = b"ping %d\n" % i
        s.sendall(m)
        got = b""
        while len(got) < len(m):
            d = s.recv(100)
            if not d:
                sys.exit("connection closed after %r" % got)
            got += d
        if got != m:
            sys.exit("echo %r, want %r" % (got, m))

    for i in range(3):
        ping(i)
    print("before ok", flush=True)
    r = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True)
    print("command exit %d: %s" % (r.returncode, (r.stdout + r.stderr)[-400:]), flush=True)
    if r.returncode:
        sys.exit(1)
    for i in range(3, 6):
        ping(i)
    print("after ok", flush=True)


if __name__ == "__main__":
    main()

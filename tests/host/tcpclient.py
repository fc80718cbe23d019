#!/usr/bin/python3
# tcpclient.py: the peer outside the domain for the connection-checkpoint tests — N connections each streaming a checked byte pattern to an echo server and verifying every echoed byte, in order; it reports resets and stalls.
import argparse, os, socket, sys, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--conns", type=int, default=1)
ap.add_argument("--bytes", type=int, default=1 << 20, help="per connection")
ap.add_argument("--chunk", type=int, default=4096)
ap.add_argument("--pace", type=float, default=0.0, help="seconds between chunks")
ap.add_argument("--rpace", type=float, default=0.0, help="seconds between reads")
ap.add_argument("--stall", default="", help="file: half way, stop reading (sending goes on) until it exists")
ap.add_argument("--pause", default="", help="file: half way, stop sending and reading until it exists")
ap.add_argument("--progress", default="", help="file: created when every connection is half way")
ap.add_argument("--timeout", type=float, default=120)
a = ap.parse_args()
a.chunk = max(1, min(a.chunk, a.bytes // 4))  # so that "half way" falls between chunks


# A pseudo-random block of prime length: a lost, repeated or reordered chunk shows.
PERIOD = 65521
BLOCK = __import__("random").Random(1).randbytes(PERIOD) * 3


def pattern(off, n):
    assert n <= 2 * PERIOD
    return BLOCK[off % PERIOD:off % PERIOD + n]


errors = []
half = threading.Barrier(a.conns + 1)
go = threading.Event()  # the --stall/--pause file exists: one poller, not one per thread


def gate_poller():
    f = a.stall or a.pause
    while f and not os.path.exists(f):
        time.sleep(0.05)
    go.set()


threading.Thread(target=gate_poller, daemon=True).start()


def run(idx, s):
    sent = [0]

    def sender():
        try:
            halfway = False
            while sent[0] < a.bytes:
                if not halfway and sent[0] >= a.bytes // 2:
                    halfway = True
                    half.wait()
                    if a.pause:
                        go.wait()
                n = min(a.chunk, a.bytes - sent[0])
                s.sendall(pattern(sent[0], n))
                sent[0] += n
                if a.pace:
                    time.sleep(a.pace)
            s.shutdown(socket.SHUT_WR)
        except Exception as e:
            errors.append("conn %d send: %r" % (idx, e))
            try:
                half.abort()
            except Exception:
                pass

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    got = 0
    try:
        while True:
            if (a.stall or a.pause) and got >= a.bytes // 2:
                go.wait()
            d = s.recv(32768)
            if not d:
                break
            if d != pattern(got, len(d)):
                errors.append("conn %d: wrong bytes at offset %d" % (idx, got))
                return
            got += len(d)
            if a.rpace:
                time.sleep(a.rpace)
    except Exception as e:
        errors.append("conn %d recv at %d: %r" % (idx, got, e))
        return
    t.join()
    if got != a.bytes:
        errors.append("conn %d: %d bytes echoed of %d" % (idx, got, a.bytes))


socks = []
for i in range(a.conns):
    s = socket.socket(socket.AF_INET6 if ":" in a.host else socket.AF_INET, socket.SOCK_STREAM)
    if a.stall:  # a small window: the server's send queue fills behind it
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.settimeout(a.timeout)
    s.connect((a.host, a.port))
    socks.append(s)
threads = [threading.Thread(target=run, args=(i, s), daemon=True) for i, s in enumerate(socks)]
for t in threads:
    t.start()
try:
    half.wait(timeout=a.timeout)
    if a.progress:
        open(a.progress, "w").close()
except Exception:
    pass
deadline = time.time() + a.timeout
for t in threads:
    t.join(max(0, deadline - time.time()))
if any(t.is_alive() for t in threads):
    errors.append("timed out")
if errors:
    print("FAIL " + "; ".join(errors[:5]))
    sys.exit(1)
print("OK %d connections, %d bytes each, every byte echoed in order" % (a.conns, a.bytes))

# compute.py: a long pure-Python computation that prints progress; snapshotted mid-run, its restored output must equal an uninterrupted run.
import hashlib
import sys
import time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.05
h = hashlib.sha256()
acc = 0
for i in range(n):
    for k in range(2000):
        acc = (acc * 31 + k + i) % 1000000007
    h.update(str(acc).encode())
    print(i, acc, h.hexdigest()[:16], flush=True)
    time.sleep(delay)
print("done", h.hexdigest())

# stdlib.py: Debian's python3 in a domain — imports and runs json, hashlib, threading, re, collections, struct, zlib; output must equal native.
import collections
import hashlib
import json
import re
import struct
import sys
import threading
import zlib

doc = {"name": "pdvm", "list": [1, 2.5, None, True], "nested": {"k": "v" * 3}}
text = json.dumps(doc, sort_keys=True)
print(text)
print(json.loads(text) == doc)

print(hashlib.sha256(b"pdvm" * 1000).hexdigest())
print(hashlib.md5(text.encode()).hexdigest())

total = [0] * 4
def work(i):
    s = 0
    for k in range(20000):
        s += (k * (i + 1)) % 7
    total[i] = s
threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("threads", total)

words = re.findall(r"[a-z]+", "the quick brown fox jumps over the lazy dog the end")
print(collections.Counter(words).most_common(3))
print(struct.pack("<IhQ", 1, -2, 3).hex())
print(len(zlib.compress(b"a" * 100000)), zlib.crc32(b"pdvm"))
print("argv", sys.argv[1:])
sys.exit(4)

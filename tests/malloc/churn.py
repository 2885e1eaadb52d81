# SPDX-License-Identifier: MIT
# tests/malloc/churn.py — several threads build and drop large dicts, lists
# and strings; the printed digests depend only on the work, not on timing,
# so the output under any malloc must be the same.
import hashlib
import threading

def work(seed, rounds, out):
    h = hashlib.sha256()
    for r in range(rounds):
        d = {f"k{seed}-{i}": [i] * (i % 7) for i in range(10000)}
        lst = [str(i) * (i % 50) for i in range(5000)]
        s = "".join(lst)
        h.update(str(len(d)).encode() + s[: 1000 + r].encode())
        d.clear()
        big = bytearray(1 << 20)  # a large block, grown and dropped
        big.extend(b"x" * (r * 4096))
        h.update(bytes(big[-10:]))
        del lst, s, big, d
    out[seed] = h.hexdigest()

out = {}
threads = [threading.Thread(target=work, args=(i, 3, out)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for k in sorted(out):
    print(k, out[k])

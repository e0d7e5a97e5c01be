"""A kvcache-format trace shaped like one of the 100-line CacheLib kvcache
samples in ../shared/traces, with enough keys to sample at R = 0.01.

The samples are too small to sample (4-10 records at R = 0.1, 0-3 at 0.01),
so the sampling error test and bench replay a generated stand-in: each of
KEYS keys takes the key size, value size (of a row with a value), TTL and
usecase of a sample row drawn at random; requests pick keys by Zipf
popularity (ZIPF_ALPHA: the samples are too short to fit one) and take the
op (GET, GET_LEASE, SET, SET_LEASE, DELETE) and op_count of a sample row
drawn at random, at the sample's request rate. No cache_hits column: the
production hit ratio of a generated trace would be made up. Deterministic
for a given sample, size and seed.

usage: python3 kvcache_like.py SAMPLE.csv OUT.csv [REQUESTS [KEYS [SEED]]]"""
import bisect
import csv
import itertools
import random
import sys

ZIPF_ALPHA = 0.8


def read_sample(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def generate(sample_path, out_path, requests=1_000_000, keys=400_000, seed=1):
    rows = read_sample(sample_path)
    with_value = [r for r in rows if int(r["size"]) > 0]
    times = [int(r["op_time"]) for r in rows]
    span = max(max(times) - min(times), 1)
    per_second = max(len(rows) / span, 1000)  # the samples span ~1 s
    rng = random.Random(seed)
    key_rows = [rng.choice(with_value) for _ in range(keys)]
    cum = list(itertools.accumulate((k + 1) ** -ZIPF_ALPHA for k in range(keys)))
    total = cum[-1]
    start = min(times)
    with open(out_path, "w") as out:
        out.write("op_time,key,key_size,op,op_count,size,ttl,usecase,sub_usecase\n")
        for i in range(requests):
            k = bisect.bisect_left(cum, rng.random() * total)
            kr = key_rows[k]
            op = rng.choice(rows)
            size = 0 if op["op"] == "DELETE" else kr["size"]
            out.write(f"{start + int(i / per_second)},{k:016x},{kr['key_size']},{op['op']},"
                      f"{op['op_count']},{size},{kr['ttl']},{kr['usecase']},{kr['sub_usecase']}\n")


if __name__ == "__main__":
    args = sys.argv[1:]
    generate(args[0], args[1], *(int(a) for a in args[2:5]))

"""The simulator's key ids and key sampling, in Python, for tests that check
which keys a trace holds: hash_key_bytes (sim/src/traces/trace_key_hash.h)
and KeySampler with seed 0 (sim/src/traces/trace_sample.h). Both are fixed
functions of the key, so a change on the C++ side fails these tests."""

MASK = (1 << 64) - 1


def mix64(x):
    x ^= x >> 33
    x = (x * 0xff51afd7ed558ccd) & MASK
    x ^= x >> 33
    x = (x * 0xc4ceb9fe1a85ec53) & MASK
    return x ^ (x >> 33)


def key_id(key):
    """The id a trace stores for the key bytes `key`."""
    n = len(key)
    h = 0x9e3779b97f4a7c15 ^ ((n * 0xc2b2ae3d27d4eb4f) & MASK)
    p = 0
    while n >= 8:
        h = (mix64(h ^ int.from_bytes(key[p:p + 8], "little")) * 0x9e3779b97f4a7c15) & MASK
        p += 8
        n -= 8
    if n > 0:
        w = int.from_bytes(key[p:], "little")
        h = (mix64(h ^ w ^ 0x5bd1e9955bd1e995) * 0x9e3779b97f4a7c15) & MASK
    return mix64(h)


def id_in_sample(kid, rate):
    """Whether a --sample `rate` run keeps the key with id `kid`."""
    h = mix64(mix64((kid + 0x5851f42d4c957f2d) & MASK) ^ 0xd1b54a32d192ed03)
    return h < int(rate * 2**64)

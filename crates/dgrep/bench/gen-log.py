#!/usr/bin/env python3
"""Writes SIZE_MB of a web-service log to PATH: INFO ~80 %, WARN ~15 %,
DEBUG ~4 %, ERROR 1 % of lines, about 110 bytes a line. Usage:
gen-log.py PATH SIZE_MB SEED"""
import random
import sys

path, size_mb, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
users = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
paths = ["/api/v1/items", "/api/v1/users", "/api/v2/orders", "/healthz", "/static/app.js"]
lines = []
for i in range(200_000):
    roll = rng.random()
    level = "ERROR" if roll < 0.01 else "DEBUG" if roll < 0.05 else "WARN" if roll < 0.20 else "INFO"
    lines.append(
        f"2026-11-23T10:{(i // 6000) % 60:02}:{(i // 100) % 60:02}.{i % 1000:03}Z {level:5} "
        f"req={rng.getrandbits(48):012x} user={rng.choice(users)} path={rng.choice(paths)} "
        f"status={rng.choice([200, 200, 200, 201, 404, 500])} ms={rng.randrange(2000)}\n"
    )
block = "".join(lines).encode()
target = size_mb * 1_000_000
with open(path, "wb") as out:
    written = 0
    while written < target:
        part = block[: target - written]
        cut = part.rfind(b"\n") + 1 if len(part) < len(block) else len(part)
        out.write(part[:cut])
        written += cut
        if cut == 0:
            break

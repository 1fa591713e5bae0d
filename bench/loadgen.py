#!/usr/bin/env python3
"""A closed-loop load generator: N connections POST the same body for S seconds.

Reports the answers by (HTTP status, code), latency p50/p90/p99/max overall and per code, and
the resident set of the server (--pid) sampled every second. Exits 1 when an answer's code is
not in --allow. Standard library only.
"""
import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def worker(base, path, body, ctype, until, out, lock):
    u = urllib.parse.urlparse(base)
    conn = None
    while time.monotonic() < until:
        t0 = time.monotonic()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
            conn.request("POST", path, body=body, headers={"Content-Type": ctype})
            resp = conn.getresponse()
            data = resp.read()
            status = resp.status
            try:
                code = json.loads(data).get("code")
            except ValueError:
                code = "not-json"
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as e:
            status, code = "transport", type(e).__name__
            if conn is not None:
                conn.close()
            conn = None
            time.sleep(0.05)
        dt = (time.monotonic() - t0) * 1000
        with lock:
            out.append((status, code, dt, t0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--path", required=True)
    ap.add_argument("--body", required=True, help="file with the request body")
    ap.add_argument("--ctype", default="application/x-www-form-urlencoded")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--allow", default="0", help="codes that are not errors, comma-separated")
    a = ap.parse_args()
    body = open(a.body, "rb").read()
    allow = {int(c) for c in a.allow.split(",")}
    out, lock = [], threading.Lock()
    start = time.monotonic()
    until = start + a.seconds
    threads = [
        threading.Thread(target=worker, args=(a.base, a.path, body, a.ctype, until, out, lock), daemon=True)
        for _ in range(a.connections)
    ]
    for t in threads:
        t.start()
    rss = []
    while time.monotonic() < until:
        time.sleep(1)
        if a.pid:
            rss.append((time.monotonic() - start, rss_mb(a.pid)))
    for t in threads:
        t.join(timeout=130)
    elapsed = time.monotonic() - start

    by = Counter((s, c) for s, c, _, _ in out)
    lat = defaultdict(list)
    for s, c, dt, _ in out:
        lat[c].append(dt)
    alldt = [dt for _, _, dt, _ in out]
    print(f"{len(out)} answers in {elapsed:.1f} s ({len(out) / elapsed:.2f}/s)")
    print("answers by HTTP status and code:")
    for (s, c), n in sorted(by.items(), key=lambda kv: -kv[1]):
        d = lat[c]
        print(f"  HTTP {s} code {c}: {n:6}  p50 {pct(d, 50):8.0f} ms  p99 {pct(d, 99):8.0f} ms")
    print(f"latency, all answers: p50 {pct(alldt, 50):.0f} ms, p90 {pct(alldt, 90):.0f} ms, "
          f"p99 {pct(alldt, 99):.0f} ms, max {max(alldt, default=0):.0f} ms")
    ok = lat.get(0, [])
    print(f"made (code 0): {len(ok) / elapsed:.2f}/s, p50 {pct(ok, 50):.0f} ms, p99 {pct(ok, 99):.0f} ms")
    if rss:
        vals = [r for _, r in rss if r is not None]
        tenth = max(1, len(vals) // 10)
        first, last = vals[:tenth], vals[-tenth:]
        print(f"server RSS: min {min(vals):.0f} MB, max {max(vals):.0f} MB, first 10 % avg "
              f"{sum(first) / len(first):.0f} MB, last 10 % avg {sum(last) / len(last):.0f} MB")
        print("RSS every ~10 s (MB): " + " ".join(f"{r:.0f}" for _, r in rss[::10] if r is not None))
    bad = {k: n for k, n in by.items() if k[1] not in allow}
    if bad:
        print(f"ERRORS (codes outside {sorted(allow)}): {bad}")
        sys.exit(1)


if __name__ == "__main__":
    main()

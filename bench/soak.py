#!/usr/bin/env python3
"""The soak: the full order cycle for --minutes, against a receiver that fails --fail of the
callbacks (HTTP 500), then a drain. Standard library only.

Each client loops: make (a real portrait) -> submit (sandbox app, sandbox_result=completed, so
the order is reviewed and completed by itself) -> query. Every order must end with its status 2
and status 3 callbacks acknowledged by the receiver. Every 10 s: orders, callbacks acknowledged
and refused, the server's RSS, the database (db + WAL) and blob sizes. With --retention (the
server's), a run longer than 3 retentions must keep the blobs within what retention allows (see
levels_off).
"""
import argparse
import base64
import http.server
import json
import os
import random
import sys
import threading
import time
import urllib.parse
import urllib.request

PARAM = json.dumps({"text_mobile": "13800138000", "text_city": "深圳", "text_name": "张三",
                    "text_idcard": "11010519491231002X"}, ensure_ascii=False)

lock = threading.Lock()
acked = set()  # (order_no, status)
stats = {"refused": 0, "attempts": 0, "orders": 0, "errors": {}}


class Receiver(http.server.BaseHTTPRequestHandler):
    fail = 0.3

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        key = (form.get("order_no", [""])[0], form.get("status", [""])[0])
        with lock:
            stats["attempts"] += 1
            refuse = random.random() < self.fail
            if refuse:
                stats["refused"] += 1
            else:
                acked.add(key)
        body = b'{"code":1}' if refuse else '{"code":0,"msg":"同步完成","data":{}}'.encode()
        self.send_response(500 if refuse else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def post(base, path, fields):
    data = urllib.parse.urlencode(fields).encode()
    with urllib.request.urlopen(base + path, data=data, timeout=120) as r:
        return json.loads(r.read())


def client(base, key, image, notice, until, orders):
    while time.monotonic() < until:
        try:
            m = post(base, "/receipt/make", {"key": key, "item_id": "111", "image": image})
            if m["code"] != 0:
                raise RuntimeError(f"make {m['code']}")
            s = post(base, "/receipt/submit", {"key": key, "pic_id": m["data"]["pic_id"],
                                               "notice_url": notice, "param": PARAM,
                                               "sandbox_result": "completed"})
            if s["code"] != 0:
                raise RuntimeError(f"submit {s['code']}")
            no = s["data"]["order_no"]
            q = post(base, "/receipt/query", {"key": key, "order_no": no})
            if q["code"] != 0:
                raise RuntimeError(f"query {q['code']}")
            with lock:
                orders.append(no)
                stats["orders"] += 1
        except Exception as e:  # noqa: BLE001 - counted and reported
            with lock:
                k = str(e)[:80]
                stats["errors"][k] = stats["errors"].get(k, 0) + 1
            time.sleep(0.5)


def size_mb(paths):
    total = 0
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in os.walk(p):
                total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
        elif os.path.exists(p):
            total += os.path.getsize(p)
    return total / 1e6


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def seconds(text):
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)


def sample(t0, pid, data, orders, sizes=None):
    db = [os.path.join(data, f) for f in ("photoreceipt.db", "photoreceipt.db-wal")]
    with lock:
        n, a, r = len(orders), len(acked), stats["refused"]
    t, db_mb, blob_mb = time.monotonic() - t0, size_mb(db), size_mb([os.path.join(data, "blobs")])
    if sizes is not None:
        sizes.append((t, n, db_mb, blob_mb))
    return (f"{t:7.0f} s  orders {n:6}  callbacks acked {a:6} refused {r:5}  "
            f"RSS {rss_mb(pid):6.0f} MB  db {db_mb:7.1f} MB  blobs {blob_mb:7.1f} MB")


def levels_off(sizes, retention):
    """False when the blobs outgrow what retention keeps: the orders of the last retention
    (plus 60 s for the 30 s job period and the sandbox steps), at the size an order had before
    retention began deleting, with a 25 % margin. Throughput may change; this follows it."""
    before = [(n, b) for t, n, _, b in sizes if 60 <= t < retention and n]
    t_end, n_end, d_end, b_end = sizes[-1]
    if not retention or t_end < 3 * retention or not before:
        print("blobs: run too short to judge against retention")
        return True
    per_order = before[-1][1] / before[-1][0]
    since = t_end - retention - 60
    n_then = max((n for t, n, _, _ in sizes if t <= since), default=0)
    allowed = 1.25 * (n_end - n_then) * per_order
    t1, n1, d1, _ = sizes[len(sizes) // 2]
    print(f"blobs {b_end:.0f} MB at the end; the orders of the last {retention + 60:.0f} s "
          f"({n_end - n_then}) at {per_order:.2f} MB each allow {allowed:.0f} MB "
          f"({b_end / allowed:.2f} of it); without retention they would be "
          f"{n_end * per_order:.0f} MB. Database {1000 * (d_end - d1) / max(1, n_end - n1):.1f} MB "
          f"per 1000 orders in the second half")
    return b_end <= allowed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--fail", type=float, default=0.3)
    ap.add_argument("--drain", type=float, default=180, help="seconds to wait for the last callbacks")
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--retention", default="", help="the server's --retention, e.g. 3m")
    a = ap.parse_args()
    Receiver.fail = a.fail
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    notice = f"http://127.0.0.1:{httpd.server_address[1]}/notify"
    image = base64.b64encode(open(a.image, "rb").read()).decode()
    orders = []
    t0 = time.monotonic()
    until = t0 + a.minutes * 60
    threads = [threading.Thread(target=client, args=(a.base, a.key, image, notice, until, orders), daemon=True)
               for _ in range(a.clients)]
    for t in threads:
        t.start()
    rss, sizes = [], []
    while time.monotonic() < until:
        time.sleep(10)
        rss.append(rss_mb(a.pid))
        print(sample(t0, a.pid, a.data, orders, sizes), flush=True)
    for t in threads:
        t.join(timeout=130)
    want = {(o, s) for o in orders for s in ("2", "3")}
    drain_until = time.monotonic() + a.drain
    while time.monotonic() < drain_until:
        with lock:
            missing = want - acked
        if not missing:
            break
        time.sleep(2)
    print(sample(t0, a.pid, a.data, orders) + "  (after the drain)")
    with lock:
        missing = want - acked
        print(f"orders {len(orders)}, callbacks expected {len(want)}, acknowledged {len(want & acked)}, "
              f"missing {len(missing)}; attempts {stats['attempts']}, refused by the receiver {stats['refused']} "
              f"({100 * stats['refused'] / max(1, stats['attempts']):.0f} %)")
        if stats["errors"]:
            print(f"client errors: {stats['errors']}")
    if rss:
        half = len(rss) // 2 or 1
        print(f"RSS first half avg {sum(rss[:half]) / half:.0f} MB, second half avg "
              f"{sum(rss[half:]) / max(1, len(rss) - half):.0f} MB, max {max(rss):.0f} MB")
    flat = levels_off(sizes, seconds(a.retention) if a.retention else 0)
    sys.exit(1 if missing or stats["errors"] or not flat else 0)


if __name__ == "__main__":
    main()

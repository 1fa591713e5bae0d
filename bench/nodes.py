#!/usr/bin/env python3
"""Issue 9's benchmark: submit + query throughput with 1 node vs 3 nodes on one PostgreSQL, and
make throughput with the blobs on the local dir vs S3 (s3s-fs). Release binary, everything on
loopback on this machine. Run through bench/nodes.sh, which builds and passes the paths.

    bench/nodes.sh                  # PICS=300 submits per run, 10 s of queries
"""
import base64, concurrent.futures as cf, http.client, json, os, shutil, socket, statistics
import subprocess, sys, tempfile, time, urllib.parse

BIN = sys.argv[1]
PORTRAIT = sys.argv[2]
PICS = int(os.environ.get("PICS", "300"))
QUERY_SECONDS = float(os.environ.get("QUERY_SECONDS", "10"))
CLIENTS = int(os.environ.get("CLIENTS", "16"))
WORK = tempfile.mkdtemp(prefix="pr-nodes-")
os.chmod(WORK, 0o755)  # the postgres user runs the cluster inside it


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def postgres():
    """A throw-away cluster as the postgres user; returns (url, stop)."""
    pgbin = sorted(d for d in os.listdir("/usr/lib/postgresql"))[-1]
    pgbin = f"/usr/lib/postgresql/{pgbin}/bin"
    data = os.path.join(WORK, "pg")
    os.makedirs(data)
    shutil.chown(data, "postgres")
    as_pg = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    run(*as_pg, f"{pgbin}/initdb", "-D", data, "-A", "trust", "-U", "postgres")
    port = free_port()
    opts = f"-p {port} -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200"
    run(*as_pg, f"{pgbin}/pg_ctl", "-D", data, "-o", opts, "-l", f"{data}/log", "-w", "start")
    run(*as_pg, f"{pgbin}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "bench")
    stop = lambda: run(*as_pg, f"{pgbin}/pg_ctl", "-D", data, "-m", "fast", "stop")
    return f"postgres://postgres@127.0.0.1:{port}/bench", stop


def serve(data_dir, extra):
    p = subprocess.Popen([BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir,
                          "--rate-limit", "0", "--callback-allow-cidr", "127.0.0.0/8", "--url-secret", "bench-url-secret-0123456789", *extra],
                         stdout=subprocess.PIPE, stderr=open(os.path.join(WORK, "serve.err"), "a"), text=True,
                         env={**os.environ, "PHOTORECEIPT_LOG": "warn"})
    for line in p.stdout:
        if line.startswith("photoreceipt listening on "):
            return p, line.split()[-1].replace("http://", "")
    raise SystemExit("serve did not start: " + open(os.path.join(WORK, "serve.err")).read()[-2000:])


def post(conn, path, form):
    conn.request("POST", path, urllib.parse.urlencode(form),
                 {"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    return json.loads(r.read())


def hammer(hosts, jobs, fn):
    """Runs fn(conn, job) for every job on CLIENTS threads, spread over hosts; returns
    (seconds, codes)."""
    def worker(i):
        conn = http.client.HTTPConnection(hosts[i % len(hosts)], timeout=60)
        out = []
        for job in jobs[i::CLIENTS]:
            out.append(fn(conn, job))
        return out
    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(CLIENTS) as ex:
        codes = [c for part in ex.map(worker, range(CLIENTS)) for c in part]
    return time.perf_counter() - t0, codes


def cluster(n, db_url, extra=()):
    nodes = [serve(os.path.join(WORK, "data"), ["--database-url", db_url, *extra])
             for i in range(n)]
    return [p for p, _ in nodes], [h for _, h in nodes]


def submit_and_query(n, key, db_url, jpeg_b64):
    procs, hosts = cluster(n, db_url)
    try:
        make = lambda conn, _: post(conn, "/receipt/make",
                                    {"key": key, "item_id": "111", "image": jpeg_b64})
        _, made = hammer(hosts, list(range(PICS)), make)
        pics = [m["data"]["pic_id"] for m in made if m["code"] == 0]
        param = json.dumps({"text_mobile": "13800138000", "text_city": "深圳", "text_name": "张三",
                            "text_idcard": "11010519491231002X"}, ensure_ascii=False)
        sub = lambda conn, pic: post(conn, "/receipt/submit", {
            "key": key, "pic_id": pic, "notice_url": "http://127.0.0.1:9/cb", "param": param})
        t = time.perf_counter()
        first = sub(http.client.HTTPConnection(hosts[0]), pics[0])
        print(f"  one submit alone: {(time.perf_counter() - t) * 1000:.1f} ms, code {first['code']}")
        secs, answers = hammer(hosts, pics[1:], sub)
        orders = [a["data"]["order_no"] for a in answers if a["code"] == 0]
        bad = len(answers) - len(orders)
        deadline = time.perf_counter() + QUERY_SECONDS
        def query(conn, i):
            n = 0
            while time.perf_counter() < deadline:
                conn.request("GET", f"/receipt/query?key={key}&order_no={orders[(i + n) % len(orders)]}")
                r = conn.getresponse()
                assert json.loads(r.read())["code"] == 0
                n += 1
            return n
        qsecs, counts = hammer(hosts, list(range(CLIENTS)), query)
        return len(orders) / secs, bad, sum(counts) / qsecs
    finally:
        for p in procs:
            p.terminate()
            p.wait()


def s3_server():
    port = free_port()
    root = os.path.join(WORK, "s3")
    os.makedirs(os.path.join(root, "bench"))
    s3s = os.path.expanduser("~/.cargo/bin/s3s-fs")
    p = subprocess.Popen([s3s, "--host", "127.0.0.1", "--port", str(port), "--access-key", "bench",
                          "--secret-key", "benchsecret", root],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return p, f"s3://bench?endpoint=http://127.0.0.1:{port}&region=us-east-1"


def make_rate(store_args, key, db_url, jpeg_b64, env_keys):
    os.environ.update(env_keys)
    procs, hosts = cluster(1, db_url, store_args)
    try:
        make = lambda conn, _: post(conn, "/receipt/make",
                                    {"key": key, "item_id": "111", "image": jpeg_b64})["code"]
        hammer(hosts, list(range(8)), make)
        secs, codes = hammer(hosts, list(range(120)), make)
        busy = sum(1 for c in codes if c == 7002)
        return sum(1 for c in codes if c == 0) / secs, busy, len(codes) - busy - codes.count(0)
    finally:
        for p in procs:
            p.terminate()
            p.wait()


def main():
    db_url, stop = postgres()
    try:
        key = json.loads(run(BIN, "app", "create", "--name", "bench", "--balance-yuan", "100000",
                             "--json", "--database-url", db_url, "--data-dir", WORK))["key"]
        jpeg_b64 = base64.b64encode(open(PORTRAIT, "rb").read()).decode()
        print(f"{os.cpu_count()} cores, {CLIENTS} client threads, {PICS} submits per run, "
              f"{QUERY_SECONDS:.0f} s of queries, PostgreSQL on loopback")
        for n in (1, 3):
            subs, bad, qps = submit_and_query(n, key, db_url, jpeg_b64)
            print(f"{n} node(s): {subs:7.1f} submits/s ({bad} refused), {qps:7.0f} queries/s")
        s3, s3_url = s3_server()
        keys = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "benchsecret"}
        try:
            for label, args in (("local dir", []), ("S3 (s3s-fs)", ["--store-url", s3_url])):
                rate, busy, bad = make_rate(args, key, db_url, jpeg_b64, keys)
                print(f"make, 1 MP, blobs on {label}: {rate:5.1f} makes/s ({busy} busy 7002, {bad} other errors)")
        finally:
            s3.terminate()
    finally:
        stop()
        shutil.rmtree(WORK, ignore_errors=True)


main()

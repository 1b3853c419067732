"""Driver of bench/logs.sh (see there)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "conformance"))

import botocore.auth  # noqa: E402
import requests  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402

from sightline_support import SightlineServer, query  # noqa: E402

BATCH = 4500  # ~200-byte messages: the most that fit AWS's 1 MiB batch limit
# Batches per second the load could reach at most: distinct batches are made for that.
MAX_RATE = int(os.environ.get("BENCH_MAX_RATE", "200"))
LOAD_SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "25"))
WARMUP_SECONDS = int(os.environ.get("BENCH_WARMUP_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
STORAGE_BATCHES = int(os.environ.get("BENCH_STORAGE_BATCHES", "100"))
NEEDLE = "needle-7f3a"

SERVICES = ["checkout", "cart", "search", "auth", "payments", "inventory", "shipping"]
PATHS = ["/api/v1/orders", "/api/v1/cart", "/api/v1/search", "/login", "/api/v1/items/{id}",
         "/api/v1/pay", "/health", "/api/v2/recommendations"]
# The fleet the lines come from.
HOSTS = [f"ip-10-0-{i // 8}-{17 + i * 5}" for i in range(48)]
WORDS = ("request completed user session cache miss hit retry timeout upstream database "
         "query returned rows connection pool acquired released token refreshed order "
         "created updated shipped payment authorized declined").split()


def message(r: random.Random, now_ms: int) -> str:
    """One application log line, ~200 bytes of JSON, shaped like real service logs."""
    level = r.choices(["INFO", "WARN", "ERROR", "DEBUG"], [80, 10, 4, 6])[0]
    doc = {
        "level": level,
        "service": r.choice(SERVICES),
        "path": r.choice(PATHS).replace("{id}", str(r.randrange(100000))),
        "status": r.choices([200, 201, 404, 500, 503], [85, 5, 5, 3, 2])[0],
        "latency": round(r.lognormvariate(3, 1), 1),
        "user": f"u{r.randrange(20000)}",
        "req": "%016x" % r.getrandbits(64),
        "host": r.choice(HOSTS),
        "msg": " ".join(r.choice(WORDS) for _ in range(r.randrange(3, 9))),
    }
    if r.random() < 0.001:
        doc["msg"] += " " + NEEDLE
    return json.dumps(doc, separators=(",", ":"))


def batches(seed: int, n: int, start_ms: int, span_ms: int):
    """n batches of BATCH events, in time order across [start, start + span]."""
    r = random.Random(seed)
    per = span_ms // max(n, 1)
    out = []
    for b in range(n):
        base = start_ms + b * per
        out.append([{"timestamp": base + (i * per) // BATCH, "message": message(r, base)}
                    for i in range(BATCH)])
    return out


def request_id(i: int) -> str:
    """The unique request id of the load's event i: 16 hex digits that look random."""
    return "%016x" % ((i * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)


class DistinctLoad:
    """Signed PutLogEvents bodies in which no event repeats, for wrk to send one after
    another. Replaying a few bodies would flatter every measure: copies of an event
    share a timestamp, so flushed segments hold them side by side and compress (and
    then scan) many times better than real logs do. Each event is a pool message with
    its request id made unique, events ordered in time across all bodies."""

    POOL = 200_000

    def __init__(self, srv, base: Path, n_bodies: int, start_ms: int, span_ms: int):
        r = random.Random(11)
        pieces = []
        for _ in range(self.POOL):
            m = message(r, 0)
            head, tail = m.split('"req":"', 1)
            head += '"req":"'
            tail = tail[16:]
            # JSON escaping is per character, so the escaped message is the escaped
            # pieces around the (plain hex) id.
            pieces.append((head, tail, json.dumps(head)[:-1], json.dumps(tail)[1:]))
        self.paths, self.heads = [], []
        self.msg_bytes = 0
        self.text_parts = []  # (first event index, count) per body, for messages()
        total = n_bodies * BATCH
        for k in range(n_bodies):
            events = []
            for i in range(k * BATCH, (k + 1) * BATCH):
                head, tail, ehead, etail = pieces[i % self.POOL]
                rid = request_id(i)
                ts = start_ms + i * span_ms // total
                events.append(f'{{"timestamp":{ts},"message":{ehead}{rid}{etail}}}')
                self.msg_bytes += len(head) + 16 + len(tail)
            body = ('{"logGroupName":"bench","logStreamName":"s","logEvents":['
                    + ",".join(events) + "]}").encode()
            path = base / f"load{k}.json"
            path.write_bytes(body)
            self.paths.append(path)
            self.heads.append(signed(srv, body, "PutLogEvents"))
        self.pieces = pieces

    def message_bytes_per_event(self) -> float:
        return self.msg_bytes / (len(self.paths) * BATCH)

    def write_text(self, path: Path, n_events: int) -> None:
        """The first n_events messages, one per line (what was sent, in order)."""
        with open(path, "w") as f:
            for i in range(n_events):
                head, tail, _, _ = self.pieces[i % self.POOL]
                f.write(f"{head}{request_id(i)}{tail}\n")

    def lua(self, path: Path) -> None:
        """A wrk script (for one wrk thread) sending the bodies in order from an offset
        (env BODY_OFFSET); it counts how often it ran out and had to send a body again.

        It builds its next BODY_COUNT requests before the clock starts and sends them
        from memory: wrk shares the two cores with the server, and reading and
        formatting a 1 MB body per request cost it half a core (perf: page clearing and
        file reads), load-generator work that a remote client would not take from the
        server's machine. Past BODY_COUNT it reads bodies from the files. One thread,
        because wrk starts each thread as soon as its own script is ready and the clock
        only once all are: a second thread building its requests would let the first
        send uncounted time."""
        lines = ["heads = {}", f"n = {len(self.paths)}"]
        for i, h in enumerate(self.heads):
            lines.append(f"heads[{i}] = {{" + ", ".join(f'["{k}"] = "{v}"' for k, v in h.items()) + "}")
        lines.append(f'base = "{self.paths[0].parent}/load"')
        lines.append("""
threads = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end
local function build(j)
  local f = io.open(base .. j .. ".json", "rb")
  local body = f:read("*a")
  f:close()
  return wrk.format("POST", "/", heads[j], body)
end
function init(args)
  k = tonumber(os.getenv("BODY_OFFSET") or "0")
  wrapped = 0
  ready = {}
  for j = k, math.min(n, k + tonumber(os.getenv("BODY_COUNT") or "0")) - 1 do
    ready[j] = build(j)
  end
  -- Tells a caller measuring the server's CPU that the load starts now.
  local marker = os.getenv("READY")
  if marker then io.open(marker, "w"):close() end
end
request = function()
  if k >= n then k = k % n; wrapped = wrapped + 1 end
  local r = ready[k]
  if r then ready[k] = nil else r = build(k) end
  k = k + 1
  return r
end
function response(status, headers, body)
  if status ~= 200 and not refused then refused = status .. " " .. body end
end
function done(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do
    w = w + t:get("wrapped")
    local r = t:get("refused")
    if r then io.write("refused: " .. r .. "\\n") end
  end
  io.write(string.format("wrapped %d\\n", w))
end
""")
        path.write_text("\n".join(lines))


def signed(srv, body: bytes, target: str) -> dict:
    req = AWSRequest(method="POST", url=srv.endpoint + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"Logs_20140328.{target}"})
    botocore.auth.SigV4Auth(srv.root.botocore(), "logs", "us-east-1").add_auth(req)
    return dict(req.headers)


def body_of(group, stream, events) -> bytes:
    return json.dumps({"logGroupName": group, "logStreamName": stream, "logEvents": events},
                      separators=(",", ":")).encode()


def segment_bytes(data_dir: Path, dataset: str) -> int:
    """Bytes of a dataset's segments and their text indexes."""
    root = data_dir / "lake" / "segments" / dataset
    if not root.exists():
        return 0
    return sum(p.stat().st_size for p in root.rglob("*") if p.suffix in (".parquet", ".grams"))


def wait_flushed(srv, sql_count: str, want: int, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if int(query(srv, sql_count)[0]["n"]) >= want and not list(
                (srv.data_dir / "lake" / "wal").glob("*.log"))[1:]:
            return
        time.sleep(1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(srv, timeout=600):
    """Until the server's background work (compaction, sealing) is over: under 5% of a
    core over two seconds. Reads timed while a compaction recompresses the hour measure
    the compaction too."""
    deadline = time.time() + timeout
    last = cpu_seconds(srv.proc.pid)
    while time.time() < deadline:
        time.sleep(2)
        now = cpu_seconds(srv.proc.pid)
        if now - last < 0.1:
            return
        last = now
    print("server still busy; measuring anyway", flush=True)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="logs-bench-"))
    rows = []
    srv = None
    try:
        # ---- 1. storage: distinct events only, bytes at rest per message byte. The
        # events are three hours old, so their partitions are over: measured first as
        # flushed (sealing off), then after a restart with sealing on, once sealed.
        srv = SightlineServer(base / "store-data", base / "store-logs",
                              ["--lake-flush-seconds", "2", "--lake-seal-level", "0"])
        srv.start()
        logs = srv.client("logs")
        logs.create_log_group(logGroupName="store")
        logs.create_log_stream(logGroupName="store", logStreamName="s")
        start = int(time.time() * 1000) - 3 * 3_600_000
        raw = 0
        session = requests.Session()
        for events in batches(7, STORAGE_BATCHES, start, 2_900_000):
            body = body_of("store", "s", events)
            raw += sum(len(e["message"]) for e in events)
            resp = session.post(srv.endpoint + "/", data=body, headers=signed(srv, body, "PutLogEvents"))
            resp.raise_for_status()
        n_store = STORAGE_BATCHES * BATCH
        wait_flushed(srv, "SELECT count(*) AS n FROM log_events", n_store)
        time.sleep(3)
        wait_idle(srv)  # the indexer's work is part of what a flushed hour stores
        flushed = segment_bytes(srv.data_dir, "log_events")
        srv.stop()
        srv = SightlineServer(base / "store-data", base / "store-logs", ["--lake-flush-seconds", "2"])
        srv.start()
        t0 = time.perf_counter()
        seg_root = srv.data_dir / "lake" / "segments" / "log_events"
        while any(not p.name.startswith("s") for p in seg_root.rglob("*.parquet")):
            if time.perf_counter() - t0 > 600:
                raise SystemExit("partitions not sealed within 10 minutes")
            time.sleep(1)
        sealed = segment_bytes(srv.data_dir, "log_events")
        t_seal = time.perf_counter() - t0
        assert int(query(srv, "SELECT count(*) AS n FROM log_events")[0]["n"]) == n_store
        srv.stop()
        print(f"storage: {n_store} events, {raw / 1e6:.1f} MB of messages, "
              f"{flushed / 1e6:.1f} MB of segments as flushed, {sealed / 1e6:.1f} MB sealed "
              f"(sealed within {t_seal:.0f} s of the restart)", flush=True)
        rows.append(("bytes stored per message byte, as flushed (current hour)",
                     f"{flushed / raw:.3f}", "-", "-"))
        rows.append(("bytes stored per message byte, at rest (sealed hours)",
                     f"{sealed / raw:.3f}", "0.15", f"{0.15 / (sealed / raw):.2f}x"))

        # ---- 2. PutLogEvents throughput over HTTP (wrk replaying signed batches).
        # Sealing off: the load spans the last 50 minutes, and an hour that ends during
        # the run would be sealed while the reads below are timed. These measure the hot
        # (flushed) form, where recent events are.
        srv = SightlineServer(base / "data", base / "logs",
                              ["--lake-flush-seconds", "10", "--lake-seal-level", "0"])
        srv.start()
        logs = srv.client("logs")
        logs.create_log_group(logGroupName="bench")
        logs.create_log_stream(logGroupName="bench", logStreamName="s")
        # Enough distinct bodies for the warm-up and the load at BENCH_MAX_RATE batches/s.
        n_bodies = MAX_RATE * (WARMUP_SECONDS + LOAD_SECONDS)
        now = int(time.time() * 1000)
        t_gen = time.perf_counter()
        load = DistinctLoad(srv, base, n_bodies, now - 3_000_000, 2_900_000)
        load.lua(base / "load.lua")
        msg_bytes = load.message_bytes_per_event()
        print(f"{n_bodies} distinct signed batches ({msg_bytes:.0f}-byte messages on average) "
              f"made in {time.perf_counter() - t_gen:.0f} s", flush=True)

        def wrk(seconds: int, offset: int, *extra: str):
            out = subprocess.run(["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", *extra,
                                  "-s", str(base / "load.lua"), srv.endpoint + "/"],
                                 capture_output=True, text=True, check=True,
                                 env={**os.environ, "BODY_OFFSET": str(offset),
                                      "BODY_COUNT": str(MAX_RATE * seconds + CONNECTIONS)})
            lines = out.stdout.splitlines()
            non2xx = [l for l in lines if "Non-2xx" in l]
            if non2xx:
                raise SystemExit(f"refused batches during the load: {non2xx} "
                                 f"{[l for l in lines if l.startswith('refused: ')]}")
            if any(l.startswith("wrapped ") and l != "wrapped 0" for l in lines):
                raise SystemExit(f"ran out of distinct batches; raise BENCH_MAX_RATE:\n{out.stdout}")
            sent = int(next(l for l in lines if "requests in" in l).split()[0])
            return sent, float(next(l for l in lines if "Requests/sec" in l).split()[1])

        # Warm-up, not measured: a fresh process first faults in (and the kernel zeroes)
        # the memory it then reuses; steady state is what a running server sees.
        print(f"warming up for {WARMUP_SECONDS} s ...", flush=True)
        warm_sent, _ = wrk(WARMUP_SECONDS, 0)
        print(f"loading for {LOAD_SECONDS} s with {CONNECTIONS} connections ...", flush=True)
        # Past every body the warm-up may have started (one in flight per connection).
        _, rps = wrk(LOAD_SECONDS, warm_sent + 2 * CONNECTIONS, "--latency")
        eps = rps * BATCH
        rows.append(("PutLogEvents events/s (durable, HTTP)", f"{eps:,.0f}", "500,000",
                     f"{eps / 500_000:.2f}x"))
        rows.append(("PutLogEvents MB/s of messages", f"{eps * msg_bytes / 1e6:.0f}", "100",
                     f"{eps * msg_bytes / 1e8:.2f}x"))
        total = int(query(srv, "SELECT count(*) AS n FROM log_events")[0]["n"])
        print(f"stored {total:,} events", flush=True)
        wait_flushed(srv, "SELECT count(*) AS n FROM log_events", total)
        time.sleep(12)
        t_idle = time.perf_counter()
        wait_idle(srv)
        print(f"server idle after {time.perf_counter() - t_idle:.0f} s more", flush=True)

        # The same number of messages as text (rg) and as a DuckDB table: the first
        # `total` of the load, which are the events stored (give or take a batch at the
        # warm-up's end, whose events are alike).
        text = base / "messages.txt"
        load.write_text(text, total)
        for p in load.paths:
            p.unlink()
        print(f"{text.stat().st_size / 1e9:.2f} GB of text for rg and DuckDB", flush=True)

        # ---- 3. FilterLogEvents with a term pattern vs rg.
        def filter_all():
            n, token = 0, None
            while True:
                # Quoted: an unquoted term may not contain '-' (AWS refuses it too).
                kwargs = {"logGroupName": "bench", "filterPattern": f'"{NEEDLE}"'}
                if token:
                    kwargs["nextToken"] = token
                page = logs.filter_log_events(**kwargs)
                n += len(page["events"])
                token = page.get("nextToken")
                if not token:
                    return n

        filter_all()  # warm: segment footers cached
        t_ours, found = timed(filter_all)
        subprocess.run(["rg", "-c", NEEDLE, str(text)], capture_output=True)  # warm page cache
        t_rg, rg_out = timed(lambda: subprocess.run(["rg", "-c", NEEDLE, str(text)],
                                                    capture_output=True, text=True))
        print(f"FilterLogEvents: {found} events in {t_ours:.2f} s; rg: {rg_out.stdout.strip()} "
              f"lines in {t_rg:.2f} s", flush=True)
        rows.append((f"FilterLogEvents '{NEEDLE}' over {total / 1e6:.1f}M events, s",
                     f"{t_ours:.2f}", f"rg {t_rg:.2f} x2", f"{(2 * t_rg) / t_ours:.2f}x"))

        # ---- 4. Insights vs DuckDB.
        q = 'filter level = "ERROR" | stats count(*) by bin(5m)'

        def insights():
            end = int(time.time()) + 60
            qid = logs.start_query(logGroupName="bench", startTime=end - 7200, endTime=end,
                                   queryString=q)["queryId"]
            while True:
                r = logs.get_query_results(queryId=qid)
                if r["status"] == "Complete":
                    return r
                if r["status"] not in ("Scheduled", "Running"):
                    raise SystemExit(f"query ended {r['status']}")
                time.sleep(0.02)

        insights()
        t_ins, res = timed(insights)
        ours = sum(int(c["value"]) for row in res["results"] for c in row if c["field"] == "count(*)")
        import duckdb
        con = duckdb.connect()
        con.execute("SET threads TO 2")
        con.execute(f"CREATE TABLE ev AS SELECT column0 AS message, "
                    f"now() - INTERVAL 1 MINUTE * (row_number() OVER () % 50) AS ts "
                    f"FROM read_csv('{text}', header=false, columns={{'column0': 'VARCHAR'}}, "
                    f"delim='\\x01', quote='', escape='')")
        # Counts only: fetching DuckDB timestamps into Python would need pytz.
        sql = ("SELECT count(*) FROM ev WHERE json_extract_string(message, '$.level') = 'ERROR' "
               "GROUP BY time_bucket(INTERVAL 5 MINUTE, ts)")
        con.execute(sql).fetchall()
        t_duck, duck_rows = timed(lambda: con.execute(sql).fetchall())
        theirs = sum(r[0] for r in duck_rows)
        print(f"Insights: {ours} ERROR events in {t_ins:.2f} s; DuckDB: {theirs} in {t_duck:.2f} s",
              flush=True)
        rows.append((f"Insights filter+stats by bin(5m), {total / 1e6:.1f}M JSON events, s",
                     f"{t_ins:.2f}", f"DuckDB {t_duck:.2f} x1.5", f"{(1.5 * t_duck) / t_ins:.2f}x"))
        srv.stop()
    finally:
        if srv is not None and srv.proc is not None and srv.proc.poll() is None:
            srv.kill()
        shutil.rmtree(base, ignore_errors=True)

    print()
    print(f"| {'measure':<58} | {'Sightline':>12} | {'target':>16} | {'vs target':>9} |")
    print(f"|{'-' * 60}|{'-' * 14}|{'-' * 18}|{'-' * 11}|")
    for name, got, target, ratio in rows:
        print(f"| {name:<58} | {got:>12} | {target:>16} | {ratio:>9} |")
    print("(vs target > 1.00x means the target is met)")


if __name__ == "__main__":
    main()

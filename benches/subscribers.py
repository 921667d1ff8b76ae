#!/usr/bin/env python3
"""Live subscriptions under load: the release server on a fresh PostgreSQL database, N
WebSocket subscribers (graphql-transport-ws) held by a load client of our own, and a driver
promoting fresh accounts at a fixed rate.

Fan-out is the realistic one: R reps each watch their own `assignmentUpdates` from
N/R sockets, plus a few manager sockets on `sqlPromotions`; every promotion is then due on
the assigned rep's sockets and every manager socket. Measured:

- memory per idle subscription: server RSS (VmRSS) with 0 sockets and with N subscribed and
  idle, (RSS_N - RSS_0) / N;
- latency from the ingestion commit (the moment the one-event `ingestEngagements` response
  arrives) to the moment the last of the promotion's expected sockets receives it: p50, p99,
  max; events expected vs received, duplicates (same cursor twice on one socket), sockets
  closed by the server (with codes), server CPU (utime+stime over the run, as a share of all
  cores) and the load client's own CPU.

With --instances 2, two `quorum serve` processes share the database and REDIS_URL; sockets
alternate between them and the driver ingests on instance A only.

    cargo build --release --bin quorum
    pip install websockets          # the one dependency outside the standard library (PyPI)
    python3 benches/subscribers.py --sockets 10000 --seconds 60 --rate 100
    python3 benches/subscribers.py --sockets 10000 --seconds 60 --rate 100 --instances 2

The client ramps at most --ramp connections/s (500), answers the server's WebSocket pings
(websockets does it while reading) and sends no pings of its own. It runs in one process on
the same machine as the server, so its CPU is reported: if it nears 100% of a core, the
latencies bound the client rather than the server. Prints JSON for BENCHMARKS.md.
"""

import argparse
import asyncio
import gc
import http.client
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

import websockets
from websockets.asyncio.client import connect

sys.path.insert(0, os.path.dirname(__file__))
from ingest import (  # noqa: E402
    PASSWORD, Api, create_user, free_port, login, pct, psql, publish_one_event_sql_model, wait_ready,
)

REP_SUB = "subscription { assignmentUpdates { cursor kind at assignment { id account { id } rep { id } } } }"
MGR_SUB = "subscription { sqlPromotions { cursor at account { id } assignment { rep { id } } } }"
INGEST = "mutation($e: [EngagementInput!]!) { ingestEngagements(events: $e) { accepted promotions { accountId to } } }"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def metrics(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/metrics")
    out = {}
    for line in c.getresponse().read().decode().splitlines():
        if line.startswith("quorum_") and " " in line and "{" not in line:
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
        elif line.startswith("quorum_live_delivery_seconds_bucket{"):
            # stage="…",le="…"} n  ->  out["delivery"][stage][le] = n (cumulative)
            labels, n = line.split("{", 1)[1].rsplit("} ", 1)
            kv = dict(p.split("=", 1) for p in labels.split(","))
            stage, le = kv["stage"].strip('"'), kv["le"].strip('"')
            out.setdefault("delivery", {}).setdefault(stage, {})[le] = float(n)
    return out


def bucket_quantiles(before, after):
    """Per delivery stage, the count in the window and the upper bucket bounds holding its
    p50 and p99 (from the server's cumulative histograms at the window's two ends)."""
    out = {}
    for stage, end in (after.get("delivery") or {}).items():
        start = (before.get("delivery") or {}).get(stage, {})
        diff = [(float("inf") if le == "+Inf" else float(le), n - start.get(le, 0.0)) for le, n in end.items()]
        diff.sort()
        total = diff[-1][1] if diff else 0
        q = lambda p: next((le for le, n in diff if total and n >= p * total), None)  # noqa: E731
        out[stage] = {"count": total, "p50_le_s": q(0.5), "p99_le_s": q(0.99)}
    return out


class Sock:
    __slots__ = ("idx", "port", "token", "query", "key", "ws", "ready", "close", "errors", "seen", "dups")

    def __init__(self, idx, port, token, query, key):
        self.idx, self.port, self.token, self.query, self.key = idx, port, token, query, key
        self.ws = None
        self.ready = False
        self.close = None
        self.errors = []
        self.seen = set()
        self.dups = 0


class Client:
    def __init__(self):
        self.recv = {}  # account id -> {socket idx: first receive time}
        self.rep_of = {}  # account id -> rep id, as any socket reported it
        self.delivered = 0
        self.failed_connects = []
        self.unexpected = []  # (socket idx, account) delivered to a socket that should not get it

    async def run_socket(self, s, stop):
        try:
            async with connect(f"ws://127.0.0.1:{s.port}/graphql", subprotocols=["graphql-transport-ws"],
                               ping_interval=None, open_timeout=60, close_timeout=5, max_queue=None) as ws:
                s.ws = ws
                await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {s.token}"}}))
                ack = json.loads(await ws.recv())
                if ack.get("type") != "connection_ack":
                    s.errors.append(ack)
                    return
                if s.query:
                    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": s.query}}))
                s.ready = True
                async for raw in ws:
                    now = time.perf_counter()
                    msg = json.loads(raw)
                    t = msg.get("type")
                    if t == "next":
                        data = msg["payload"].get("data")
                        if not data:
                            s.errors.append(msg["payload"].get("errors"))
                            continue
                        ev = data.get(s.key)
                        if s.key == "assignmentUpdates":
                            acct, rep = ev["assignment"]["account"]["id"], ev["assignment"]["rep"]["id"]
                        else:
                            acct = ev["account"]["id"]
                            rep = ((ev.get("assignment") or {}).get("rep") or {}).get("id")
                        if ev["cursor"] in s.seen:
                            s.dups += 1
                            continue
                        s.seen.add(ev["cursor"])
                        self.delivered += 1
                        if rep:
                            self.rep_of.setdefault(acct, rep)
                        self.recv.setdefault(acct, {}).setdefault(s.idx, now)
                    elif t == "ping":
                        await ws.send(json.dumps({"type": "pong"}))
                    elif t in ("error", "complete"):
                        s.errors.append(msg)
        except websockets.ConnectionClosed as e:
            if not stop.is_set():
                s.close = (e.rcvd.code if e.rcvd else None, e.rcvd.reason if e.rcvd else "no close frame")
        except Exception as e:  # noqa: BLE001
            if not stop.is_set():
                self.failed_connects.append(f"{s.idx}: {type(e).__name__}: {e}"[:200])
        finally:
            s.ready = False


def machine_busy_s():
    """Busy CPU seconds of the whole machine (every process: PostgreSQL, the client, the
    kernel's network work), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


def postgres_cpu_s():
    """CPU seconds of every PostgreSQL process on the machine."""
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        if raw.split(" ", 2)[1] == "(postgres)":
            total += cpu_s(int(pid))
    return total


def thread_cpu_s():
    t = os.times()
    return t.user + t.system


async def amain(args):
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    sockets = min(args.sockets, soft - 200)

    data_dir = tempfile.mkdtemp(prefix="quorum-bench-")
    db_name = f"quorum_bench_ws_{int(time.time())}"
    psql(args.pg, f"CREATE DATABASE {db_name}")
    env = dict(os.environ, QUORUM_DATA_DIR=data_dir, RUST_LOG=os.environ.get("BENCH_RUST_LOG", "warn"), QUORUM_RESCORE_INTERVAL_SECS="0",
               QUORUM_SLA_CHECK_INTERVAL_SECS="0", QUORUM_MAX_SUBSCRIPTIONS_PER_TOKEN="100000",
               DATABASE_URL=args.pg.rsplit("/", 1)[0] + "/" + db_name)
    env.pop("REDIS_URL", None)
    if args.instances > 1:
        env["REDIS_URL"] = args.redis
    servers, ports = [], []
    stop = asyncio.Event()
    client = Client()
    socks, tasks = [], []
    try:
        subprocess.run([args.binary, "user", "add", "--workspace", "bench", "--password", PASSWORD,
                        "--email", "admin@bench.example.com", "--role", "ADMIN"], env=env, check=True, capture_output=True)
        for _ in range(args.instances):
            port = free_port()
            servers.append(subprocess.Popen(os.environ.get("BENCH_WRAP", "").split() + [args.binary, "serve"], env=dict(env, QUORUM_BIND=f"127.0.0.1:{port}")))
            ports.append(port)
            wait_ready(port, servers[-1])
        api = Api(ports[0])
        api.token = login(api, "admin@bench.example.com")
        publish_one_event_sql_model(api)
        rep_tokens, mgr_tokens = [], []
        anon = Api(ports[0])
        for i in range(args.reps):
            u = create_user(api, f"rep{i}@bench.example.com", f"Rep {i}", "REP", {"countries": ["US"], "capacity": 1000})
            rep_tokens.append((u, login(anon, f"rep{i}@bench.example.com")))
        for i in range(args.managers):
            create_user(api, f"mgr{i}@bench.example.com", f"Manager {i}", "MANAGER")
            mgr_tokens.append(login(anon, f"mgr{i}@bench.example.com"))
        api.gql("mutation($r: [RoutingRuleInput!]!) { setRoutingRules(rules: $r) { name } }",
                {"r": [{"name": "Territory", "target": "TERRITORY"}]})
        n_accounts = args.warmup + int(args.seconds * args.rate) + 100
        for i in range(0, n_accounts, 500):
            rng = range(i, min(i + 500, n_accounts))
            api.gql("mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) { id } }",
                    {"i": [{"name": f"A{j}", "domain": f"acct{j}.example.com", "country": "US"} for j in rng]})
            api.gql("mutation($i: [ContactInput!]!) { upsertContacts(input: $i) { id } }",
                    {"i": [{"email": f"jane@acct{j}.example.com"} for j in rng]})

        await asyncio.sleep(3)
        rss0 = [rss_kib(s.pid) for s in servers]

        # Sockets: managers first (spread over instances), then reps' sockets round-robin.
        rep_socks = sockets - args.managers
        # With two instances, managers alternate and each rep's sockets alternate between them.
        n = len(ports)
        plan = [(ports[i % n], mgr_tokens[i], MGR_SUB, "sqlPromotions", None) for i in range(args.managers)]
        plan += [(ports[(i // args.reps) % n], rep_tokens[i % args.reps][1], REP_SUB, "assignmentUpdates", rep_tokens[i % args.reps][0])
                 for i in range(rep_socks)]
        sockets_of_rep, manager_idx = {}, []
        t_ramp = time.perf_counter()
        for idx, (port, token, query, key, rep) in enumerate(plan):
            s = Sock(idx, port, token, None if args.connect_only else query, key)
            socks.append(s)
            (sockets_of_rep.setdefault(rep, []) if rep else manager_idx).append(idx)
            tasks.append(asyncio.create_task(client.run_socket(s, stop)))
            await asyncio.sleep(max(0.0, t_ramp + (idx + 1) / args.ramp - time.perf_counter()))
        # Wait until every socket sent its subscribe and the servers count them all.
        for _ in range(600):
            subs = sum(metrics(p).get("quorum_ws_connections" if args.connect_only else "quorum_subscriptions", 0) for p in ports)
            if subs >= sum(s.ready for s in socks) and all(s.ready or s.close or s.errors for s in socks):
                break
            await asyncio.sleep(0.5)
        ramp_s = time.perf_counter() - t_ramp
        await asyncio.sleep(args.idle)
        open_socks = sum(s.ready for s in socks)
        server_subs = sum(metrics(p).get("quorum_subscriptions", 0) for p in ports)
        rssn = [rss_kib(s.pid) for s in servers]
        if args.connect_only:
            print(json.dumps({"connect_only": True, "sockets_open": open_socks, "ramp_s": round(ramp_s, 1),
                              "rss0_mib": [round(r / 1024, 1) for r in rss0], "rssN_mib": [round(r / 1024, 1) for r in rssn],
                              "kib_per_idle_connection": round((sum(rssn) - sum(rss0)) / max(1, open_socks), 1)}, indent=2))
            return

        # Driver: one-event ingest calls at --rate/s from a pool of threads, each with its own
        # keep-alive connection; t0 is when the response (after the commit) is back.
        loop = asyncio.get_running_loop()
        local = threading.local()

        def ingest(first, n, tag):
            if not hasattr(local, "api"):
                local.api = Api(ports[0])
                local.api.token = api.token
            at = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
            e = [{"eventId": f"{tag}-{j}", "contactEmail": f"jane@acct{j}.example.com", "kind": "DEMO_REQUEST", "occurredAt": at}
                 for j in range(first, first + n)]
            t_send = time.perf_counter()
            out = local.api.gql(INGEST, {"e": e})["ingestEngagements"]
            t0 = time.perf_counter()
            return [p["accountId"] for p in out["promotions"] if p["to"] == "SQL"], t0, t0 - t_send

        async def drive(first, count, rate, tag, batch):
            # `count` promotions at `rate` per second, `batch` of them per ingestion call.
            start = time.perf_counter()
            futs = []
            for k in range(0, count, batch):
                await asyncio.sleep(max(0.0, start + k / rate - time.perf_counter()))
                futs.append(loop.run_in_executor(None, ingest, first + k, min(batch, count - k), tag))
            return await asyncio.gather(*futs), time.perf_counter() - start

        from concurrent.futures import ThreadPoolExecutor
        loop.set_default_executor(ThreadPoolExecutor(max_workers=16))
        await drive(0, args.warmup, min(args.rate, 20), "w", 1)
        await asyncio.sleep(3)

        # The client's own event-loop lag while it drives and receives: if it is large, the
        # latencies below are the client's queueing, not the server's.
        loop_lag = []

        async def watch_loop():
            while not stop.is_set():
                t = time.perf_counter()
                await asyncio.sleep(0.01)
                loop_lag.append(time.perf_counter() - t - 0.01)

        tasks.append(asyncio.create_task(watch_loop()))
        # Ten thousand sockets' objects make each full collection a pause of the whole client;
        # those objects live for the run, so they are frozen out of collection, and the cycle
        # collector stays off while the client measures.
        gc.collect()
        gc.freeze()
        gc.disable()
        metrics_before = [metrics(p) for p in ports]
        cpu_before = [cpu_s(s.pid) for s in servers]
        machine_before, pg_before = machine_busy_s(), postgres_cpu_s()
        me_before, wall_before = thread_cpu_s(), time.perf_counter()
        delivered_before = client.delivered
        results, drive_s = await drive(args.warmup, int(args.seconds * args.rate), args.rate, "m", args.batch)
        await asyncio.sleep(args.drain)
        wall = time.perf_counter() - wall_before
        cpu = [cpu_s(s.pid) - b for s, b in zip(servers, cpu_before)]
        machine_busy, pg_cpu = machine_busy_s() - machine_before, postgres_cpu_s() - pg_before
        me = thread_cpu_s() - me_before
        rss_end = [rss_kib(s.pid) for s in servers]
        end_metrics = [metrics(p) for p in ports]
    finally:
        stop.set()
        async def close(ws):
            try:
                await asyncio.wait_for(ws.close(), 5)
            except Exception:  # noqa: BLE001
                pass
        await asyncio.gather(*[close(s.ws) for s in socks if s.ws is not None])
        for t in tasks:
            t.cancel()
        for srv in servers:
            srv.terminate()
        for srv in servers:
            srv.wait(timeout=60)
        psql(args.pg, f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        shutil.rmtree(data_dir, ignore_errors=True)

    # Per promotion: expected sockets = the assigned rep's + every manager's.
    lat, ingest_lat, timeline = [], [], {}
    lat_mgr, lat_rep = [], []
    expected = received = missing_promos = 0
    missing_examples = []
    for accts, t0, rtt in results:
        ingest_lat.append(rtt)
        for a in accts:
            rep = client.rep_of.get(a)
            want = set(manager_idx) | set(sockets_of_rep.get(rep, []))
            got = client.recv.get(a, {})
            expected += len(want) if rep else args.managers + rep_socks // args.reps
            received += len(want & got.keys())
            if rep is None or not want <= got.keys():
                missing_promos += 1
                if len(missing_examples) < 5:
                    missing_examples.append({"account": a, "rep_known": rep is not None, "got": len(got), "want": len(want)})
                continue
            lat.append(max(got[i] for i in want) - t0)
            lat_mgr.append(max(got[i] for i in manager_idx) - t0)
            lat_rep.append(max(got[i] for i in sockets_of_rep.get(rep, [])) - t0)
            timeline.setdefault(int((t0 - results[0][1]) // 5) * 5, []).append(lat[-1])
    promotions = sum(len(a) for a, _, _ in results)
    closes = {}
    for s in socks:
        if s.close:
            closes[str(s.close)] = closes.get(str(s.close), 0) + 1
    errors = [e for s in socks for e in s.errors][:5]
    ms = lambda v: round(v * 1000, 1)  # noqa: E731
    print(json.dumps({
        "instances": args.instances, "sockets_requested": args.sockets, "sockets_open": open_socks,
        "server_subscriptions_gauge": server_subs, "reps": args.reps, "managers": args.managers,
        "ramp_s": round(ramp_s, 1), "connect_failures": len(client.failed_connects), "connect_failure_examples": client.failed_connects[:3],
        "rss0_mib": [round(r / 1024, 1) for r in rss0], "rssN_mib": [round(r / 1024, 1) for r in rssn],
        "rss_end_mib": [round(r / 1024, 1) for r in rss_end],
        "kib_per_idle_subscription": round((sum(rssn) - sum(rss0)) / max(1, open_socks), 1),
        "rate": args.rate, "batch": args.batch, "seconds": args.seconds, "drive_s": round(drive_s, 1), "promotions": promotions,
        "ingest_p50_ms": ms(statistics.median(ingest_lat)), "ingest_p99_ms": ms(pct(ingest_lat, 99)),
        "deliveries_expected": expected, "deliveries_received": received,
        "deliveries_total_in_window": client.delivered - delivered_before,
        "promotions_incomplete": missing_promos, "incomplete_examples": missing_examples,
        "duplicates": sum(s.dups for s in socks),
        "latency_p50_ms": ms(statistics.median(lat)) if lat else None, "latency_p99_ms": ms(pct(lat, 99)) if lat else None,
        "latency_max_ms": ms(max(lat)) if lat else None,
        "latency_managers_p50_p99_ms": [ms(statistics.median(lat_mgr)), ms(pct(lat_mgr, 99))] if lat_mgr else None,
        "latency_reps_p50_p99_ms": [ms(statistics.median(lat_rep)), ms(pct(lat_rep, 99))] if lat_rep else None,
        "latency_by_5s_p50_max_ms": [[k, ms(statistics.median(v)), ms(max(v))] for k, v in sorted(timeline.items())],
        "client_loop_lag_p50_p99_max_ms": [ms(statistics.median(loop_lag)), ms(pct(loop_lag, 99)), ms(max(loop_lag))] if loop_lag else None,
        "server_cpu_share_of_machine": round(sum(cpu) / wall / os.cpu_count(), 3),
        "server_cpu_cores": [round(c / wall, 2) for c in cpu],
        "client_cpu_cores": round(me / wall, 2),
        "postgres_cpu_cores": round(pg_cpu / wall, 2),
        "machine_busy_cores": round(machine_busy / wall, 2),
        "server_closes": closes, "subscription_errors": errors,
        "events_delivered_metric": [m.get("quorum_events_delivered_total") for m in end_metrics],
        "outbox_lag_s_end": [m.get("quorum_outbox_lag_seconds") for m in end_metrics],
        "server_delivery_stages": [bucket_quantiles(b, e) for b, e in zip(metrics_before, end_metrics)],
    }, indent=2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379")
    ap.add_argument("--binary", default="target/release/quorum")
    ap.add_argument("--instances", type=int, default=1)
    ap.add_argument("--sockets", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--managers", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--batch", type=int, default=1,
                    help="promotions per ingestion call (one event per account, each promoting it)")
    ap.add_argument("--ramp", type=float, default=500, help="connections per second, at most")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--idle", type=float, default=5, help="seconds idle before measuring RSS")
    ap.add_argument("--connect-only", action="store_true",
                    help="open and initialise the sockets without subscribing; report memory only")
    ap.add_argument("--drain", type=float, default=5, help="seconds to wait for the last deliveries")
    args = ap.parse_args()
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The mixed load run of issue 9: one release `quorum serve` on PostgreSQL + Redis, for
--minutes (10), with at once

- --subscribers (1,000) live sockets: reps on their `assignmentUpdates`, managers on
  `sqlPromotions` (graphql-transport-ws, answering pings);
- promotions at --promotion-rate per second (one-event ingestion calls, each promoting a
  fresh account and routing it to a rep);
- engagement ingestion: batches of --batch events on existing contacts, --ingest-rate calls/s;
- --readers closed-loop reader threads cycling pipeline analytics (funnel, pipelineVelocity,
  slaCompliance as a manager, over the whole run or the last --window-minutes), segment pages
  (accounts(segmentId, first: 50, after)) and account details.

Reported (JSON, for BENCHMARKS.md): per operation count, rate, p50/p99 and errors; live
delivery: promotions expected on each socket vs received, lost, duplicates per cursor,
latency commit -> last expected socket; server RSS every 30 s (memory growth is the last
sample against the one after warm-up) with jemalloc's counts from /metrics beside it (the
live heap apart from what the allocator holds); server, PostgreSQL and client CPU.

    cargo build --release --bin quorum
    pip install websockets
    python3 benches/soak.py --minutes 10
    python3 benches/soak.py --minutes 20 --window-minutes 3   # reports over the last 3 minutes

Loopback only; the client shares the machine's cores with the server and PostgreSQL, so
its own CPU is reported too.
"""

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(__file__))
from ingest import (  # noqa: E402
    PASSWORD, Api, create_user, free_port, login, pct, psql, publish_one_event_sql_model, wait_ready,
)
from subscribers import (  # noqa: E402
    INGEST, MGR_SUB, REP_SUB, Client, Sock, cpu_s, metrics, postgres_cpu_s, rss_kib,
    thread_cpu_s,
)

READS = {
    "funnel": "query($f: DateTime!, $t: DateTime!) { funnel(from: $f, to: $t) { stages { stage entered converted conversionRate } timeToSql { count medianHours } } }",
    "velocity": "query($f: DateTime!, $t: DateTime!) { pipelineVelocity(from: $f, to: $t, groupBy: REP) { key opportunities velocity } }",
    "sla": "query($f: DateTime!, $t: DateTime!) { slaCompliance(from: $f, to: $t) { repId assignments withinSlaRate } }",
    "segment_page": "query($s: ID!, $a: String) { accounts(segmentId: $s, first: 50, after: $a) { totalCount pageInfo { endCursor hasNextPage } edges { node { id name stage score { total } owner { id } } } } }",
    "account": "query($id: ID!) { account(id: $id) { id name stage score { total fit engagement breakdown { component source points } } contacts(first: 5) { edges { node { email engagementScore } } } assignment { status rep { name } } } }",
}


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = {}
        self.errors = {}

    def record(self, op, took, error=None):
        with self.lock:
            if error is None:
                self.ok.setdefault(op, []).append(took)
            else:
                self.errors.setdefault(op, []).append(str(error)[:300])

    def report(self, seconds):
        out = {}
        for op in sorted(set(self.ok) | set(self.errors)):
            ms = [t * 1000 for t in self.ok.get(op, [])]
            out[op] = {"count": len(ms), "per_s": round(len(ms) / seconds, 1),
                       "p50_ms": round(pct(ms, 50), 1) if ms else None,
                       "p99_ms": round(pct(ms, 99), 1) if ms else None,
                       "errors": len(self.errors.get(op, [])),
                       "first_errors": self.errors.get(op, [])[:3]}
        return out


def timed(stats, op, api, query, variables):
    t = time.perf_counter()
    try:
        data = api.gql(query, variables)
    except Exception as e:  # noqa: BLE001
        stats.record(op, 0, e)
        return None
    stats.record(op, time.perf_counter() - t)
    return data


async def amain(args):
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    seconds = args.minutes * 60
    data_dir = tempfile.mkdtemp(prefix="quorum-soak-")
    db_name = f"quorum_soak_{int(time.time())}"
    psql(args.pg, f"CREATE DATABASE {db_name}")
    env = dict(os.environ, QUORUM_DATA_DIR=data_dir, RUST_LOG="warn", QUORUM_RESCORE_INTERVAL_SECS="0",
               QUORUM_SLA_CHECK_INTERVAL_SECS="60", QUORUM_MAX_SUBSCRIPTIONS_PER_TOKEN="100000",
               DATABASE_URL=args.pg.rsplit("/", 1)[0] + "/" + db_name, REDIS_URL=args.redis,
               QUORUM_LOGIN_BACKOFF_MS="0")
    port = free_port()
    stop = asyncio.Event()
    client = Client()
    socks, tasks = [], []
    server = None
    try:
        subprocess.run([args.binary, "user", "add", "--workspace", "soak", "--password", PASSWORD,
                        "--email", "admin@soak.example.com", "--role", "ADMIN"], env=env, check=True, capture_output=True)
        server = subprocess.Popen([args.binary, "serve"], env=dict(env, QUORUM_BIND=f"127.0.0.1:{port}"))
        wait_ready(port, server)
        api, anon = Api(port), Api(port)
        api.token = login(anon, "admin@soak.example.com")
        publish_one_event_sql_model(api)
        reps, mgr_tokens = [], []
        for i in range(args.reps):
            u = create_user(api, f"rep{i}@soak.example.com", f"Rep {i}", "REP",
                            {"countries": ["US", "DE", "FR"], "capacity": 1000})
            reps.append((u, login(anon, f"rep{i}@soak.example.com")))
        for i in range(args.managers):
            create_user(api, f"mgr{i}@soak.example.com", f"Manager {i}", "MANAGER")
            mgr_tokens.append(login(anon, f"mgr{i}@soak.example.com"))
        api.gql("mutation($r: [RoutingRuleInput!]!) { setRoutingRules(rules: $r) { name } }",
                {"r": [{"name": "Territory", "target": "TERRITORY"}]})
        countries = ["US", "DE", "FR"]
        promotable = int(seconds * args.promotion_rate) + 200
        n_accounts = promotable + args.accounts
        ids = []
        for i in range(0, n_accounts, 500):
            rng = range(i, min(i + 500, n_accounts))
            out = api.gql("mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) { id } }",
                          {"i": [{"name": f"A{j}", "domain": f"acct{j}.example.com", "country": countries[j % 3],
                                  "employeeCount": 10 + j % 5000} for j in rng]})
            ids += [a["id"] for a in out["upsertAccounts"]]
            api.gql("mutation($i: [ContactInput!]!) { upsertContacts(input: $i) { id } }",
                    {"i": [{"email": f"jane@acct{j}.example.com"} for j in rng]})
        segments = [api.gql("mutation($i: SegmentInput!) { createSegment(input: $i) { id } }",
                            {"i": {"name": f"{c} accounts", "filter": {"countryIn": [c]}}})["createSegment"]["id"]
                    for c in countries]

        # Sockets: managers on every promotion, reps on their own assignments.
        plan = [(mgr_tokens[i % len(mgr_tokens)], MGR_SUB, "sqlPromotions", None) for i in range(args.managers)]
        plan += [(reps[i % len(reps)][1], REP_SUB, "assignmentUpdates", reps[i % len(reps)][0])
                 for i in range(args.subscribers - args.managers)]
        sockets_of_rep, manager_idx = {}, []
        t_ramp = time.perf_counter()
        for idx, (token, query, key, rep) in enumerate(plan):
            s = Sock(idx, port, token, query, key)
            socks.append(s)
            (sockets_of_rep.setdefault(rep, []) if rep else manager_idx).append(idx)
            tasks.append(asyncio.create_task(client.run_socket(s, stop)))
            await asyncio.sleep(max(0.0, t_ramp + (idx + 1) / 500 - time.perf_counter()))
        for _ in range(240):
            # Listening, not just open: a subscription without `after` starts from the moment
            # its live feed is registered, and would rightly miss a promotion made before.
            if metrics(port).get("quorum_subscriptions_listening_total", 0) >= len(socks):
                break
            await asyncio.sleep(0.5)

        stats = Stats()
        promoted = []  # (account id, commit time)
        promoted_lock = threading.Lock()
        deadline = time.perf_counter() + seconds
        local = threading.local()

        def api_of():
            if not hasattr(local, "api"):
                local.api = Api(port)
                local.api.token = api.token
            return local.api

        def promote(j):
            at = (datetime.now(timezone.utc) - timedelta(seconds=5)).isoformat()
            data = timed(stats, "promote (ingest 1 event)", api_of(), INGEST,
                         {"e": [{"eventId": f"p-{j}", "contactEmail": f"jane@acct{j}.example.com", "kind": "DEMO_REQUEST", "occurredAt": at}]})
            if data:
                t0 = time.perf_counter()
                with promoted_lock:
                    promoted.extend((p["accountId"], t0) for p in data["ingestEngagements"]["promotions"] if p["to"] == "SQL")

        def ingest(k):
            at = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
            rnd = random.Random(k)
            e = [{"eventId": f"e-{k}-{i}", "contactEmail": f"jane@acct{promotable + rnd.randrange(args.accounts)}.example.com",
                  "kind": rnd.choice(["WEB_VISIT", "EMAIL_OPEN", "EMAIL_CLICK", "CONTENT_DOWNLOAD"]), "occurredAt": at}
                 for i in range(args.batch)]
            timed(stats, f"ingest ({args.batch} events)", api_of(), INGEST, {"e": e})

        def reader(w):
            mgr = Api(port)
            mgr.token = mgr_tokens[w % len(mgr_tokens)]
            rnd = random.Random(w)
            start = datetime.now(timezone.utc)
            after = {s: None for s in segments}
            i = 0
            while time.perf_counter() < deadline:
                op = ["funnel", "velocity", "sla", "segment_page", "segment_page", "account", "account"][i % 7]
                i += 1
                if op == "segment_page":
                    s = rnd.choice(segments)
                    data = timed(stats, op, mgr, READS[op], {"s": s, "a": after[s]})
                    if data:
                        page = data["accounts"]["pageInfo"]
                        after[s] = page["endCursor"] if page["hasNextPage"] else None
                elif op == "account":
                    timed(stats, op, mgr, READS[op], {"id": rnd.choice(ids)})
                else:
                    # The reports cover the last --window-minutes (a dashboard's "last hour"),
                    # so once the run is older than that each reads a like amount of data;
                    # without it they cover the whole run, and read more with every promotion.
                    now = datetime.now(timezone.utc)
                    since = now - timedelta(minutes=args.window_minutes) if args.window_minutes else start - timedelta(days=30)
                    timed(stats, op, mgr, READS[op], {"f": since.isoformat(), "t": (now + timedelta(days=1)).isoformat()})

        async def paced(rate, fn):
            loop = asyncio.get_running_loop()
            start, k, futs = time.perf_counter(), 0, []
            while time.perf_counter() < deadline:
                await asyncio.sleep(max(0.0, start + k / rate - time.perf_counter()))
                futs.append(loop.run_in_executor(None, fn, k))
                k += 1
            await asyncio.gather(*futs)

        def heap():
            # jemalloc's counts from /metrics (MiB): the live heap and the allocator's RSS.
            m = metrics(port)
            return {k: round(m.get(f"quorum_memory_{k}_bytes", 0) / 2**20, 1)
                    for k in ("allocated", "active", "resident", "metadata", "retained")}

        def take(rss, at):
            rss.append((round(at), round(rss_kib(server.pid) / 1024, 1)))
            allocator.append((round(at), heap()))

        async def sample(rss):
            while time.perf_counter() < deadline:
                take(rss, time.perf_counter() - t_start)
                await asyncio.sleep(30)

        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=32))
        rss, allocator = [], []
        t_start = time.perf_counter()
        cpu0, pg0, me0 = cpu_s(server.pid), postgres_cpu_s(), thread_cpu_s()
        readers = [loop.run_in_executor(None, reader, w) for w in range(args.readers)]
        await asyncio.gather(paced(args.promotion_rate, promote), paced(args.ingest_rate, ingest), sample(rss), *readers)
        elapsed = time.perf_counter() - t_start
        cpu1, pg1, me1 = cpu_s(server.pid), postgres_cpu_s(), thread_cpu_s()
        take(rss, elapsed)
        await asyncio.sleep(args.drain)

        # Delivery: each promotion is due on its rep's sockets and every manager socket.
        expected = received = 0
        lat = []
        lost = []
        for acct, t0 in promoted:
            rep = client.rep_of.get(acct)
            due = list(manager_idx) + list(sockets_of_rep.get(rep, []))
            got = client.recv.get(acct, {})
            expected += len(due)
            received += sum(1 for i in due if i in got)
            lost += [(acct, i) for i in due if i not in got][:3]
            if all(i in got for i in due):
                lat.append((max(got[i] for i in due) - t0) * 1000)
        cores = os.cpu_count()
        report = {
            "minutes": args.minutes, "window_minutes": args.window_minutes, "subscribers": len(socks), "reps": args.reps, "managers": args.managers,
            "operations": stats.report(elapsed),
            "delivery": {"promotions": len(promoted), "expected": expected, "received": received,
                         "lost": expected - received, "first_lost": lost[:5],
                         "duplicates": sum(s.dups for s in socks),
                         "closed_by_server": [s.close for s in socks if s.close][:5],
                         "socket_errors": [s.errors for s in socks if s.errors][:3],
                         "failed_connects": client.failed_connects[:3],
                         "latency_ms": {"p50": round(pct(lat, 50), 1) if lat else None,
                                        "p99": round(pct(lat, 99), 1) if lat else None,
                                        "max": round(max(lat), 1) if lat else None}},
            "server_rss_mib": rss,
            "rss_growth_mib": round(rss[-1][1] - rss[0][1], 1),
            "allocator_mib": allocator,
            "cpu_share_of_machine": {"server": round((cpu1 - cpu0) / elapsed / cores, 3),
                                     "postgres": round((pg1 - pg0) / elapsed / cores, 3),
                                     "client": round((me1 - me0) / elapsed / cores, 3)},
        }
        print(json.dumps(report, indent=2))
    finally:
        stop.set()
        for t in tasks:
            t.cancel()
        if server:
            server.terminate()
            server.wait()
        psql(args.pg, f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379")
    ap.add_argument("--binary", default="target/release/quorum")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--subscribers", type=int, default=1_000)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--managers", type=int, default=10)
    ap.add_argument("--accounts", type=int, default=5_000, help="accounts beyond those promoted")
    ap.add_argument("--promotion-rate", type=float, default=10)
    ap.add_argument("--ingest-rate", type=float, default=2)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--readers", type=int, default=4)
    ap.add_argument("--drain", type=float, default=10)
    ap.add_argument("--window-minutes", type=float, default=None,
                    help="reports over a sliding window of this many minutes (default: the whole run)")
    asyncio.run(amain(ap.parse_args()))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Promotion-to-assignment cost inside the ingestion transaction: the release server on
PostgreSQL (or SQLite), one-event ingest calls that each promote a fresh account to SQL (so
the transaction also writes the transition, routes over the reps and rules, inserts the
assignment and two outbox rows), against the same calls on the same accounts once they are
SQLs (same event, same rescoring, no promotion), measured in the same run.

    cargo build --release --bin quorum
    BENCH_PG_SOCKET=/var/run/postgresql python3 benches/promotion.py --backend postgres

Prints JSON for BENCHMARKS.md.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(__file__))
from ingest import (  # noqa: E402
    PASSWORD, Api, create_user, free_port, login, pct, psql, publish_one_event_sql_model, wait_ready,
)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--binary", default="target/release/quorum")
    ap.add_argument("--accounts", type=int, default=1_000)
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--rules", type=int, default=50)
    args = ap.parse_args()

    data_dir = tempfile.mkdtemp(prefix="quorum-bench-")
    env = dict(os.environ, QUORUM_DATA_DIR=data_dir, RUST_LOG="warn", QUORUM_RESCORE_INTERVAL_SECS="0",
               QUORUM_SLA_CHECK_INTERVAL_SECS="0")
    db_name = None
    if args.backend == "postgres":
        db_name = f"quorum_bench_{int(time.time())}"
        psql(args.pg, f"CREATE DATABASE {db_name}")
        env["DATABASE_URL"] = args.pg.rsplit("/", 1)[0] + "/" + db_name
        if os.environ.get("BENCH_PG_SOCKET"):
            env["DATABASE_URL"] = f"postgres://postgres@localhost/{db_name}?host={os.environ['BENCH_PG_SOCKET']}"
    port = free_port()
    env["QUORUM_BIND"] = f"127.0.0.1:{port}"
    add = [args.binary, "user", "add", "--workspace", "bench", "--password", PASSWORD]
    subprocess.run(add + ["--email", "admin@bench.example.com", "--role", "ADMIN"], env=env, check=True, capture_output=True)
    server = subprocess.Popen([args.binary, "serve"], env=env)
    try:
        wait_ready(port, server)
        api = Api(port)
        api.token = login(api, "admin@bench.example.com")
        publish_one_event_sql_model(api)
        countries = ["US", "CA", "GB", "DE", "FR"]
        reps = []
        for i in range(args.reps):
            u = create_user(api, f"rep{i}@bench.example.com", f"Rep {i}", "REP",
                            {"countries": [countries[i % len(countries)]], "capacity": 1000})
            reps.append(u)
        # Rules that mostly do not match (industries nobody has), then territory: each decision
        # walks the list.
        rules = [{"name": f"Industry pool {i}", "industries": [f"Industry {i}"], "target": "POOL",
                  "pool": reps[i % len(reps):i % len(reps) + 5]} for i in range(args.rules - 1)]
        rules.append({"name": "Territory", "target": "TERRITORY"})
        api.gql("mutation($r: [RoutingRuleInput!]!) { setRoutingRules(rules: $r) { name } }", {"r": rules})
        for i in range(0, args.accounts, 500):
            items = [{"name": f"A{j}", "domain": f"acct{j}.example.com", "country": countries[j % len(countries)]}
                     for j in range(i, min(i + 500, args.accounts))]
            api.gql("mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) { id } }", {"i": items})
            api.gql("mutation($i: [ContactInput!]!) { upsertContacts(input: $i) { id } }",
                    {"i": [{"email": f"jane@acct{j}.example.com"} for j in range(i, min(i + 500, args.accounts))]})

        query = "mutation($e: [EngagementInput!]!) { ingestEngagements(events: $e) { accepted promotions { to } } }"

        def run(tag, expect_promotion):
            lat = []
            for j in range(args.accounts):
                at = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
                e = [{"eventId": f"{tag}-{j}", "contactEmail": f"jane@acct{j}.example.com", "kind": "DEMO_REQUEST", "occurredAt": at}]
                t0 = time.perf_counter()
                out = api.gql(query, {"e": e})["ingestEngagements"]
                lat.append(time.perf_counter() - t0)
                promoted = [p for p in out["promotions"] if p["to"] == "SQL"]
                if out["accepted"] != 1 or bool(promoted) != expect_promotion:
                    raise RuntimeError(f"unexpected result {out}")
            return lat

        promoting = run("p", True)
        baseline = run("b", False)
        assigned = api.gql("{ assignments(first: 100) { edges { node { rep { id } } } } }")["assignments"]["edges"]
        if not all(e["node"]["rep"] for e in assigned):
            raise RuntimeError("an SQL was left unassigned")
    finally:
        server.terminate()
        server.wait(timeout=60)
        if db_name:
            psql(args.pg, f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        shutil.rmtree(data_dir, ignore_errors=True)

    ms = lambda v: round(v * 1000, 2)  # noqa: E731
    p50, b50 = statistics.median(promoting), statistics.median(baseline)
    print(json.dumps({
        "backend": args.backend, "accounts": args.accounts, "reps": args.reps, "rules": args.rules,
        "promoting_p50_ms": ms(p50), "promoting_p99_ms": ms(pct(promoting, 99)),
        "baseline_p50_ms": ms(b50), "baseline_p99_ms": ms(pct(baseline, 99)),
        "promotion_and_assignment_p50_ms": ms(p50 - b50), "ratio_p50": round(p50 / b50, 2),
    }, indent=2))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""End-to-end ingestion load run: the release server on PostgreSQL or SQLite, fed through
GraphQL in batches, against a hand-written INSERT … ON CONFLICT DO NOTHING and a COPY of the
same rows into a table of the same shape (PostgreSQL), measured in the same run.

    cargo build --release --bin quorum
    python3 benches/ingest.py --backend postgres   # needs psql and a local server (trust auth)
    python3 benches/ingest.py --backend sqlite

Only the standard library; talks to 127.0.0.1 only. Prints a Markdown table for BENCHMARKS.md.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone

KINDS = [("EMAIL_OPEN", 40), ("WEB_VISIT", 25), ("EMAIL_CLICK", 12), ("CONTENT_DOWNLOAD", 6),
         ("PRICING_PAGE_VIEW", 5), ("WEBINAR_ATTENDED", 3), ("FORM_SUBMIT", 3), ("DEMO_REQUEST", 1),
         ("CONTACT_SALES", 1), ("UNSUBSCRIBE", 1), ("EMAIL_BOUNCE", 1), ("INTENT_SURGE", 2)]
SENIORITIES = ["C_LEVEL", "VP", "DIRECTOR", "MANAGER", "INDIVIDUAL_CONTRIBUTOR"]
PASSWORD = "bench-password-123"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.token = None

    def gql(self, query, variables=None):
        body = json.dumps({"query": query, "variables": variables or {}})
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        try:
            self.conn.request("POST", "/graphql", body, headers)
            raw = self.conn.getresponse().read()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closes idle keep-alive connections; every call here is idempotent.
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            self.conn.request("POST", "/graphql", body, headers)
            raw = self.conn.getresponse().read()
        res = json.loads(raw)
        if res.get("errors"):
            raise RuntimeError(json.dumps(res["errors"])[:2000])
        return res["data"]


LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"


def login(api, email):
    """A token for `email` (password PASSWORD)."""
    return api.gql(LOGIN, {"e": email, "p": PASSWORD})["login"]["token"]


def publish_one_event_sql_model(api):
    """A model whose total is the engagement alone, with low lines: one demo request makes an
    SQL, so each promotion costs one ingested event."""
    api.gql("mutation($i: ScoringModelInput!) { publishScoringModel(input: $i) { version } }",
            {"i": {"weights": {"fit": 0.0, "engagement": 1.0, "intent": 0.0},
                   "thresholds": {"mql": 1.0, "sql": 2.0, "sqlMinFit": 0.0, "sqlMinCoverage": 0.0,
                                  "demotionMargin": 1.0, "highIntentWindowDays": 30.0}}})


def create_user(api, email, name, role, rep=None):
    """A user of the admin `api`'s workspace (with `rep` as its RepInput); its id."""
    u = api.gql("mutation($i: UserInput!) { createUser(input: $i) { id } }",
                {"i": {"email": email, "name": name, "role": role, "password": PASSWORD}})["createUser"]["id"]
    if rep is not None:
        api.gql("mutation($id: ID!, $i: RepInput!) { updateRep(id: $id, input: $i) { id } }", {"id": u, "i": rep})
    return u


def wait_ready(port, proc):
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server not ready")


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def events_for(rng, n, contacts, accounts, start):
    now = datetime.now(timezone.utc)
    kinds, weights = zip(*KINDS)
    out = []
    for i in range(n):
        kind = rng.choices(kinds, weights)[0]
        at = (now - timedelta(seconds=rng.randrange(90 * 86400))).isoformat()
        eid = f"ev-{start + i}"
        if kind == "INTENT_SURGE":
            out.append({"eventId": eid, "accountDomain": f"acct{rng.randrange(accounts)}.example.com", "kind": kind, "occurredAt": at})
        else:
            out.append({"eventId": eid, "contactEmail": contacts[rng.randrange(len(contacts))], "kind": kind, "occurredAt": at})
    return out


def psql(url, sql, stdin=None):
    return subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql] if sql else ["psql", "-q", "-v", "ON_ERROR_STOP=1", url],
                          input=stdin, check=True, capture_output=True, text=True)


def baselines(url, batches, ws_id):
    """The same rows through hand-written SQL into a table shaped like engagement_event."""
    # Keyed as engagement_event is since migration 17: workspace first.
    psql(url, """CREATE TABLE bench_event (id uuid NOT NULL, workspace_id uuid NOT NULL, event_id varchar NOT NULL,
        account_id uuid NOT NULL, contact_id uuid, kind varchar NOT NULL, occurred_at timestamptz NOT NULL,
        metadata text, received_at timestamptz NOT NULL, PRIMARY KEY (workspace_id, id),
        UNIQUE (event_id, workspace_id));
        CREATE INDEX ON bench_event (account_id, occurred_at); CREATE INDEX ON bench_event (contact_id);""")
    rows = []
    for batch in batches:
        for e in batch:
            rows.append((str(uuid.uuid4()), ws_id, e["eventId"], str(uuid.uuid4()), str(uuid.uuid4()), e["kind"], e["occurredAt"]))
    # INSERT … ON CONFLICT DO NOTHING, 500 rows a statement, one transaction per 1,000 rows.
    parts = []
    for i in range(0, len(rows), 500):
        if i % 1000 == 0:
            parts.append("BEGIN;")
        values = ",".join(f"('{r[0]}','{r[1]}','{r[2]}','{r[3]}','{r[4]}','{r[5]}','{r[6]}',NULL,now())" for r in rows[i:i + 500])
        parts.append("INSERT INTO bench_event (id, workspace_id, event_id, account_id, contact_id, kind, occurred_at, metadata, received_at) "
                     f"VALUES {values} ON CONFLICT DO NOTHING;")
        if i % 1000 == 500 or i + 500 >= len(rows):
            parts.append("COMMIT;")
    script = "\n".join(parts)
    t = time.perf_counter()
    psql(url, None, stdin=script)
    insert_s = time.perf_counter() - t
    psql(url, "TRUNCATE bench_event")
    csv = "\n".join(",".join([r[0], r[1], r[2], r[3], r[4], r[5], r[6], "", datetime.now(timezone.utc).isoformat()]) for r in rows) + "\n"
    t = time.perf_counter()
    psql(url, None, stdin="\\copy bench_event (id, workspace_id, event_id, account_id, contact_id, kind, occurred_at, metadata, received_at) FROM STDIN WITH (FORMAT csv)\n" + csv + "\\.\n")
    copy_s = time.perf_counter() - t
    return len(rows) / insert_s, len(rows) / copy_s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--binary", default="target/release/quorum")
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=1_000)
    args = ap.parse_args()

    rng = random.Random(42)
    data_dir = tempfile.mkdtemp(prefix="quorum-bench-")
    env = dict(os.environ, QUORUM_DATA_DIR=data_dir, RUST_LOG=os.environ.get("BENCH_RUST_LOG", "warn"), QUORUM_RESCORE_INTERVAL_SECS="0",
               QUORUM_MAX_BODY_BYTES=str(64 * 1024 * 1024))
    db_name = None
    if args.backend == "postgres":
        db_name = f"quorum_bench_{int(time.time())}"
        psql(args.pg, f"CREATE DATABASE {db_name}")
        env["DATABASE_URL"] = args.pg.rsplit("/", 1)[0] + "/" + db_name
        if os.environ.get("BENCH_PG_SOCKET"):
            env["DATABASE_URL"] = f"postgres://postgres@localhost/{db_name}?host={os.environ['BENCH_PG_SOCKET']}"
    # PostgreSQL's autovacuum moves these figures a lot (account rows are rewritten on every
    # batch, and its ANALYZE gives the planner its statistics); a CI-tuned server may have it off.
    autovacuum = None
    if args.backend == "postgres":
        autovacuum = subprocess.run(["psql", "-At", args.pg, "-c", "SHOW autovacuum"], check=True,
                                    capture_output=True, text=True).stdout.strip()
    port = free_port()
    env["QUORUM_BIND"] = f"127.0.0.1:{port}"
    subprocess.run([args.binary, "user", "add", "--workspace", "bench", "--email", "bench@bench.example.com",
                    "--role", "ADMIN", "--password", PASSWORD], env=env, check=True, capture_output=True)
    server = subprocess.Popen([args.binary, "serve"], env=env)
    try:
        wait_ready(port, server)
        api = Api(port)
        api.token = api.gql("mutation($p: String!) { login(email: \"bench@bench.example.com\", password: $p) { token } }", {"p": PASSWORD})["login"]["token"]

        t = time.perf_counter()
        industries = ["Software", "Internet", "Financial Services", "Healthcare", "Manufacturing", "Retail", "Biotech"]
        for i in range(0, args.accounts, 1000):
            items = [{"name": f"Account {j}", "domain": f"acct{j}.example.com", "industry": rng.choice(industries),
                      "employeeCount": rng.randrange(10, 20000), "country": rng.choice(["US", "GB", "DE", "FR", "CA"]),
                      "technologies": rng.sample(["Salesforce", "HubSpot CRM", "Snowflake", "6sense"], 2)}
                     for j in range(i, min(i + 1000, args.accounts))]
            api.gql("mutation($i: [AccountInput!]!) { upsertAccounts(input: $i) { id } }", {"i": items})
        contacts = [f"c{j}@acct{j % args.accounts}.example.com" for j in range(args.contacts)]
        for i in range(0, args.contacts, 1000):
            items = [{"email": e, "seniority": rng.choice(SENIORITIES)} for e in contacts[i:i + 1000]]
            api.gql("mutation($i: [ContactInput!]!) { upsertContacts(input: $i) { id } }", {"i": items})
        setup_s = time.perf_counter() - t
        if os.environ.get("BENCH_AFTER_SETUP"):
            # E.g. `psql -c "SELECT pg_stat_statements_reset()"`: statistics of the batches alone.
            subprocess.run(os.environ["BENCH_AFTER_SETUP"], shell=True, check=True)

        batches = [events_for(rng, min(args.batch, args.events - i), contacts, args.accounts, i) for i in range(0, args.events, args.batch)]
        query = "mutation($e: [EngagementInput!]!) { ingestEngagements(events: $e) { accepted duplicates rescoredAccounts rejected { reason } } }"

        def run(expect_accepted):
            lat = []
            start = time.perf_counter()
            for b in batches:
                t0 = time.perf_counter()
                out = api.gql(query, {"e": b})["ingestEngagements"]
                lat.append(time.perf_counter() - t0)
                got = out["accepted"] if expect_accepted else out["duplicates"]
                if got != len(b) or out["rejected"]:
                    raise RuntimeError(f"unexpected result {out}")
            return (time.perf_counter() - start), lat

        first_s, first_lat = run(True)
        if os.environ.get("BENCH_LATENCIES"):
            # Each first-pass batch's time, in order, to see which batches make the p99.
            with open(os.environ["BENCH_LATENCIES"], "w") as f:
                json.dump([round(t * 1000, 1) for t in first_lat], f)
        dup_s, dup_lat = run(False)
        rss = peak_rss_mib(server.pid)
        ws_id = str(uuid.uuid4())
        insert_rate = copy_rate = None
        if args.backend == "postgres":
            insert_rate, copy_rate = baselines(env["DATABASE_URL"], batches, ws_id)
    finally:
        server.terminate()
        server.wait(timeout=60)
        # BENCH_KEEP_DB=1 leaves the database for EXPLAIN ANALYZE (drop it yourself).
        if db_name and not os.environ.get("BENCH_KEEP_DB"):
            psql(args.pg, f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        shutil.rmtree(data_dir, ignore_errors=True)

    n = args.events
    rate = n / first_s
    result = {
        "backend": args.backend, "autovacuum": autovacuum, "accounts": args.accounts, "contacts": args.contacts, "events": n, "batch": args.batch,
        "setup_s": round(setup_s, 1),
        "events_per_s": round(rate), "p50_ms": round(statistics.median(first_lat) * 1000, 1),
        "p99_ms": round(pct(first_lat, 99) * 1000, 1), "max_ms": round(max(first_lat) * 1000, 1),
        "duplicates_events_per_s": round(n / dup_s), "duplicates_p99_ms": round(pct(dup_lat, 99) * 1000, 1),
        "peak_rss_mib": round(rss, 1),
        "insert_on_conflict_rows_per_s": round(insert_rate) if insert_rate else None,
        "copy_rows_per_s": round(copy_rate) if copy_rate else None,
        "ratio_to_insert": round(rate / insert_rate, 3) if insert_rate else None,
        "ratio_to_copy": round(rate / copy_rate, 3) if copy_rate else None,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main())

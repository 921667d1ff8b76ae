#!/usr/bin/env python3
"""`quorum import` load run: a generated workspace (`quorum generate`) imported into SQLite or
PostgreSQL with the release binary; the engagement import timed, then timed again as a re-run
(every row a duplicate).

    cargo build --release --bin quorum
    python3 benches/import.py --backend sqlite
    python3 benches/import.py --backend postgres   # needs psql and a local server (trust auth)

Only the standard library; talks to 127.0.0.1 only. Prints a Markdown table for BENCHMARKS.md.
"""

import argparse
import os
import shutil
import subprocess
import tempfile
import time
import uuid


def run(binary, env, *args):
    started = time.monotonic()
    out = subprocess.run([binary, *args], env=env, check=True, capture_output=True, text=True)
    return time.monotonic() - started, out.stdout.strip()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--accounts", type=int, default=10_000)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--binary", default="target/release/quorum")
    p.add_argument("--pg-admin", default="postgres://postgres@127.0.0.1:5432/postgres")
    a = p.parse_args()

    work = tempfile.mkdtemp(prefix="quorum-import-bench-")
    env = dict(os.environ, QUORUM_DATA_DIR=work)
    env.pop("DATABASE_URL", None)
    db = None
    if a.backend == "postgres":
        db = "quorum_bench_" + uuid.uuid4().hex[:12]
        subprocess.run(["psql", a.pg_admin, "-qc", f"CREATE DATABASE {db}"], check=True)
        env["DATABASE_URL"] = a.pg_admin.rsplit("/", 1)[0] + "/" + db
    try:
        gen = os.path.join(work, "generated")
        secs, _ = run(a.binary, env, "generate", "--accounts", str(a.accounts), "--events",
                      str(a.events), "--seed", "1", "--now", "2026-11-20T00:00:00Z", "--out", gen)
        rows = [("generate (3 NDJSON files)", a.events, secs, "")]
        run(a.binary, env, "user", "add", "--workspace", "Bench", "--email", "admin@bench.io",
            "--role", "ADMIN", "--password", "bench-password")
        for kind in ["accounts", "contacts", "engagements", "engagements"]:
            secs, out = run(a.binary, env, "import", kind, os.path.join(gen, f"{kind}.ndjson"),
                            "--workspace", "Bench")
            n = int(out.split(": ", 1)[1].split(" rows")[0])
            label = f"import {kind}" if not any(r[0] == f"import {kind}" for r in rows) \
                else f"import {kind} again (all duplicates)"
            rows.append((label, n, secs, out.split("): ", 1)[-1].split("\n")[0]))
        print(f"\n{a.backend}, {a.accounts:,} accounts, {a.events:,} events "
              f"({os.cpu_count()} cores)\n")
        print("| step | rows | seconds | rows/s | summary |")
        print("| --- | ---: | ---: | ---: | --- |")
        for label, n, secs, summary in rows:
            print(f"| {label} | {n:,} | {secs:.1f} | {n / secs:,.0f} | {summary} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if db:
            subprocess.run(["psql", a.pg_admin, "-qc", f"DROP DATABASE IF EXISTS {db}"])


if __name__ == "__main__":
    main()

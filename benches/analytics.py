#!/usr/bin/env python3
"""Segments and analytics on a generated workspace: the release server on a fresh PostgreSQL
database holding 100,000 accounts, 1,000,000 stage transitions, 1,000,000 engagement events
and 20,000 opportunities (written with SQL, not through the API: the reads are measured).

Timed, through GraphQL over HTTP on loopback (median and p95 of --runs after one warm-up):
- a 4-condition filter's first page (20 by score) with its totalCount, ad hoc and as a saved
  segment (`segment { accountCount accounts }`);
- `funnel` over a year, for the workspace and for the segment;
- `pipelineVelocity` over a year, ungrouped and by tier.
Each beside the plain SQL that answers the same question, timed by psql (`\\timing`, server
round trip only) in the same run: the baseline.

    cargo build --release --bin quorum
    python3 benches/analytics.py
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from ingest import PASSWORD, Api, free_port, pct, psql, wait_ready  # noqa: E402

FILTER = {"industryIn": ["fintech", "software"], "countryIn": ["US", "CA"],
          "employeeCountMin": 200, "scoreMin": 40}
PAGE = """query($f: AccountFilter) { accounts(filter: $f, orderBy: {field: SCORE, direction: DESC}, first: 20) {
    totalCount edges { cursor node { id name score { total } } } } }"""
SEGMENT = """query($id: ID!) { segment(id: $id) { accountCount
    accounts(orderBy: {field: SCORE, direction: DESC}, first: 20) { edges { node { id name score { total } } } } } }"""
FUNNEL = """query($from: DateTime!, $to: DateTime!, $s: ID) { funnel(from: $from, to: $to, segmentId: $s) {
    stages { stage entered converted conversionRate timeToNext { medianHours p90Hours } }
    timeToSql { count medianHours p90Hours } sqlToWon { medianHours } sqlSourcedRevenue costPerSql } }"""
VELOCITY = """query($from: DateTime!, $to: DateTime!, $g: PipelineGroup) {
    pipelineVelocity(from: $from, to: $to, groupBy: $g) { key opportunities winRate averageDealSize averageCycleDays velocity } }"""

# What the application keeps as it writes (migration m20261123_000014_funnel_links fills in
# the same for rows written before it): the data here is written with SQL, so it is linked here,
# with one update of every entry, as the application's linking makes.
LINKS = """
INSERT INTO funnel_entry (id, workspace_id, account_id, stage, at)
  SELECT id, workspace_id, account_id, to_stage, at FROM stage_transition
  WHERE to_stage IN ('ENGAGED', 'MQL', 'SQL', 'OPPORTUNITY', 'WON');
UPDATE account SET first_engaged_at = (SELECT min(e.occurred_at) FROM engagement_event e WHERE e.account_id = account.id);
UPDATE funnel_entry SET
  first_engaged_at = (SELECT a.first_engaged_at FROM account a WHERE a.id = funnel_entry.account_id),
  prev_entry_at = (SELECT max(p.at) FROM funnel_entry p WHERE p.account_id = funnel_entry.account_id
    AND p.stage = funnel_entry.stage
    AND (p.at < funnel_entry.at OR (p.at = funnel_entry.at AND p.id < funnel_entry.id))),
  next_stage_at = (SELECT min(n.at) FROM funnel_entry n WHERE n.account_id = funnel_entry.account_id
    AND n.stage = CASE funnel_entry.stage WHEN 'ENGAGED' THEN 'MQL' WHEN 'MQL' THEN 'SQL'
      WHEN 'SQL' THEN 'OPPORTUNITY' WHEN 'OPPORTUNITY' THEN 'WON' END
    AND n.at >= funnel_entry.at);
VACUUM ANALYZE;
"""

GENERATE = """
CREATE TEMP TABLE g AS SELECT n, gen_random_uuid() AS id,
    (ARRAY['Fintech','Software','Retail','Health','Energy','Manufacturing','Media','Logistics'])[1 + n % 8] AS industry,
    (ARRAY['US','CA','GB','DE','FR','NL','ES','IT','SE','AU'])[1 + (n / 8) % 10] AS country,
    (random() * 20000)::int AS employees, (random() * 1e9) AS revenue,
    CASE WHEN n % 5 = 0 THEN NULL ELSE 1 + n % 3 END AS tier,
    random() * 100 AS score, random() * 100 AS fit, random() * 100 AS engagement,
    now() - interval '430 days' + random() * interval '400 days' AS start,
    1 + random() * 4 AS gap_days
  FROM generate_series(0, {accounts} - 1) n;
INSERT INTO account (id, workspace_id, name, domain, industry, employee_count, annual_revenue, country,
    region, tier, stage, owner_id, score_total, score_fit, score_engagement, score_intent, score_coverage,
    score_model_version, score_computed_at, intent_activity, stage_manual, stage_changed_at, created_at,
    updated_at, name_key, industry_key, region_key, base_tier)
  SELECT id, '{ws}', 'Account ' || n, 'acct' || n || '.example.com', industry, employees, revenue, country,
    NULL, tier, 'SQL', NULL, score, fit, engagement, 0, 0, 1, now(), NULL, false, start, start, now(),
    'account ' || n, lower(industry), NULL, tier
  FROM g;
INSERT INTO account_technology (account_id, workspace_id, technology, technology_key)
  SELECT g.id, '{ws}', t, lower(t) FROM g,
    LATERAL unnest((ARRAY['Salesforce','HubSpot','Snowflake','SAP','Marketo','Segment','Stripe','Zendesk'])[1 + g.n % 5 : 1 + g.n % 5 + g.n % 3]) t;
INSERT INTO stage_transition (id, workspace_id, account_id, from_stage, to_stage, at, reason, reason_detail, actor_id, model_version)
  SELECT gen_random_uuid(), '{ws}', g.id, 'TARGET',
    (ARRAY['ENGAGED','MQL','ENGAGED','MQL','SQL','DISQUALIFIED','ENGAGED','MQL','SQL','OPPORTUNITY'])[k],
    g.start + (k * g.gap_days) * interval '1 day', 'generated', '"generated"', NULL, 1
  FROM g, generate_series(1, {per_account}) k;
INSERT INTO engagement_event (id, workspace_id, event_id, account_id, contact_id, kind, occurred_at, metadata, received_at)
  SELECT gen_random_uuid(), '{ws}', 'ev-' || g.n || '-' || k, g.id, NULL, 'WEB_VISIT',
    g.start - interval '2 days' + (k * g.gap_days) * interval '1 day', NULL, now()
  FROM g, generate_series(1, {per_account}) k;
INSERT INTO opportunity (id, workspace_id, account_id, amount, status, created_by, created_at, closed_at)
  SELECT gen_random_uuid(), '{ws}', g.id, 1000 + (g.n % 97) * 1000,
    (ARRAY['WON','LOST','OPEN','WON','LOST'])[1 + (g.n / {opp_every}) % 5], '{user}',
    g.start + (10 * g.gap_days) * interval '1 day',
    CASE WHEN (g.n / {opp_every}) % 5 = 2 THEN NULL
         ELSE g.start + (10 * g.gap_days + 5 + g.n % 60) * interval '1 day' END
  FROM g WHERE g.n % {opp_every} = 0;
""" + LINKS



SQL_PAGE = """SELECT id, name, score_total FROM account WHERE workspace_id = '{ws}'
  AND industry_key IN ('fintech', 'software') AND country IN ('US', 'CA') AND employee_count >= 200
  AND score_total >= 40 ORDER BY score_total DESC, id DESC LIMIT 21;
SELECT count(*) FROM account WHERE workspace_id = '{ws}' AND industry_key IN ('fintech', 'software')
  AND country IN ('US', 'CA') AND employee_count >= 200 AND score_total >= 40;"""

# The statements the funnel runs, written by hand: one pass over the window's funnel entries
# (first entries are those whose previous entry into the stage is before the window), then the
# year's SQL entries against their accounts' first engagement, SQL → won, SQL-sourced revenue.


def first_entry(t=""):
    """An account's first entry into a stage within the window, for funnel entries aliased `t`."""
    return (f"{t}workspace_id = '{{ws}}' AND {t}at >= '{{start}}' AND {t}at < '{{end}}' "
            f"AND ({t}prev_entry_at IS NULL OR {t}prev_entry_at < '{{start}}')")


SQL_FUNNEL = f"""SELECT stage, count(*), count(next_stage_at),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', next_stage_at - at)),
  percentile_cont(0.9) WITHIN GROUP (ORDER BY date_part('epoch', next_stage_at - at))
FROM funnel_entry WHERE {first_entry()} AND stage IN ('ENGAGED', 'MQL', 'SQL', 'OPPORTUNITY', 'WON')
GROUP BY stage;
SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', at - first_engaged_at)),
  percentile_cont(0.9) WITHIN GROUP (ORDER BY date_part('epoch', at - first_engaged_at))
FROM funnel_entry WHERE {first_entry()} AND stage = 'SQL' AND first_engaged_at <= at;
WITH w AS (SELECT id, account_id, at FROM funnel_entry WHERE {first_entry()} AND stage = 'WON')
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY date_part('epoch', w.at - l.last))
FROM w CROSS JOIN LATERAL (SELECT max(at) AS last FROM funnel_entry t WHERE t.workspace_id = '{{ws}}'
  AND t.account_id = w.account_id AND t.stage = 'SQL' AND t.at <= w.at) l;
SELECT sum(amount) FROM opportunity o WHERE workspace_id = '{{ws}}' AND status = 'WON'
  AND closed_at >= '{{start}}' AND closed_at < '{{end}}' AND EXISTS (SELECT 1 FROM funnel_entry t
  WHERE t.workspace_id = '{{ws}}' AND t.account_id = o.account_id AND t.stage = 'SQL' AND t.at <= o.created_at);"""

# The same answers from the raw logs alone (no kept links), as the funnel read them before
# session 6: a second baseline, to show what the links buy.
SQL_FUNNEL_RAW = """WITH e AS (
  SELECT account_id, to_stage, min(at) AS entered FROM stage_transition
  WHERE workspace_id = '{ws}' AND at >= '{start}' AND at < '{end}'
    AND to_stage IN ('ENGAGED', 'MQL', 'SQL', 'OPPORTUNITY', 'WON') GROUP BY account_id, to_stage),
nx(s, n) AS (VALUES ('ENGAGED', 'MQL'), ('MQL', 'SQL'), ('SQL', 'OPPORTUNITY'), ('OPPORTUNITY', 'WON')),
c AS (SELECT e.to_stage, e.entered, (SELECT min(t.at) FROM stage_transition t WHERE t.workspace_id = '{ws}'
    AND t.account_id = e.account_id AND t.to_stage = nx.n AND t.at >= e.entered) AS next_at
  FROM e JOIN nx ON nx.s = e.to_stage)
SELECT to_stage, count(*), count(next_at),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM next_at - entered)),
  percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM next_at - entered))
FROM c GROUP BY to_stage;
WITH s AS (SELECT account_id, min(at) AS entered FROM stage_transition WHERE workspace_id = '{ws}'
  AND to_stage = 'SQL' AND at >= '{start}' AND at < '{end}' GROUP BY account_id)
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s.entered - f.first)),
  percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM s.entered - f.first))
FROM s CROSS JOIN LATERAL (SELECT min(occurred_at) AS first FROM engagement_event v
  WHERE v.workspace_id = '{ws}' AND v.account_id = s.account_id AND v.occurred_at <= s.entered) f;"""

SQL_VELOCITY = """SELECT count(*), count(*) FILTER (WHERE status = 'WON'), count(*) FILTER (WHERE status = 'LOST'),
  avg(amount) FILTER (WHERE status = 'WON'),
  avg(extract(epoch FROM closed_at - created_at) / 86400) FILTER (WHERE status = 'WON')
FROM opportunity WHERE workspace_id = '{ws}' AND created_at >= '{start}' AND created_at < '{end}';"""


def time_gql(api, query, variables, runs):
    api.gql(query, variables)
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        api.gql(query, variables)
        out.append((time.perf_counter() - t) * 1000)
    return out


def time_sql(url, sql, runs):
    """Each run of `sql` (all its statements), as psql's \\timing reports them."""
    script = "\\timing on\n" + "\n".join([sql] * (runs + 1)) + "\n"
    out = subprocess.run(["psql", "-q", "-o", "/dev/null", url], input=script, check=True,
                         capture_output=True, text=True).stdout
    times = [float(t) for t in re.findall(r"Time: ([0-9.]+) ms", out)]
    per_run = len(times) // (runs + 1)
    totals = [sum(times[i * per_run:(i + 1) * per_run]) for i in range(runs + 1)]
    return totals[1:]


def summary(ms):
    return {"p50_ms": round(statistics.median(ms), 1), "p95_ms": round(pct(ms, 95), 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--binary", default="target/release/quorum")
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--per-account", type=int, default=10, help="stage transitions (and events) per account")
    ap.add_argument("--opp-every", type=int, default=5, help="one opportunity per this many accounts")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--keep", action="store_true", help="keep the database")
    args = ap.parse_args()

    db_name = f"quorum_bench_analytics_{uuid.uuid4().hex[:8]}"
    admin_url = args.pg
    url = args.pg.rsplit("/", 1)[0] + "/" + db_name
    psql(admin_url, f"CREATE DATABASE {db_name}")
    env = dict(os.environ, DATABASE_URL=url, QUORUM_LOG="warn")
    env.pop("REDIS_URL", None)
    server = None
    try:
        for email, role in [("admin@bench.example.com", "ADMIN"), ("manager@bench.example.com", "MANAGER")]:
            subprocess.run([args.binary, "user", "add", "--workspace", "bench", "--password", PASSWORD,
                            "--email", email, "--role", role], env=env, check=True, capture_output=True)
        ws = subprocess.run(["psql", "-tA", url, "-c", "SELECT id FROM workspace"], check=True,
                            capture_output=True, text=True).stdout.strip()
        user = subprocess.run(["psql", "-tA", url, "-c", "SELECT id FROM app_user LIMIT 1"], check=True,
                              capture_output=True, text=True).stdout.strip()
        t = time.perf_counter()
        psql(url, None, stdin=GENERATE.format(ws=ws, user=user, accounts=args.accounts,
                                                per_account=args.per_account, opp_every=args.opp_every))
        generate_s = time.perf_counter() - t
        counts = subprocess.run(["psql", "-tA", url, "-c",
                                 "SELECT (SELECT count(*) FROM account), (SELECT count(*) FROM stage_transition), "
                                 "(SELECT count(*) FROM engagement_event), (SELECT count(*) FROM opportunity)"],
                                check=True, capture_output=True, text=True).stdout.strip()

        port = free_port()
        server = subprocess.Popen([args.binary, "serve"], env=dict(env, QUORUM_BIND=f"127.0.0.1:{port}"))
        wait_ready(port, server)
        api = Api(port)
        login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
        api.token = api.gql(login, {"e": "admin@bench.example.com", "p": PASSWORD})["login"]["token"]
        seg = api.gql("mutation($i: SegmentInput!) { createSegment(input: $i) { id } }",
                      {"i": {"name": "Fintech and software in North America, 200+, warm", "filter": FILTER}})
        seg_id = seg["createSegment"]["id"]
        manager = Api(port)
        manager.token = api.gql(login, {"e": "manager@bench.example.com", "p": PASSWORD})["login"]["token"]

        end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 365 * 86400))
        year = {"from": start, "to": end}
        page = api.gql(PAGE, {"f": FILTER})["accounts"]
        funnel = manager.gql(FUNNEL, year)["funnel"]
        fmt = dict(ws=ws, start=start, end=end)
        rows = {
            "segment_first_page_and_count": (time_gql(api, PAGE, {"f": FILTER}, args.runs),
                                             time_sql(url, SQL_PAGE.format(**fmt), args.runs)),
            "saved_segment_count_and_first_page": (time_gql(api, SEGMENT, {"id": seg_id}, args.runs),
                                                   time_sql(url, SQL_PAGE.format(**fmt), args.runs)),
            "funnel_one_year": (time_gql(manager, FUNNEL, year, args.runs),
                                time_sql(url, SQL_FUNNEL.format(**fmt), args.runs)),
            "funnel_one_year_raw_logs": (None, time_sql(url, SQL_FUNNEL_RAW.format(**fmt), max(1, args.runs // 5))),
            "funnel_one_year_segment": (time_gql(manager, FUNNEL, dict(year, s=seg_id), args.runs), None),
            "velocity_one_year": (time_gql(manager, VELOCITY, dict(year, g="NONE"), args.runs),
                                  time_sql(url, SQL_VELOCITY.format(**fmt), args.runs)),
            "velocity_one_year_by_tier": (time_gql(manager, VELOCITY, dict(year, g="TIER"), args.runs), None),
        }
        report = {"rows (accounts, transitions, events, opportunities)": counts,
                  "generate_s": round(generate_s, 1), "segment_total": page["totalCount"],
                  "funnel_sql_entered": next(s["entered"] for s in funnel["stages"] if s["stage"] == "SQL")}
        for name, (api_ms, sql_ms) in rows.items():
            r = {}
            if api_ms:
                r["graphql"] = summary(api_ms)
            if sql_ms:
                r["plain_sql"] = summary(sql_ms)
            if api_ms and sql_ms:
                r["ratio_p50"] = round(statistics.median(api_ms) / statistics.median(sql_ms), 2)
            report[name] = r
        print(json.dumps(report, indent=2))
    finally:
        if server:
            server.terminate()
            server.wait()
        if not args.keep:
            psql(admin_url, f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")


if __name__ == "__main__":
    main()

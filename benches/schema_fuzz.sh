#!/usr/bin/env bash
# A property-based run of the whole GraphQL schema, per role, with schemathesis' GraphQL mode
# (issue 9): generated queries and mutations for every root field, against a real server on a
# generated workspace. It fails on any 5xx and on any answer that leaks an internal error.
# The schema comes from api/schema.graphql (kept equal to the server's by a test): the
# server's depth limit refuses schemathesis' own, deeper introspection query.
#
#   pip install schemathesis            # 4.x
#   benches/schema_fuzz.sh [SECONDS_PER_ROLE]   # default 60
#
# Runs on the embedded defaults (SQLite, in-process bus) in a temporary data dir; set
# DATABASE_URL to run on PostgreSQL instead (the script creates nothing else there but the
# workspace `schema-fuzz-<pid>` and its users). The results go to target/schema-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."

per_role="${1:-60}"
port="${SCHEMA_FUZZ_PORT:-18087}"
out="$PWD/target/schema-fuzz"
mkdir -p "$out"
data="$(mktemp -d)"
ws="schema-fuzz-$$"
export QUORUM_DATA_DIR="$data"
export JWT_SECRET="schema-fuzz-secret-schema-fuzz-secret-0123"
export QUORUM_BIND="127.0.0.1:$port"
# A fuzzer means many failed logins; the throttle would only slow the run down.
export QUORUM_LOGIN_BACKOFF_MS=0
export RUST_LOG=warn

cargo build -q -p quorum-api --bin quorum
bin="${CARGO_TARGET_DIR:-$PWD/target}/debug/quorum"

password="schema-fuzz-password"
for role in ADMIN MARKETER MANAGER REP; do
  r="$(echo "$role" | tr 'A-Z' 'a-z')"
  "$bin" user add --workspace "$ws" --email "$r@$ws.example.com" --role "$role" \
    --password "$password" >/dev/null
done
"$bin" generate --accounts 60 --seed 7 --out "$data/generated" --workspace "$ws" >/dev/null

"$bin" serve >"$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.1
done

status=0
for role in ADMIN MARKETER MANAGER REP; do
  r="$(echo "$role" | tr 'A-Z' 'a-z')"
  token="$("$bin" token --email "$r@$ws.example.com")"
  echo "== $role ($per_role s)"
  PYTHONPATH="$PWD" SCHEMATHESIS_HOOKS=benches.schema_fuzz_hooks st run api/schema.graphql --url "http://127.0.0.1:$port/graphql" \
    --header "Authorization: Bearer $token" \
    --checks no_internal_error \
    --max-time "$per_role" --workers 2 --seed 1 \
    --report junit --report-dir "$out/$r" \
    2>&1 | tee "$out/$r.txt" | tail -n 25 || status=1
done
# The server must have survived all of it.
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { echo "the server died"; status=1; }
grep -c '"INTERNAL"' "$out/server.log" >/dev/null 2>&1 && echo "server log mentions INTERNAL" || true
exit $status

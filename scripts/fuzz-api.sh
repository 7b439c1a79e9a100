#!/usr/bin/env bash
# Fuzzes every route of the API from its own OpenAPI document (schemathesis), with each role's key on
# the operations that role may call and without a key on the public ones, against `relais serve --demo`
# on SQLite: no 5xx, every answer as the document says (status, content type, headers, body), data the
# document refuses is refused, and a refused request changes nothing in the database
# (scripts/fuzz/hooks.py). Then generates a Python client from the document, as a check that a client
# generator reads it. Needs the relais binary (RELAIS_BIN, default target/debug/relais), python3,
# schemathesis and openapi-python-client (.ci/run installs them).
#
#   scripts/fuzz-api.sh [max examples per operation, default 25]
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

examples="${1:-25}"
bin="$(realpath "${RELAIS_BIN:-${CARGO_TARGET_DIR:-target}/debug/relais}")"
work="$(mktemp -d /tmp/relais-fuzz.XXXXXX)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ "${status:-1}" = 0 ]; then rm -rf "$work"; else echo "the run's files are kept in $work"; fi
}
trap cleanup EXIT

# No background job writes while the fuzzer compares the database before and after each request, and
# no public rate limit hides the routes behind 429s. No quiet hours either: the ready SMS the preparation
# reads its recipient's link from must leave whatever the time of the run.
cat >"$work/relais.toml" <<'TOML'
sweep_interval_seconds = 86400
index_rebuild_seconds = 86400
widget_requests_per_minute = 0

[notify]
quiet_hours_start = "00:00"
quiet_hours_end = "00:00"

[tracking]
job = false
TOML
(cd "$work" && RELAIS_LOG=warn exec "$bin" serve --demo --config relais.toml --listen 127.0.0.1:0 >serve.out 2>serve.err) &
server_pid=$!
for _ in $(seq 1 600); do
  grep -q "counter device key" "$work/serve.out" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.err"; exit 1; }
  sleep 0.1
done
grep -q "counter device key" "$work/serve.out" || { echo "relais serve --demo did not start"; cat "$work/serve.err"; exit 1; }

python3 scripts/fuzz/prepare.py "$work"
base="$(cat "$work/base_url")"

export SCHEMATHESIS_HOOKS=hooks
export PYTHONPATH="$PWD/scripts/fuzz${PYTHONPATH:+:$PYTHONPATH}"
export RELAIS_FUZZ_IDS="$work/ids.json"
export RELAIS_FUZZ_DATABASE="$work/relais.db"
checks="not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance"
checks="$checks,response_schema_conformance,negative_data_rejection,state_unchanged_by_refusals"
status=0
for role in public operator merchant carrier locker_device; do
  echo "== schemathesis: ${role}"
  header=()
  if [ "$role" != public ]; then header=(-H "Authorization: Bearer $(cat "$work/key_$role")"); fi
  st --config-file scripts/fuzz/schemathesis.toml run "$work/openapi_$role.json" --url "$base" "${header[@]}" \
    --checks "$checks" --max-examples "$examples" --workers 1 --seed 15 \
    --phases examples,coverage,fuzzing --suppress-health-check all --no-shrink \
    --request-timeout 30 --warnings off --output-truncate true || status=1
done

echo "== openapi-python-client"
(cd "$work" && openapi-python-client generate --path openapi.json --config "$repo/scripts/fuzz/client.yml" \
  --output-path client --overwrite >generate.out 2>&1) \
  || { cat "$work/generate.out"; status=1; }
if [ -d "$work/client" ]; then
  (cd "$work/client" && python3 -c "import relais_api_client.client, relais_api_client.api" && echo "the generated client imports") || status=1
fi
grep -i "warning" "$work/generate.out" && { echo "the client generator warned about the document"; status=1; }
exit $status

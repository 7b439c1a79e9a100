"""Schemathesis hooks for `scripts/fuzz-api.sh`.

- Path ids: most of the time a real one of the demo network (its network, carrier, locker, counter, a
  parcel), so the fuzzer reaches past `404 not_found`; sometimes the generated one.
- `state_unchanged_by_refusals`: a request the API refused (4xx) changed nothing in the database, apart
  from what a refusal is meant to record (wrong-code counters, the audit log, the import history) and
  what the delivery worker writes in the background (deliveries, dispatch columns, endpoint failures)
  and what the tracking job does (a followed parcel's schedule and promise review).
  Requests run one at a time (`--workers 1`), so the database as it stood after the previous answer is
  the state this request found.
"""

import hashlib
import json
import os
import random
import sqlite3

import schemathesis

IDS = json.load(open(os.environ["RELAIS_FUZZ_IDS"]))
DATABASE = os.environ["RELAIS_FUZZ_DATABASE"]
# Written by a refusal on purpose: a wrong code is counted, a refused hand-over audited, a refused
# import reported. `schema_migrations` never changes while serving.
RECORDED_ON_REFUSAL = {"pickup_attempts", "audit_log", "imports", "schema_migrations"}
# What the delivery worker writes in the background, whatever the request in flight: its deliveries,
# the outbox's dispatch columns, an endpoint's failures; and what the tracking job writes on a followed
# parcel (its polls' schedule, its promise's review). The rest of those rows is still compared.
WORKER_TABLES = {"deliveries"}
COLUMNS = {
    "parcel_trackings": "parcel_id, merchant_id, carrier, tracking_number, service_days, shipping_price_cents, "
    "currency, declared_value_cents, service_level, created_at",
    "outbox": "id, topic, parcel_id, payload, created_at",
    "endpoints": "id, merchant_id, kind, target, topics, secret_seal, previous_secret_seal, previous_until, "
    "disabled_at, disabled_reason, created_at",
}
PICK = random.Random(15)


def real_id(path: str, name: str):
    if name == "door":
        return "A01"
    if name == "token":
        return IDS["recipient_link"]
    if name != "id":
        return None
    for prefix, key in [
        ("/v1/networks/", "network"),
        ("/v1/carriers/", "carrier"),
        ("/v1/parcels/", "parcel"),
        ("/v1/drop-off-sessions/", "session"),
    ]:
        if path.startswith(prefix):
            return IDS[key]
    if path.startswith("/v1/points/"):
        counter_only = path.endswith(("/scan-in", "/hand-overs"))
        return IDS["counter"] if counter_only or PICK.random() < 0.2 else IDS["locker"]
    return None


@schemathesis.hook
def map_path_parameters(context, path_parameters):
    if not path_parameters:
        return path_parameters
    path = context.operation.path
    for name in list(path_parameters):
        real = real_id(path, name)
        if real is not None and PICK.random() < 0.75:
            path_parameters[name] = real
    return path_parameters


class Fingerprint:
    """The database's content, table by table, recomputed only after another connection committed."""

    def __init__(self):
        # Schemathesis calls checks from its worker threads (one at a time with `--workers 1`).
        self.connection = sqlite3.connect(DATABASE, timeout=30, check_same_thread=False)
        self.version = None
        self.tables = {}

    def current(self):
        version = self.connection.execute("PRAGMA data_version").fetchone()[0]
        if version != self.version:
            self.version = version
            names = [
                row[0]
                for row in self.connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                if row[0] not in RECORDED_ON_REFUSAL | WORKER_TABLES and not row[0].startswith("sqlite_")
            ]
            tables = {}
            for name in names:
                digest = hashlib.sha256()
                # Some tables have no rowid: sort the rows themselves.
                columns = COLUMNS.get(name, "*")
                for row in sorted(repr(row) for row in self.connection.execute(f'SELECT {columns} FROM "{name}"')):
                    digest.update(row.encode())
                tables[name] = digest.hexdigest()
            self.tables = tables
            # Reading is a transaction of its own: end it, or the next read sees this snapshot.
            self.connection.commit()
        return dict(self.tables)


STATE = {"fingerprint": None, "before": None}


@schemathesis.check
def state_unchanged_by_refusals(ctx, response, case):
    """A refused request (4xx) changes nothing but what a refusal records."""
    if STATE["fingerprint"] is None:
        STATE["fingerprint"] = Fingerprint()
    after = STATE["fingerprint"].current()
    before, STATE["before"] = STATE["before"], after
    if before is None or not (400 <= response.status_code < 500):
        return None
    changed = sorted(name for name in after if before.get(name) != after[name])
    if changed:
        raise AssertionError(f"refused with {response.status_code}, yet changed: {', '.join(changed)}")
    return None

-- The console finds a parcel by its recipient's phone number or e-mail address through their keyed
-- digests (`Secrets::contact_digest`), written with the parcel: the index holds no contact in clear.
-- Parcels announced before this migration have none (the digest needs the instance key).
CREATE TABLE parcel_contacts (
    digest TEXT NOT NULL,
    parcel_id BLOB NOT NULL,
    PRIMARY KEY (digest, parcel_id)
) WITHOUT ROWID;

-- An order found by its reference whatever its merchant (an operator's search).
CREATE INDEX orders_reference_any_idx ON orders (reference);

-- The console's alerts are read from the state that raises them; these keep those reads small.
CREATE INDEX compartments_fault_idx ON compartments (point_id) WHERE fault IS NOT NULL;
CREATE INDEX deliveries_dead_idx ON deliveries (updated_at) WHERE state = 'dead';
CREATE INDEX point_imports_refused_idx ON point_imports (at) WHERE status = 'refused';
CREATE INDEX claims_to_file_deadline_idx ON claims (deadline_at) WHERE state = 'to_file';
CREATE INDEX device_status_offline_idx ON device_status (offline_since) WHERE offline_since IS NOT NULL;

-- An operator saw an alert and said what is being done: one row per occurrence (its key).
CREATE TABLE alert_acknowledgements (
    key TEXT PRIMARY KEY,
    by_name TEXT NOT NULL,
    comment TEXT NOT NULL,
    at INTEGER NOT NULL
) WITHOUT ROWID;

-- A point's device enrolled from the console: a one-time token shown as a QR code, traded once for
-- the device's API key; kept by the keyed digest of the token.
CREATE TABLE device_enrolments (
    token_digest BLOB PRIMARY KEY,
    point_id BLOB NOT NULL,
    label TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
) WITHOUT ROWID;

-- A point's device keys (the console's list of a locker's or counter's devices).
CREATE INDEX api_keys_point_idx ON api_keys (point_id) WHERE point_id IS NOT NULL;

-- An import's changes, point by point (the console's view of an import).
CREATE INDEX point_changes_import_idx ON point_changes (import_id, seq) WHERE import_id IS NOT NULL;

-- relais schema, SQLite. Append-only: never edit a released migration, add the next one.
-- Ids are 16-byte UUIDs (BLOB), instants are microseconds since the Unix epoch (INTEGER, UTC).

CREATE TABLE networks (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    hold_window_hours INTEGER NOT NULL,
    extension_count_max INTEGER NOT NULL,
    extension_hours INTEGER NOT NULL,
    extension_earliest_after_deposit_hours INTEGER NOT NULL,
    reminder_offsets_hours TEXT NOT NULL,
    reservation_hours INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE merchants (
    id BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE pickup_points (
    id BLOB PRIMARY KEY,
    network_id BLOB NOT NULL REFERENCES networks (id),
    external_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    address_line1 TEXT NOT NULL,
    address_line2 TEXT,
    postcode TEXT NOT NULL,
    city TEXT NOT NULL,
    country TEXT NOT NULL,
    latitude REAL NOT NULL,
    longitude REAL NOT NULL,
    timezone TEXT NOT NULL,
    status TEXT NOT NULL,
    shelf_capacity INTEGER NOT NULL,
    shelf_occupied INTEGER NOT NULL CHECK (shelf_occupied >= 0),
    weight_max_g INTEGER NOT NULL,
    dimensions_sum_max_mm INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    version INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX pickup_points_network_id_external_id_key ON pickup_points (network_id, external_id);

CREATE TABLE compartments (
    id BLOB PRIMARY KEY,
    point_id BLOB NOT NULL REFERENCES pickup_points (id),
    label TEXT NOT NULL,
    size TEXT NOT NULL,
    state TEXT NOT NULL,
    parcel_id BLOB,
    reserved_until INTEGER,
    version INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX compartments_point_id_label_key ON compartments (point_id, label);
-- Architecture invariant, enforced by the database as well: a parcel is in at most one compartment.
CREATE UNIQUE INDEX compartments_parcel_id_key ON compartments (parcel_id) WHERE parcel_id IS NOT NULL;
CREATE INDEX compartments_lapsed_idx ON compartments (reserved_until) WHERE state = 'reserved';

CREATE TABLE parcels (
    id BLOB PRIMARY KEY,
    number TEXT NOT NULL,
    merchant_id BLOB NOT NULL REFERENCES merchants (id),
    network_id BLOB NOT NULL REFERENCES networks (id),
    point_id BLOB NOT NULL REFERENCES pickup_points (id),
    recipient_name TEXT NOT NULL,
    recipient_phone TEXT,
    recipient_email TEXT,
    length_mm INTEGER NOT NULL,
    width_mm INTEGER NOT NULL,
    height_mm INTEGER NOT NULL,
    weight_g INTEGER NOT NULL,
    state TEXT NOT NULL,
    incident_kind TEXT,
    compartment_id BLOB,
    code_digest BLOB NOT NULL,
    qr_digest BLOB NOT NULL,
    deposited_at INTEGER,
    pickup_deadline INTEGER,
    extensions_used INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX parcels_number_key ON parcels (number);
CREATE UNIQUE INDEX parcels_qr_digest_key ON parcels (qr_digest);
-- Two parcels on their way to or waiting at one point never share a pickup code.
CREATE UNIQUE INDEX parcels_point_id_code_digest_key ON parcels (point_id, code_digest)
    WHERE state IN ('announced', 'in_transit', 'ready_for_pickup', 'deposit_failed');
CREATE INDEX parcels_merchant_id_idx ON parcels (merchant_id, id);
CREATE INDEX parcels_point_id_idx ON parcels (point_id, id);
CREATE INDEX parcels_due_idx ON parcels (pickup_deadline) WHERE state = 'ready_for_pickup';

CREATE TABLE parcel_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    parcel_id BLOB NOT NULL,
    kind TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    incident_kind TEXT,
    actor_kind TEXT NOT NULL,
    actor_ref TEXT,
    reason TEXT,
    compartment_id BLOB,
    at INTEGER NOT NULL
);
CREATE INDEX parcel_events_parcel_id_idx ON parcel_events (parcel_id, seq);

CREATE TABLE outbox (
    id BLOB PRIMARY KEY,
    topic TEXT NOT NULL,
    parcel_id BLOB,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_at INTEGER
) WITHOUT ROWID;
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE delivered_at IS NULL;

CREATE TABLE pickup_attempts (
    scope_key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_started_at INTEGER NOT NULL,
    locked_until INTEGER,
    version INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE api_keys (
    id BLOB PRIMARY KEY,
    role TEXT NOT NULL,
    merchant_id BLOB REFERENCES merchants (id),
    point_id BLOB REFERENCES pickup_points (id),
    label TEXT NOT NULL,
    digest BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) WITHOUT ROWID;
CREATE UNIQUE INDEX api_keys_digest_key ON api_keys (digest);

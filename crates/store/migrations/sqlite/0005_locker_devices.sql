-- Lockers at work (issue 4): door faults, courier drop-off sessions, door commands, device heartbeats,
-- the audit log of operator and device actions, reminders of waiting parcels, and overflow relocations.
ALTER TABLE compartments ADD COLUMN fault TEXT;

CREATE TABLE drop_off_sessions (
    id BLOB PRIMARY KEY,
    point_id BLOB NOT NULL REFERENCES pickup_points (id),
    purpose TEXT NOT NULL,
    carrier_key_id BLOB NOT NULL REFERENCES api_keys (id),
    opened_at INTEGER NOT NULL,
    closed_at INTEGER,
    version INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE drop_off_items (
    session_id BLOB NOT NULL REFERENCES drop_off_sessions (id),
    parcel_id BLOB NOT NULL REFERENCES parcels (id),
    parcel_number TEXT NOT NULL,
    compartment_id BLOB,
    label TEXT,
    state TEXT NOT NULL,
    reason TEXT,
    relocation_point_id BLOB,
    scanned_at INTEGER NOT NULL,
    done_at INTEGER,
    version INTEGER NOT NULL,
    PRIMARY KEY (session_id, parcel_id)
) WITHOUT ROWID;

CREATE TABLE door_commands (
    id BLOB PRIMARY KEY,
    point_id BLOB NOT NULL REFERENCES pickup_points (id),
    compartment_id BLOB NOT NULL REFERENCES compartments (id),
    label TEXT NOT NULL,
    purpose TEXT NOT NULL,
    parcel_id BLOB,
    session_id BLOB,
    reason TEXT,
    state TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    done_at INTEGER,
    version INTEGER NOT NULL
) WITHOUT ROWID;
-- One door, one pending opening at a time.
CREATE UNIQUE INDEX door_commands_pending_key ON door_commands (compartment_id) WHERE state = 'pending';
CREATE INDEX door_commands_point_pending_idx ON door_commands (point_id, id) WHERE state = 'pending';

CREATE TABLE device_status (
    point_id BLOB PRIMARY KEY REFERENCES pickup_points (id),
    key_id BLOB NOT NULL,
    last_seen_at INTEGER NOT NULL,
    doors TEXT NOT NULL,
    firmware TEXT,
    -- Set by the job that notices a silent device; cleared by its next heartbeat.
    offline_since INTEGER
) WITHOUT ROWID;

CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_ref TEXT,
    action TEXT NOT NULL,
    point_id BLOB,
    compartment_id BLOB,
    parcel_id BLOB,
    reason TEXT
);
CREATE INDEX audit_log_point_idx ON audit_log (point_id, seq);
CREATE INDEX audit_log_parcel_idx ON audit_log (parcel_id, seq) WHERE parcel_id IS NOT NULL;

ALTER TABLE parcels ADD COLUMN reminders_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE parcels ADD COLUMN next_reminder_at INTEGER;
CREATE INDEX parcels_reminder_idx ON parcels (next_reminder_at)
    WHERE state = 'ready_for_pickup' AND next_reminder_at IS NOT NULL;
-- The point the recipient chose, while an overflow parcel waits at a temporary point.
ALTER TABLE parcels ADD COLUMN relocated_from BLOB REFERENCES pickup_points (id);

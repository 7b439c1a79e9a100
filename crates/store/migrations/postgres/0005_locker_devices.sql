-- Lockers at work (issue 4): door faults, courier drop-off sessions, door commands, device heartbeats,
-- the audit log of operator and device actions, reminders of waiting parcels, and overflow relocations.
ALTER TABLE compartments ADD COLUMN fault TEXT;

CREATE TABLE drop_off_sessions (
    id UUID PRIMARY KEY,
    point_id UUID NOT NULL REFERENCES pickup_points (id),
    purpose TEXT NOT NULL,
    carrier_key_id UUID NOT NULL REFERENCES api_keys (id),
    opened_at TIMESTAMPTZ NOT NULL,
    closed_at TIMESTAMPTZ,
    version BIGINT NOT NULL
);

CREATE TABLE drop_off_items (
    session_id UUID NOT NULL REFERENCES drop_off_sessions (id),
    parcel_id UUID NOT NULL REFERENCES parcels (id),
    parcel_number TEXT NOT NULL,
    compartment_id UUID,
    label TEXT,
    state TEXT NOT NULL,
    reason TEXT,
    relocation_point_id UUID,
    scanned_at TIMESTAMPTZ NOT NULL,
    done_at TIMESTAMPTZ,
    version BIGINT NOT NULL,
    PRIMARY KEY (session_id, parcel_id)
);

CREATE TABLE door_commands (
    id UUID PRIMARY KEY,
    point_id UUID NOT NULL REFERENCES pickup_points (id),
    compartment_id UUID NOT NULL REFERENCES compartments (id),
    label TEXT NOT NULL,
    purpose TEXT NOT NULL,
    parcel_id UUID,
    session_id UUID,
    reason TEXT,
    state TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    done_at TIMESTAMPTZ,
    version BIGINT NOT NULL
);
-- One door, one pending opening at a time.
CREATE UNIQUE INDEX door_commands_pending_key ON door_commands (compartment_id) WHERE state = 'pending';
CREATE INDEX door_commands_point_pending_idx ON door_commands (point_id, id) WHERE state = 'pending';

CREATE TABLE device_status (
    point_id UUID PRIMARY KEY REFERENCES pickup_points (id),
    key_id UUID NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    doors TEXT NOT NULL,
    firmware TEXT,
    -- Set by the job that notices a silent device; cleared by its next heartbeat.
    offline_since TIMESTAMPTZ
);

CREATE TABLE audit_log (
    seq BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_ref TEXT,
    action TEXT NOT NULL,
    point_id UUID,
    compartment_id UUID,
    parcel_id UUID,
    reason TEXT
);
CREATE INDEX audit_log_point_idx ON audit_log (point_id, seq);
CREATE INDEX audit_log_parcel_idx ON audit_log (parcel_id, seq) WHERE parcel_id IS NOT NULL;

ALTER TABLE parcels ADD COLUMN reminders_sent BIGINT NOT NULL DEFAULT 0;
ALTER TABLE parcels ADD COLUMN next_reminder_at TIMESTAMPTZ;
CREATE INDEX parcels_reminder_idx ON parcels (next_reminder_at)
    WHERE state = 'ready_for_pickup' AND next_reminder_at IS NOT NULL;
-- The point the recipient chose, while an overflow parcel waits at a temporary point.
ALTER TABLE parcels ADD COLUMN relocated_from UUID REFERENCES pickup_points (id);

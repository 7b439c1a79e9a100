-- relais schema, PostgreSQL. Append-only: never edit a released migration, add the next one.
-- Ids are UUIDs, instants timestamptz. Same tables and columns as the SQLite schema (a test checks).

CREATE TABLE networks (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    hold_window_hours BIGINT NOT NULL,
    extension_count_max BIGINT NOT NULL,
    extension_hours BIGINT NOT NULL,
    extension_earliest_after_deposit_hours BIGINT NOT NULL,
    reminder_offsets_hours TEXT NOT NULL,
    reservation_hours BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE merchants (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE pickup_points (
    id UUID PRIMARY KEY,
    network_id UUID NOT NULL REFERENCES networks (id),
    external_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    address_line1 TEXT NOT NULL,
    address_line2 TEXT,
    postcode TEXT NOT NULL,
    city TEXT NOT NULL,
    country TEXT NOT NULL,
    latitude DOUBLE PRECISION NOT NULL,
    longitude DOUBLE PRECISION NOT NULL,
    timezone TEXT NOT NULL,
    status TEXT NOT NULL,
    shelf_capacity BIGINT NOT NULL,
    shelf_occupied BIGINT NOT NULL CHECK (shelf_occupied >= 0),
    weight_max_g BIGINT NOT NULL,
    dimensions_sum_max_mm BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL
);
CREATE UNIQUE INDEX pickup_points_network_id_external_id_key ON pickup_points (network_id, external_id);

CREATE TABLE compartments (
    id UUID PRIMARY KEY,
    point_id UUID NOT NULL REFERENCES pickup_points (id),
    label TEXT NOT NULL,
    size TEXT NOT NULL,
    state TEXT NOT NULL,
    parcel_id UUID,
    reserved_until TIMESTAMPTZ,
    version BIGINT NOT NULL
);
CREATE UNIQUE INDEX compartments_point_id_label_key ON compartments (point_id, label);
-- Architecture invariant, enforced by the database as well: a parcel is in at most one compartment.
CREATE UNIQUE INDEX compartments_parcel_id_key ON compartments (parcel_id) WHERE parcel_id IS NOT NULL;
CREATE INDEX compartments_lapsed_idx ON compartments (reserved_until) WHERE state = 'reserved';

CREATE TABLE parcels (
    id UUID PRIMARY KEY,
    number TEXT NOT NULL,
    merchant_id UUID NOT NULL REFERENCES merchants (id),
    network_id UUID NOT NULL REFERENCES networks (id),
    point_id UUID NOT NULL REFERENCES pickup_points (id),
    recipient_name TEXT NOT NULL,
    recipient_phone TEXT,
    recipient_email TEXT,
    length_mm BIGINT NOT NULL,
    width_mm BIGINT NOT NULL,
    height_mm BIGINT NOT NULL,
    weight_g BIGINT NOT NULL,
    state TEXT NOT NULL,
    incident_kind TEXT,
    compartment_id UUID,
    code_digest BYTEA NOT NULL,
    qr_digest BYTEA NOT NULL,
    deposited_at TIMESTAMPTZ,
    pickup_deadline TIMESTAMPTZ,
    extensions_used BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL
);
CREATE UNIQUE INDEX parcels_number_key ON parcels (number);
CREATE UNIQUE INDEX parcels_qr_digest_key ON parcels (qr_digest);
-- Two parcels on their way to or waiting at one point never share a pickup code.
CREATE UNIQUE INDEX parcels_point_id_code_digest_key ON parcels (point_id, code_digest)
    WHERE state IN ('announced', 'in_transit', 'ready_for_pickup', 'deposit_failed');
CREATE INDEX parcels_merchant_id_idx ON parcels (merchant_id, id);
CREATE INDEX parcels_point_id_idx ON parcels (point_id, id);
CREATE INDEX parcels_due_idx ON parcels (pickup_deadline) WHERE state = 'ready_for_pickup';

CREATE TABLE parcel_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parcel_id UUID NOT NULL,
    kind TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    incident_kind TEXT,
    actor_kind TEXT NOT NULL,
    actor_ref TEXT,
    reason TEXT,
    compartment_id UUID,
    at TIMESTAMPTZ NOT NULL
);
CREATE INDEX parcel_events_parcel_id_idx ON parcel_events (parcel_id, seq);

CREATE TABLE outbox (
    id UUID PRIMARY KEY,
    topic TEXT NOT NULL,
    parcel_id UUID,
    payload JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    delivered_at TIMESTAMPTZ
);
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE delivered_at IS NULL;

CREATE TABLE pickup_attempts (
    scope_key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_started_at TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ,
    version BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id UUID PRIMARY KEY,
    role TEXT NOT NULL,
    merchant_id UUID REFERENCES merchants (id),
    point_id UUID REFERENCES pickup_points (id),
    label TEXT NOT NULL,
    digest BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX api_keys_digest_key ON api_keys (digest);

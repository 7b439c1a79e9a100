-- Carrier tracking (docs/tracking.md): what relais follows of a parcel at its carrier (the carrier's API
-- and number, when to ask next), and the events the carrier gave, each once.
CREATE TABLE parcel_trackings (
    parcel_id UUID PRIMARY KEY REFERENCES parcels (id),
    merchant_id UUID NOT NULL REFERENCES merchants (id),
    carrier TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    status TEXT,
    last_event_at TIMESTAMPTZ,
    next_poll_at TIMESTAMPTZ,
    quiet_polls BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX parcel_trackings_number_idx ON parcel_trackings (carrier, tracking_number);
CREATE INDEX parcel_trackings_due_idx ON parcel_trackings (next_poll_at) WHERE next_poll_at IS NOT NULL;

-- An event is the carrier's code at an instant: the same one read twice (a poll and a push, two polls)
-- is kept once.
CREATE TABLE carrier_events (
    parcel_id UUID NOT NULL REFERENCES parcels (id),
    at TIMESTAMPTZ NOT NULL,
    code TEXT NOT NULL,
    offset_seconds BIGINT NOT NULL,
    carrier TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    place TEXT,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (parcel_id, at, code)
);

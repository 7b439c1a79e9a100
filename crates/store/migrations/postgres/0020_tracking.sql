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
    -- The promise: the service level's working days (and its name), the shipping price it was paid
    -- for, the goods' declared value, the day the
    -- carrier took the parcel and the day it is due (ISO dates), when it was delivered (available at
    -- its point), when the recipient was told of a delay and why.
    service_days BIGINT,
    shipping_price_cents BIGINT,
    currency TEXT,
    declared_value_cents BIGINT,
    service_level TEXT,
    shipped_on TEXT,
    due_on TEXT,
    delivered_at TIMESTAMPTZ,
    delay_told_at TIMESTAMPTZ,
    delay_reason TEXT,
    -- When the promise is looked at again (delays, lateness, loss); none once settled.
    next_review_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX parcel_trackings_review_idx ON parcel_trackings (next_review_at) WHERE next_review_at IS NOT NULL;
CREATE UNIQUE INDEX parcel_trackings_number_idx ON parcel_trackings (carrier, tracking_number);
CREATE INDEX parcel_trackings_due_idx ON parcel_trackings (carrier, next_poll_at) WHERE next_poll_at IS NOT NULL;

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

-- Claims against carriers (docs/claims.md): late-delivery compensation, lost and damaged parcels. One of
-- each kind per parcel.
CREATE TABLE claims (
    id UUID PRIMARY KEY,
    parcel_id UUID NOT NULL REFERENCES parcels (id),
    merchant_id UUID NOT NULL REFERENCES merchants (id),
    carrier TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    late_days BIGINT NOT NULL,
    amount_claimed_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    amount_accepted_cents BIGINT,
    reason TEXT,
    -- The delivery (late, damaged) or the day the parcel was presumed lost.
    occurred_at TIMESTAMPTZ NOT NULL,
    deadline_at TIMESTAMPTZ NOT NULL,
    next_reminder_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL
);
CREATE UNIQUE INDEX claims_parcel_kind_idx ON claims (parcel_id, kind);
CREATE INDEX claims_carrier_idx ON claims (carrier, kind, occurred_at);
CREATE INDEX claims_reminder_idx ON claims (next_reminder_at) WHERE next_reminder_at IS NOT NULL;

-- Evidence (photos of a damaged parcel...) stored once by its SHA-256, and the claims it supports.
CREATE TABLE evidence (
    sha256 TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    bytes BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE claim_evidence (
    claim_id UUID NOT NULL REFERENCES claims (id),
    sha256 TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (claim_id, sha256)
);

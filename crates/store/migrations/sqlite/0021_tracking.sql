-- Carrier tracking (docs/tracking.md): what relais follows of a parcel at its carrier (the carrier's API
-- and number, when to ask next), and the events the carrier gave, each once.
CREATE TABLE parcel_trackings (
    parcel_id BLOB PRIMARY KEY REFERENCES parcels (id),
    merchant_id BLOB NOT NULL REFERENCES merchants (id),
    carrier TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    status TEXT,
    last_event_at INTEGER,
    next_poll_at INTEGER,
    quiet_polls INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    last_error TEXT,
    -- The promise: the service level's working days (and its name), the shipping price it was paid
    -- for, the goods' declared value, the day the
    -- carrier took the parcel and the day it is due (ISO dates), when it was delivered (available at
    -- its point), when the recipient was told of a delay and why.
    service_days INTEGER,
    shipping_price_cents INTEGER,
    currency TEXT,
    declared_value_cents INTEGER,
    service_level TEXT,
    shipped_on TEXT,
    due_on TEXT,
    delivered_at INTEGER,
    delay_told_at INTEGER,
    delay_reason TEXT,
    -- When the promise is looked at again (delays, lateness, loss); none once settled.
    next_review_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX parcel_trackings_review_idx ON parcel_trackings (next_review_at) WHERE next_review_at IS NOT NULL;
CREATE UNIQUE INDEX parcel_trackings_number_idx ON parcel_trackings (carrier, tracking_number);
CREATE INDEX parcel_trackings_due_idx ON parcel_trackings (carrier, next_poll_at) WHERE next_poll_at IS NOT NULL;

-- An event is the carrier's code at an instant: the same one read twice (a poll and a push, two polls)
-- is kept once.
CREATE TABLE carrier_events (
    parcel_id BLOB NOT NULL REFERENCES parcels (id),
    at INTEGER NOT NULL,
    code TEXT NOT NULL,
    offset_seconds INTEGER NOT NULL,
    carrier TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    place TEXT,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (parcel_id, at, code)
) WITHOUT ROWID;

-- Claims against carriers (docs/claims.md): late-delivery compensation, lost and damaged parcels. One of
-- each kind per parcel.
CREATE TABLE claims (
    id BLOB PRIMARY KEY,
    parcel_id BLOB NOT NULL REFERENCES parcels (id),
    merchant_id BLOB NOT NULL REFERENCES merchants (id),
    carrier TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    late_days INTEGER NOT NULL,
    amount_claimed_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    amount_accepted_cents INTEGER,
    reason TEXT,
    -- The delivery (late, damaged) or the day the parcel was presumed lost.
    occurred_at INTEGER NOT NULL,
    deadline_at INTEGER NOT NULL,
    next_reminder_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX claims_parcel_kind_idx ON claims (parcel_id, kind);
CREATE INDEX claims_carrier_idx ON claims (carrier, kind, occurred_at);
CREATE INDEX claims_reminder_idx ON claims (next_reminder_at) WHERE next_reminder_at IS NOT NULL;

-- Evidence (photos of a damaged parcel...) stored once by its SHA-256, and the claims it supports.
CREATE TABLE evidence (
    sha256 TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE claim_evidence (
    claim_id BLOB NOT NULL REFERENCES claims (id),
    sha256 TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (claim_id, sha256)
);

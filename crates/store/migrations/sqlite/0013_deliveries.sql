-- The outbox delivered (docs/adr/0015). A worker claims undispatched messages with a lease, fans each
-- out into its deliveries (one per channel and address) and marks it dispatched in one transaction.
-- `attempts` and `delivered_at` were never set: a message's attempts are its deliveries' now.
ALTER TABLE outbox DROP COLUMN attempts;
ALTER TABLE outbox DROP COLUMN delivered_at;
ALTER TABLE outbox ADD COLUMN dispatched_at INTEGER;
ALTER TABLE outbox ADD COLUMN lease_until INTEGER;
ALTER TABLE outbox ADD COLUMN lease_id BLOB;
-- Messages written before there was a worker are history: sending them now would tell recipients of
-- parcels long gone.
UPDATE outbox SET dispatched_at = created_at;
CREATE INDEX outbox_undispatched_idx ON outbox (id) WHERE dispatched_at IS NULL;
-- A claim reads back what it leased.
CREATE INDEX outbox_lease_idx ON outbox (lease_id) WHERE lease_id IS NOT NULL;

-- One message on one channel to one address. Kept after its message is pruned, as the parcel's history.
CREATE TABLE deliveries (
    id BLOB PRIMARY KEY,
    outbox_id BLOB NOT NULL,
    topic TEXT NOT NULL,
    parcel_id BLOB,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_until INTEGER,
    lease_id BLOB,
    last_error TEXT,
    provider_ref TEXT,
    provider_status TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT deliveries_destination_key UNIQUE (outbox_id, channel, address)
);
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_parcel_idx ON deliveries (parcel_id) WHERE parcel_id IS NOT NULL;
CREATE INDEX deliveries_lease_idx ON deliveries (lease_id) WHERE lease_id IS NOT NULL;
CREATE INDEX deliveries_provider_ref_idx ON deliveries (provider_ref) WHERE provider_ref IS NOT NULL;

-- What providers reported about the messages they took (Twilio's status callbacks), kept in order. A
-- report that comes before the delivery's outcome is recorded (a fast provider) is taken up with it.
CREATE TABLE provider_reports (
    channel TEXT NOT NULL,
    provider_ref TEXT NOT NULL,
    status TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX provider_reports_ref_idx ON provider_reports (channel, provider_ref, at);

-- A merchant's branding in its recipients' e-mails: its colour, its logo, the sender's name.
ALTER TABLE merchants ADD COLUMN brand_color TEXT;
ALTER TABLE merchants ADD COLUMN logo_url TEXT;
ALTER TABLE merchants ADD COLUMN sender_name TEXT;

-- The language of the recipient's messages.
ALTER TABLE parcels ADD COLUMN recipient_language TEXT NOT NULL DEFAULT 'fr';

-- Where merchants and operators receive events: signed webhooks, or e-mail for operators' alerts. The
-- signing secrets are sealed under the instance key (as the pickup codes, ADR 14); while one rotates,
-- the previous one signs too, until `previous_until`.
CREATE TABLE endpoints (
    id BLOB PRIMARY KEY,
    merchant_id BLOB REFERENCES merchants (id),
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    topics TEXT NOT NULL,
    secret_seal BLOB,
    previous_secret_seal BLOB,
    previous_until INTEGER,
    disabled_at INTEGER,
    disabled_reason TEXT,
    failing_since INTEGER,
    created_at INTEGER NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX endpoints_merchant_idx ON endpoints (merchant_id);

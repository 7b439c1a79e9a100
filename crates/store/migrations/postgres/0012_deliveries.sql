-- The outbox delivered (docs/adr/0015). A worker claims undispatched messages with a lease, fans each
-- out into its deliveries (one per channel and address) and marks it dispatched in one transaction.
-- `attempts` and `delivered_at` were never set: a message's attempts are its deliveries' now.
ALTER TABLE outbox DROP COLUMN attempts;
ALTER TABLE outbox DROP COLUMN delivered_at;
ALTER TABLE outbox ADD COLUMN dispatched_at TIMESTAMPTZ;
ALTER TABLE outbox ADD COLUMN lease_until TIMESTAMPTZ;
ALTER TABLE outbox ADD COLUMN lease_id UUID;
-- Messages written before there was a worker are history: sending them now would tell recipients of
-- parcels long gone.
UPDATE outbox SET dispatched_at = created_at;
CREATE INDEX outbox_undispatched_idx ON outbox (id) WHERE dispatched_at IS NULL;
-- A claim reads back what it leased.
CREATE INDEX outbox_lease_idx ON outbox (lease_id) WHERE lease_id IS NOT NULL;

-- One message on one channel to one address. Kept after its message is pruned, as the parcel's history.
CREATE TABLE deliveries (
    id UUID PRIMARY KEY,
    outbox_id UUID NOT NULL,
    topic TEXT NOT NULL,
    parcel_id UUID,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until TIMESTAMPTZ,
    lease_id UUID,
    last_error TEXT,
    provider_ref TEXT,
    provider_status TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
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
    at TIMESTAMPTZ NOT NULL
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
    id UUID PRIMARY KEY,
    merchant_id UUID REFERENCES merchants (id),
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    topics TEXT NOT NULL,
    secret_seal BYTEA,
    previous_secret_seal BYTEA,
    previous_until TIMESTAMPTZ,
    disabled_at TIMESTAMPTZ,
    disabled_reason TEXT,
    failing_since TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX endpoints_merchant_idx ON endpoints (merchant_id);

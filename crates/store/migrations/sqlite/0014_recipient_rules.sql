-- Recipients who asked to stop a channel from the link in their messages: kept by a keyed digest of
-- the phone number or e-mail address (never the contact itself), for every later parcel.
CREATE TABLE opt_outs (
    contact_digest TEXT NOT NULL,
    channel TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (contact_digest, channel)
);

-- The satisfaction survey: one answer per collected parcel (a second replaces the first), with what it
-- is counted against (merchant, network, point, carrier) copied so that the NPS needs no join.
CREATE TABLE survey_answers (
    parcel_id BLOB PRIMARY KEY REFERENCES parcels (id),
    merchant_id BLOB NOT NULL,
    network_id BLOB NOT NULL,
    point_id BLOB NOT NULL,
    carrier_id BLOB,
    score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),
    comment TEXT,
    publish INTEGER NOT NULL,
    answered_at INTEGER NOT NULL
);
CREATE INDEX survey_answers_at_idx ON survey_answers (answered_at);

-- The operators' templates, replacing the defaults part by part.
CREATE TABLE message_templates (
    notice TEXT NOT NULL,
    lang TEXT NOT NULL,
    part TEXT NOT NULL,
    source TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (notice, lang, part)
);

-- The per-recipient rate limit counts a contact's recent messages.
CREATE INDEX deliveries_address_idx ON deliveries (address, next_attempt_at) WHERE parcel_id IS NOT NULL;

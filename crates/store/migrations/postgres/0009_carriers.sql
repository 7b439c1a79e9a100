-- Carriers (issue 15): a carrier key sees and acts on the parcels handed to it, by the merchant's choice
-- of carrier (`parcels.carrier_id`) or, when the merchant named none, by the networks the carrier serves.
CREATE TABLE carriers (
    id UUID PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE carrier_networks (
    carrier_id UUID NOT NULL REFERENCES carriers (id),
    network_id UUID NOT NULL REFERENCES networks (id),
    PRIMARY KEY (carrier_id, network_id)
);
-- A carrier key names its carrier; keys made before carriers existed name none and see nothing.
ALTER TABLE api_keys ADD COLUMN carrier_id UUID REFERENCES carriers (id);
ALTER TABLE parcels ADD COLUMN carrier_id UUID REFERENCES carriers (id);

-- A parcel number is unique per merchant, no longer across merchants: a merchant announcing a number
-- another merchant uses learned that it existed (409). The number first: the same index serves lookups
-- by number (a courier's scan), one B-tree as before.
DROP INDEX parcels_number_key;
CREATE UNIQUE INDEX parcels_number_merchant_id_key ON parcels (number, merchant_id);

-- A locked keypad still checks one code per probe period (`AttemptLimits::probe_seconds`).
ALTER TABLE pickup_attempts ADD COLUMN probed_at TIMESTAMPTZ;

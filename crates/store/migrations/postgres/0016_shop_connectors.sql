-- A merchant's connectors to its shop platforms (docs/connectors.md): the webhook secret sealed under
-- the instance key (as endpoint secrets are), and the parcel an order makes when the shop gives no size.
CREATE TABLE shop_connectors (
    merchant_id UUID NOT NULL REFERENCES merchants (id),
    platform TEXT NOT NULL,
    secret_seal BYTEA NOT NULL,
    length_mm BIGINT NOT NULL,
    width_mm BIGINT NOT NULL,
    height_mm BIGINT NOT NULL,
    weight_g BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (merchant_id, platform)
);

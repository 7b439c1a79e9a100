-- A merchant's connectors to its shop platforms (docs/connectors.md): the webhook secret sealed under
-- the instance key (as endpoint secrets are), and the parcel an order makes when the shop gives no size.
CREATE TABLE shop_connectors (
    merchant_id BLOB NOT NULL REFERENCES merchants (id),
    platform TEXT NOT NULL,
    secret_seal BLOB NOT NULL,
    length_mm INTEGER NOT NULL,
    width_mm INTEGER NOT NULL,
    height_mm INTEGER NOT NULL,
    weight_g INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, platform)
);

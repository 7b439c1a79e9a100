-- Writing an order's fulfilment back to its shop (docs/connectors.md): the shop's API and its token
-- (sealed under the instance key, as the webhook secret), and per order how far it was written.
ALTER TABLE shop_connectors ADD COLUMN api_url TEXT;
ALTER TABLE shop_connectors ADD COLUMN api_username TEXT;
ALTER TABLE shop_connectors ADD COLUMN api_token_seal BLOB;

CREATE TABLE shop_orders (
    order_id BLOB PRIMARY KEY REFERENCES orders (id),
    merchant_id BLOB NOT NULL REFERENCES merchants (id),
    platform TEXT NOT NULL,
    shop_order_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    shop_ref TEXT,
    attempts INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    updated_at INTEGER NOT NULL
);
CREATE INDEX shop_orders_due_idx ON shop_orders (next_attempt_at) WHERE stage NOT IN ('delivered', 'ended');

-- A merchant's orders (docs/orders.md): the customer, the chosen point and the one the parcels went to
-- (a fallback when the chosen one could not take them), the lines and the shipping price in cents.
-- The same idempotency key gives the same order; a reference is the merchant's, once.
CREATE TABLE orders (
    id BLOB PRIMARY KEY,
    merchant_id BLOB NOT NULL REFERENCES merchants (id),
    reference TEXT NOT NULL,
    idempotency_key TEXT,
    request_digest TEXT NOT NULL,
    customer_name TEXT NOT NULL,
    customer_phone TEXT,
    customer_email TEXT,
    customer_language TEXT,
    chosen_point_id BLOB NOT NULL,
    point_id BLOB,
    service_level TEXT NOT NULL,
    shipping_price_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    lines TEXT NOT NULL,
    fallback TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX orders_reference_idx ON orders (merchant_id, reference);
CREATE UNIQUE INDEX orders_idempotency_key_idx ON orders (merchant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- The parcels of an order, by shipment (1, then the remainders sent later).
CREATE TABLE order_parcels (
    order_id BLOB NOT NULL REFERENCES orders (id),
    parcel_id BLOB NOT NULL REFERENCES parcels (id),
    shipment INTEGER NOT NULL,
    PRIMARY KEY (order_id, parcel_id)
);
CREATE INDEX order_parcels_parcel_idx ON order_parcels (parcel_id);

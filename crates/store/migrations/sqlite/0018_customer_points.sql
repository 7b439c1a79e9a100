-- The point each of a merchant's customers used last, by the keyed digest of their e-mail address or
-- phone number (never the contact itself): proposed first the next time (docs/orders.md).
CREATE TABLE customer_points (
    merchant_id BLOB NOT NULL REFERENCES merchants (id),
    contact_digest TEXT NOT NULL,
    point_id BLOB NOT NULL,
    used_at INTEGER NOT NULL,
    PRIMARY KEY (merchant_id, contact_digest)
);

-- The outbox is appended to at every command and read in id order by the delivery workers.
--
-- `outbox_pending_idx` filed every row again (nothing sets `delivered_at`; readers page through the
-- outbox by id, `Store::outbox(after)`), an index write per message that no query used.
--
-- And as a table WITHOUT ROWID, each message lived in an index B-tree, where SQLite keeps at most about
-- a quarter of a page in the cell and moves the rest to overflow pages: a deposit's message (the
-- recipient's text in two languages) took several page writes. A rowid table keeps up to a whole page
-- in the cell, and appends. The primary key on `id` stays (an index of the ids, in time order).
CREATE TABLE outbox_rowid (
    id BLOB PRIMARY KEY,
    topic TEXT NOT NULL,
    parcel_id BLOB,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_at INTEGER
);
INSERT INTO outbox_rowid (id, topic, parcel_id, payload, created_at, attempts, delivered_at)
    SELECT id, topic, parcel_id, payload, created_at, attempts, delivered_at FROM outbox ORDER BY id;
DROP TABLE outbox;
ALTER TABLE outbox_rowid RENAME TO outbox;

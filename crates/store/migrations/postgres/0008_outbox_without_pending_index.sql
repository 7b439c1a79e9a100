-- `outbox_pending_idx` filed every message a second time, and no query used it: nothing sets
-- `delivered_at`, and readers page through the outbox by id (`Store::outbox(after)`). Every command paid
-- an index write for it.
DROP INDEX outbox_pending_idx;

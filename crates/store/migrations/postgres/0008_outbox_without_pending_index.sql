-- `outbox_pending_idx` filed every message a second time: nothing sets `delivered_at`; readers page through
-- the outbox by id, `Store::outbox(after)`), so no query used it, and every command paid an index write for it.
DROP INDEX outbox_pending_idx;

-- Fewer index pages written per parcel (issue 2, docs/benchmarks.md). Each index entry a command adds or
-- removes dirties a page of its own, and on SQLite every dirtied page is written whole to the WAL.

-- A QR token names its parcel and is checked against the parcel's own digest (app/src/signed.rs), so
-- nothing looks a parcel up by that digest: the unique index only cost a page at a random place per parcel.
DROP INDEX parcels_qr_digest_key;

-- A parcel without a phone number (or without an e-mail address) can never be found by one: leave it out
-- of that index instead of filing it under NULL. A lookup `recipient_phone = ?` implies `IS NOT NULL`, so
-- both engines still use these indexes for it.
DROP INDEX parcels_waiting_phone_idx;
DROP INDEX parcels_waiting_email_idx;
CREATE INDEX parcels_waiting_phone_idx ON parcels (point_id, recipient_phone)
    WHERE state = 'ready_for_pickup' AND recipient_phone IS NOT NULL;
CREATE INDEX parcels_waiting_email_idx ON parcels (point_id, recipient_email)
    WHERE state = 'ready_for_pickup' AND recipient_email IS NOT NULL;

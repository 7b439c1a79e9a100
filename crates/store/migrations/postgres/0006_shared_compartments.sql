-- Shared compartments (issue 4): parcels of one recipient from one merchant that fit together share a
-- door. `parcel_id` keeps naming the first one in; the others are listed here, comma-separated, in the
-- order they went in. Empty unless the compartment is occupied.
ALTER TABLE compartments ADD COLUMN sharers TEXT NOT NULL DEFAULT '';

-- A recipient's parcels waiting at a point, by phone or by e-mail: where a new parcel of theirs may share
-- a door. Partial, so only waiting parcels are indexed.
CREATE INDEX parcels_waiting_phone_idx ON parcels (point_id, recipient_phone) WHERE state = 'ready_for_pickup';
CREATE INDEX parcels_waiting_email_idx ON parcels (point_id, recipient_email) WHERE state = 'ready_for_pickup';

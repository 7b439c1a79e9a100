-- The live keys of a carrier, by carrier: a courier code typed on a locker's keypad is compared with the
-- codes of the keys of the carriers serving its network, read at each session opened there. Without it
-- that read scanned every key, the lockers' own device keys included (one per locker).
CREATE INDEX api_keys_live_carrier_id ON api_keys (carrier_id) WHERE revoked_at IS NULL;

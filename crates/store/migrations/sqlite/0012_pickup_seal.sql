-- A parcel's pickup code and QR token sealed for the recipient's messages (ChaCha20-Poly1305 under a key
-- derived from the instance key, which is not in the database; docs/adr/0014): written at announce and
-- when a lost code is re-issued, erased when the parcel's code dies (collected, returned, cancelled).
ALTER TABLE parcels ADD COLUMN pickup_seal BLOB;

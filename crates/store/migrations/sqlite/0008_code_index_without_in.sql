-- SQLite evaluates a partial index's `state IN (four values)` by building a temporary B-tree of the four
-- values (a pager, a page cache, four inserts) each time a row is checked against it: once per parcel
-- insert and twice per parcel update, about five per lifecycle on the single writer (issue 2,
-- docs/benchmarks.md). The same condition written with `OR` is compared in place. Lookups must use the
-- very same `OR` condition for SQLite to know the partial index applies (sqlite.rs, `parcel_by_code`).
DROP INDEX parcels_point_id_code_digest_key;
CREATE UNIQUE INDEX parcels_point_id_code_digest_key ON parcels (point_id, code_digest)
    WHERE (state = 'announced' OR state = 'in_transit' OR state = 'ready_for_pickup' OR state = 'deposit_failed');

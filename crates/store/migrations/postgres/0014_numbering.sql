-- Parcel numbers relais issues (SSCC-18 per merchant, UPU S10 per network): each series hands out
-- blocks of serials to the processes that issue them; `next_serial` is where the next block starts.
CREATE TABLE number_series (
    id TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    next_serial BIGINT NOT NULL,
    version BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- The blocks taken, by definition (the numbers a definition makes are the same whoever owns it): a
-- serial is not taken again within a year of its block (GS1's rule for SSCCs).
CREATE TABLE number_blocks (
    definition TEXT NOT NULL,
    start_serial BIGINT NOT NULL,
    serials BIGINT NOT NULL,
    taken_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX number_blocks_definition_idx ON number_blocks (definition, start_serial);

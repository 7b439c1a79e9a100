-- The point registry: services, where each record comes from, when its registry fields last changed;
-- the imports of operators' files and the history of every point's changes.
ALTER TABLE pickup_points ADD COLUMN services TEXT NOT NULL DEFAULT 'collect';
ALTER TABLE pickup_points ADD COLUMN source TEXT NOT NULL DEFAULT 'api';
ALTER TABLE pickup_points ADD COLUMN updated_at TIMESTAMPTZ;
UPDATE pickup_points SET updated_at = created_at;
ALTER TABLE pickup_points ALTER COLUMN updated_at SET NOT NULL;

CREATE TABLE point_imports (
    id UUID PRIMARY KEY,
    network_id UUID NOT NULL REFERENCES networks (id),
    format TEXT NOT NULL,
    source TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL,
    rows_total BIGINT NOT NULL,
    rows_refused BIGINT NOT NULL,
    added BIGINT NOT NULL,
    changed BIGINT NOT NULL,
    moved BIGINT NOT NULL,
    closed BIGINT NOT NULL,
    reopened BIGINT NOT NULL,
    removed BIGINT NOT NULL,
    unchanged BIGINT NOT NULL,
    problems TEXT NOT NULL
);
CREATE INDEX point_imports_network_id ON point_imports (network_id, id);

CREATE TABLE point_changes (
    seq BIGSERIAL PRIMARY KEY,
    point_id UUID NOT NULL REFERENCES pickup_points (id),
    import_id UUID REFERENCES point_imports (id),
    at TIMESTAMPTZ NOT NULL,
    kind TEXT NOT NULL,
    fields TEXT NOT NULL
);
CREATE INDEX point_changes_point_id ON point_changes (point_id, seq);

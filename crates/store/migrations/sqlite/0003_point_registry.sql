-- The point registry: services, where each record comes from, when its registry fields last changed;
-- the imports of operators' files and the history of every point's changes.
ALTER TABLE pickup_points ADD COLUMN services TEXT NOT NULL DEFAULT 'collect';
ALTER TABLE pickup_points ADD COLUMN source TEXT NOT NULL DEFAULT 'api';
ALTER TABLE pickup_points ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE pickup_points SET updated_at = created_at;

CREATE TABLE point_imports (
    id BLOB PRIMARY KEY,
    network_id BLOB NOT NULL REFERENCES networks (id),
    format TEXT NOT NULL,
    source TEXT NOT NULL,
    at INTEGER NOT NULL,
    status TEXT NOT NULL,
    rows_total INTEGER NOT NULL,
    rows_refused INTEGER NOT NULL,
    added INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    moved INTEGER NOT NULL,
    closed INTEGER NOT NULL,
    reopened INTEGER NOT NULL,
    removed INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    problems TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX point_imports_network_id ON point_imports (network_id, id);

CREATE TABLE point_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    point_id BLOB NOT NULL REFERENCES pickup_points (id),
    import_id BLOB REFERENCES point_imports (id),
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    fields TEXT NOT NULL
);
CREATE INDEX point_changes_point_id ON point_changes (point_id, seq);

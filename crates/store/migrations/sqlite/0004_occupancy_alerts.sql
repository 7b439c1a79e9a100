-- A row per point whose occupancy alert is raised (issue 4): raised above the threshold, deleted when the
-- occupancy falls back; the primary key makes a second raise a no-op across processes.
CREATE TABLE occupancy_alerts (
    point_id BLOB PRIMARY KEY REFERENCES pickup_points (id),
    raised_at INTEGER NOT NULL,
    rate REAL NOT NULL
) WITHOUT ROWID;

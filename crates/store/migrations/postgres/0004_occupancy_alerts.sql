-- A row per point whose occupancy alert is raised (issue 4): raised above the threshold, deleted when the
-- occupancy falls back; the primary key makes a second raise a no-op across processes.
CREATE TABLE occupancy_alerts (
    point_id UUID PRIMARY KEY REFERENCES pickup_points (id),
    raised_at TIMESTAMPTZ NOT NULL,
    rate DOUBLE PRECISION NOT NULL
);

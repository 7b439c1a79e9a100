-- Opening hours (OpenStreetMap syntax, canonical form; NULL = not known) and closures
-- ("YYYY-MM-DD..YYYY-MM-DD" ranges joined by ';', empty = none) of a pickup point.
ALTER TABLE pickup_points ADD COLUMN opening_hours TEXT;
ALTER TABLE pickup_points ADD COLUMN closures TEXT NOT NULL DEFAULT '';

-- Exact counts of the register list at a million documents: covering indexes for
-- the filters the list combines (responsible official, direction, series,
-- registration date), so that COUNT(*) of a filtered list reads an index range
-- instead of fetching every matching row.
CREATE INDEX documents_responsible_cover ON documents (responsible, direction, series, registered);
CREATE INDEX documents_direction_cover ON documents (direction, series, registered);
-- (its prefix makes the plain index on responsible redundant)
DROP INDEX IF EXISTS documents_responsible;
-- The dashboard's on-time chart reads only answered deadlines of its months.
CREATE INDEX deadlines_state_registered ON deadlines (state, registered, on_time);

-- The register list at a million documents: an official's documents and one
-- direction's, newest first, with their exact counts. Each index ends in id, so
-- "WHERE responsible = ? AND direction = ? ORDER BY id DESC LIMIT 50" walks the
-- index backwards and stops after 50 rows, and COUNT(*) reads only the index.
CREATE INDEX IF NOT EXISTS documents_responsible_direction ON documents (responsible, direction, id);
CREATE INDEX IF NOT EXISTS documents_direction ON documents (direction, id);
-- (its prefix makes the plain index on responsible redundant)
DROP INDEX IF EXISTS documents_responsible;
-- The dashboard's on-time chart reads only answered deadlines of its months.
CREATE INDEX IF NOT EXISTS deadlines_state_registered ON deadlines (state, registered, on_time);

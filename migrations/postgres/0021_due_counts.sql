-- The lead's dashboard at a million documents: the open deadlines that are
-- overdue or due soon, counted per official and paged in due order
-- (deadline::state::due_counts, ::due_page), read from this index alone.
CREATE INDEX IF NOT EXISTS deadlines_open_due_resp ON deadlines (state, due, responsible, doc_id);

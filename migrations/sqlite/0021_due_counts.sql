-- The lead's dashboard at a million documents: the open deadlines that are
-- overdue or due soon, counted per official and paged in due order (ties by
-- document id), read from this index alone (deadline::state::due_counts,
-- ::due_page); only the page's rows are read from the table.
CREATE INDEX IF NOT EXISTS deadlines_open_due_doc ON deadlines (state, due, doc_id, responsible);

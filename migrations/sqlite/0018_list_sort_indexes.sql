-- The register list sorted by deadline or by party at a million documents
-- (Register::list, ListOrder::Due and ::Party). The list reads the documents
-- that have a sort key by walking one of these indexes (forwards for
-- ascending, backwards for descending; ties by document id in the same
-- direction) and joining each row to its document, stopping after the page;
-- the documents without a key come after them in id order (NULLS LAST in both
-- directions). No page sorts the table.
-- The reply deadline of the deadlines projection (one row per document).
CREATE INDEX IF NOT EXISTS deadlines_due_doc ON deadlines (due, doc_id) WHERE due IS NOT NULL;
-- The first party's name as the public register shows it (natural persons as
-- "eraisik"); the expression is exactly the one Register::list orders by.
CREATE INDEX IF NOT EXISTS parties_first_sort ON parties ((CASE WHEN kind = 'person' THEN 'eraisik' ELSE name END), doc_id) WHERE pos = 0;

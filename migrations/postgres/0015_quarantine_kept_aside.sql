-- Quarantine by metadata (issue 19 point 1): an item too large to hold in a row
-- (or one that broke ingest) keeps its bytes where the source set it aside
-- (`kept_at`: a path, or the IMAP message left on the server); `raw` is then empty.
-- `sha256` of an item never downloaded is `unread:<source>`.
ALTER TABLE ingest_quarantine ADD COLUMN kept_at TEXT;

-- Document kinds and § 40 restriction ends (issue 16 A).
-- kind: the document's kind (config/document-kinds.toml). Rows registered
-- before it stay NULL: the audit chain's state hash covers every stored field,
-- so a rewrite here would look like tampering to `verify`; they are shown by
-- the kind their deadline rule suggests (Kinds::of).
ALTER TABLE documents ADD COLUMN kind TEXT;
-- r_until_decision: restricted until the decision in this thread is adopted
-- (AvTS § 40 lg 2); lifted when a decision is registered in it.
ALTER TABLE documents ADD COLUMN r_until_decision INTEGER;
CREATE INDEX documents_r_ends ON documents (r_ends);
CREATE INDEX documents_r_until_decision ON documents (r_until_decision);

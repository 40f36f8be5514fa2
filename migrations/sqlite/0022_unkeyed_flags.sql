-- The register sorted by deadline or by party at a million documents: the
-- documents without a sort key (no deadline with a due date, no first party)
-- come after the others in id order (Register::list_keyed). A page deep among
-- them walked every document with a probe into the key's table (1.3 s at 1M).
-- Each document now carries whether it has each key, kept by the triggers
-- below from the key's own table (a projection of `deadlines` and `parties`:
-- no code writes these columns), and the documents without a key are one
-- partial index each, walked and counted without reading a row.
ALTER TABLE documents ADD COLUMN has_due INTEGER NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN has_party INTEGER NOT NULL DEFAULT 0;

UPDATE documents SET has_due = 1
 WHERE id IN (SELECT doc_id FROM deadlines WHERE due IS NOT NULL);
UPDATE documents SET has_party = 1
 WHERE id IN (SELECT doc_id FROM parties WHERE pos = 0);

CREATE INDEX IF NOT EXISTS documents_without_due ON documents (id) WHERE has_due = 0;
CREATE INDEX IF NOT EXISTS documents_without_party ON documents (id) WHERE has_party = 0;

CREATE TRIGGER IF NOT EXISTS deadlines_has_due_insert AFTER INSERT ON deadlines
BEGIN
    UPDATE documents SET has_due = (NEW.due IS NOT NULL)
     WHERE id = NEW.doc_id AND has_due <> (NEW.due IS NOT NULL);
END;

CREATE TRIGGER IF NOT EXISTS deadlines_has_due_update AFTER UPDATE OF due, doc_id ON deadlines
BEGIN
    UPDATE documents SET has_due = 0
     WHERE id = OLD.doc_id AND OLD.doc_id <> NEW.doc_id AND has_due <> 0;
    UPDATE documents SET has_due = (NEW.due IS NOT NULL)
     WHERE id = NEW.doc_id AND has_due <> (NEW.due IS NOT NULL);
END;

CREATE TRIGGER IF NOT EXISTS deadlines_has_due_delete AFTER DELETE ON deadlines
BEGIN
    UPDATE documents SET has_due = 0 WHERE id = OLD.doc_id AND has_due <> 0;
END;

CREATE TRIGGER IF NOT EXISTS parties_has_party_insert AFTER INSERT ON parties
WHEN NEW.pos = 0
BEGIN
    UPDATE documents SET has_party = 1 WHERE id = NEW.doc_id AND has_party <> 1;
END;

CREATE TRIGGER IF NOT EXISTS parties_has_party_update AFTER UPDATE OF doc_id, pos ON parties
BEGIN
    UPDATE documents
       SET has_party = EXISTS (SELECT 1 FROM parties WHERE doc_id = OLD.doc_id AND pos = 0)
     WHERE id = OLD.doc_id
       AND has_party <> EXISTS (SELECT 1 FROM parties WHERE doc_id = OLD.doc_id AND pos = 0);
    UPDATE documents
       SET has_party = EXISTS (SELECT 1 FROM parties WHERE doc_id = NEW.doc_id AND pos = 0)
     WHERE id = NEW.doc_id
       AND has_party <> EXISTS (SELECT 1 FROM parties WHERE doc_id = NEW.doc_id AND pos = 0);
END;

CREATE TRIGGER IF NOT EXISTS parties_has_party_delete AFTER DELETE ON parties
WHEN OLD.pos = 0
BEGIN
    UPDATE documents
       SET has_party = EXISTS (SELECT 1 FROM parties WHERE doc_id = OLD.doc_id AND pos = 0)
     WHERE id = OLD.doc_id
       AND has_party <> EXISTS (SELECT 1 FROM parties WHERE doc_id = OLD.doc_id AND pos = 0);
END;

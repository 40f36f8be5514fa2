-- The register sorted by deadline or by party at a million documents: the
-- documents without a sort key (no deadline with a due date, no first party)
-- come after the others in id order (Register::list_keyed). A page deep among
-- them walked every document with a probe into the key's table (1.3 s at 1M).
-- Each document now carries whether it has each key, kept by the triggers
-- below from the key's own table (a projection of `deadlines` and `parties`:
-- no code writes these columns), and the documents without a key are one
-- partial index each, walked and counted without reading a row.
ALTER TABLE documents ADD COLUMN IF NOT EXISTS has_due INTEGER NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN IF NOT EXISTS has_party INTEGER NOT NULL DEFAULT 0;

UPDATE documents SET has_due = 1
 WHERE id IN (SELECT doc_id FROM deadlines WHERE due IS NOT NULL);
UPDATE documents SET has_party = 1
 WHERE id IN (SELECT doc_id FROM parties WHERE pos = 0);

CREATE INDEX IF NOT EXISTS documents_without_due ON documents (id) WHERE has_due = 0;
CREATE INDEX IF NOT EXISTS documents_without_party ON documents (id) WHERE has_party = 0;

CREATE OR REPLACE FUNCTION documents_has_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.doc_id <> NEW.doc_id) THEN
        UPDATE documents SET has_due = 0 WHERE id = OLD.doc_id AND has_due <> 0;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE documents SET has_due = CASE WHEN NEW.due IS NULL THEN 0 ELSE 1 END
         WHERE id = NEW.doc_id
           AND has_due <> CASE WHEN NEW.due IS NULL THEN 0 ELSE 1 END;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS deadlines_has_due ON deadlines;
CREATE TRIGGER deadlines_has_due AFTER INSERT OR DELETE OR UPDATE OF due, doc_id ON deadlines
    FOR EACH ROW EXECUTE FUNCTION documents_has_due();

CREATE OR REPLACE FUNCTION documents_has_party() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v INTEGER;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.pos = 0 THEN
            UPDATE documents SET has_party = 1 WHERE id = NEW.doc_id AND has_party <> 1;
        END IF;
        RETURN NULL;
    END IF;
    v := CASE WHEN EXISTS (SELECT 1 FROM parties WHERE doc_id = OLD.doc_id AND pos = 0)
              THEN 1 ELSE 0 END;
    UPDATE documents SET has_party = v WHERE id = OLD.doc_id AND has_party <> v;
    IF TG_OP = 'UPDATE' AND NEW.doc_id <> OLD.doc_id THEN
        v := CASE WHEN EXISTS (SELECT 1 FROM parties WHERE doc_id = NEW.doc_id AND pos = 0)
                  THEN 1 ELSE 0 END;
        UPDATE documents SET has_party = v WHERE id = NEW.doc_id AND has_party <> v;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS parties_has_party ON parties;
CREATE TRIGGER parties_has_party AFTER INSERT OR DELETE OR UPDATE OF doc_id, pos ON parties
    FOR EACH ROW EXECUTE FUNCTION documents_has_party();

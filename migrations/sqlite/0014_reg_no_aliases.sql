-- Issue 14: numbers agree with series. When a clerk moves a document to another
-- series (an intake item confirmed into 9-14), the register gives it a new number
-- in that series and keeps the old one here, so lookups and threading by the old
-- number (a reply quoting "9-13/6") still find the document. Numbers are never
-- reused: the old number's counter has moved on, and the alias is the record.
CREATE TABLE reg_no_aliases (
    reg_no TEXT PRIMARY KEY,
    doc_id INTEGER NOT NULL REFERENCES documents (id)
);
CREATE INDEX reg_no_aliases_doc ON reg_no_aliases (doc_id);

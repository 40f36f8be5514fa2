-- The records lifecycle (src/lifecycle): file units (toimikud) and which
-- document is in which, legal holds, disposal lists and the destroyed
-- documents. Written only by the register (src/lifecycle/*.rs, `impl Register`),
-- each change with its audit event in one transaction. Membership lives beside
-- the document (not in `documents`), so the audit state hashes of documents
-- registered before 0017 still verify.
CREATE TABLE file_units (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    series TEXT NOT NULL,
    -- The calendar year of a series' default unit; NULL for a case file.
    year INTEGER,
    title TEXT NOT NULL,
    opened TEXT NOT NULL,
    closed TEXT,
    r_ground TEXT,
    r_ends TEXT,
    -- The unit's own retention period in years (NULL: the series' retention).
    retention_years INTEGER,
    UNIQUE (series, year)
);
CREATE TABLE doc_file_units (
    doc_id INTEGER PRIMARY KEY,
    file_unit_id INTEGER NOT NULL
);
CREATE INDEX doc_file_units_unit ON doc_file_units (file_unit_id, doc_id);

CREATE TABLE holds (
    id INTEGER PRIMARY KEY,
    scope_kind TEXT NOT NULL,
    scope TEXT NOT NULL,
    doc_id INTEGER,
    thread_id INTEGER,
    file_unit_id INTEGER,
    person_code TEXT,
    reason TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL,
    removed_by TEXT,
    removed_at TEXT,
    removed_reason TEXT
);

CREATE TABLE disposal_lists (
    id INTEGER PRIMARY KEY,
    status TEXT NOT NULL,
    as_of TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    proposed_at TEXT NOT NULL,
    approved_by TEXT,
    approved_at TEXT,
    act_doc_id INTEGER
);
CREATE TABLE disposal_items (
    list_id INTEGER NOT NULL,
    file_unit_id INTEGER NOT NULL,
    trigger_kind TEXT NOT NULL,
    started TEXT NOT NULL,
    ends TEXT NOT NULL,
    PRIMARY KEY (list_id, file_unit_id)
);

CREATE TABLE destroyed_documents (
    doc_id INTEGER PRIMARY KEY,
    act_reg_no TEXT NOT NULL,
    list_id INTEGER NOT NULL,
    at TEXT NOT NULL
);

-- Every document registered before 0017 joins its series' file unit of its
-- registration year (`9-13/2026`), opened on the first day of that year.
INSERT INTO file_units (code, series, year, title, opened)
SELECT DISTINCT series || '/' || substr(registered, 1, 4), series,
       CAST(substr(registered, 1, 4) AS INTEGER),
       series || ' ' || substr(registered, 1, 4),
       substr(registered, 1, 4) || '-01-01'
FROM documents;
INSERT INTO doc_file_units (doc_id, file_unit_id)
SELECT d.id, u.id FROM documents d
JOIN file_units u ON u.series = d.series AND u.year = CAST(substr(d.registered, 1, 4) AS INTEGER);

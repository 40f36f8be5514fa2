-- Ingest: quarantine (verbatim input + reason), the clerk's threading triage list,
-- IMAP progress per folder and the mailbox leases.
CREATE TABLE ingest_quarantine (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    reason TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    raw BLOB NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- 'held', or 'released' once a retry registered it (doc_id set).
    state TEXT NOT NULL DEFAULT 'held',
    doc_id INTEGER
);

CREATE TABLE ingest_triage (
    id INTEGER PRIMARY KEY,
    doc_id INTEGER NOT NULL,
    candidates TEXT NOT NULL,
    created_at TEXT NOT NULL,
    resolved_at TEXT
);
CREATE INDEX ingest_triage_open ON ingest_triage (resolved_at, id);

CREATE TABLE ingest_imap_state (
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    last_uid INTEGER NOT NULL,
    PRIMARY KEY (account, folder)
);

CREATE TABLE ingest_lease (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until TEXT NOT NULL
);

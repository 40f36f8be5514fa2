-- The register core: documents, parties, files, the audit chain, counters, the outbox.
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    reg_no TEXT NOT NULL UNIQUE,
    series TEXT NOT NULL,
    direction TEXT NOT NULL,
    channel TEXT NOT NULL,
    doc_type TEXT,
    title TEXT NOT NULL,
    their_ref TEXT,
    their_date TEXT,
    thread_id INTEGER NOT NULL,
    parent_id INTEGER,
    received TEXT,
    registered_at TEXT NOT NULL,
    registered TEXT NOT NULL,
    responsible TEXT,
    unit TEXT,
    r_ground TEXT,
    r_holder TEXT,
    r_begins TEXT,
    r_ends TEXT,
    r_marked TEXT,
    r_extended INTEGER NOT NULL DEFAULT 0,
    message_id TEXT,
    personal_data INTEGER NOT NULL DEFAULT 0,
    proposed_ground TEXT,
    needs_review INTEGER NOT NULL DEFAULT 0,
    body TEXT
);
CREATE INDEX documents_series ON documents (series, id);
CREATE INDEX documents_thread ON documents (thread_id, id);
CREATE INDEX documents_registered ON documents (registered, id);
CREATE INDEX documents_message_id ON documents (message_id);
CREATE INDEX documents_their_ref ON documents (their_ref);
CREATE INDEX documents_responsible ON documents (responsible);
CREATE INDEX documents_review ON documents (needs_review, id);

CREATE TABLE parties (
    doc_id INTEGER NOT NULL,
    pos INTEGER NOT NULL,
    kind TEXT NOT NULL,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    code TEXT,
    email TEXT,
    PRIMARY KEY (doc_id, pos)
);
CREATE INDEX parties_name ON parties (name);

CREATE TABLE doc_files (
    doc_id INTEGER NOT NULL,
    pos INTEGER NOT NULL,
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    text_status TEXT NOT NULL DEFAULT 'no_text',
    text_note TEXT,
    PRIMARY KEY (doc_id, pos)
);
CREATE INDEX doc_files_sha ON doc_files (sha256);

-- Extracted text of a file's content (a projection: derived from the bytes).
CREATE TABLE file_texts (
    sha256 TEXT PRIMARY KEY,
    text TEXT NOT NULL
);

-- File bytes when file_store = database.
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    data BLOB NOT NULL
);

CREATE TABLE counters (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

CREATE TABLE source_keys (
    key TEXT PRIMARY KEY,
    doc_id INTEGER NOT NULL
);

-- The audit chain, also the change feed of every projection.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    doc_id INTEGER,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL,
    state_hash TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX events_doc ON events (doc_id, seq);

CREATE TABLE chain_head (
    id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- SQLite only: every write transaction first updates this row, taking the write lock
-- up front so a deferred transaction never has to upgrade (no SQLITE_BUSY deadlocks).
CREATE TABLE write_lock (
    id INTEGER PRIMARY KEY,
    n INTEGER NOT NULL
);
INSERT INTO write_lock (id, n) VALUES (1, 0);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    doc_id INTEGER,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_by TEXT,
    claimed_until TEXT,
    last_error TEXT,
    result TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    dedup_key TEXT UNIQUE
);
CREATE INDEX outbox_due ON outbox (channel, state, next_attempt_at);
CREATE INDEX outbox_doc ON outbox (doc_id);

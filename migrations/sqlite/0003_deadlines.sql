-- Deadlines: each document's deadline state, a projection of `documents` and the
-- audit chain (kinds registered, edited, deadline_extended, clock_stopped,
-- clock_resumed, reclassified, deadline_ended), kept by crate::deadline::state::sync
-- and rebuildable from them. `overdue` is an indexed query on (state, due).
CREATE TABLE deadlines (
    doc_id INTEGER PRIMARY KEY,
    reg_no TEXT NOT NULL,
    title TEXT NOT NULL,
    series TEXT NOT NULL,
    doc_type TEXT,
    direction TEXT NOT NULL,
    responsible TEXT,
    registered TEXT NOT NULL,
    received TEXT,
    registration_due TEXT,
    registered_late INTEGER NOT NULL DEFAULT 0,
    rule TEXT,
    base TEXT,
    due TEXT,
    state TEXT NOT NULL,
    extended INTEGER NOT NULL DEFAULT 0,
    ended_on TEXT,
    ended_by TEXT,
    on_time INTEGER,
    days_to_reply INTEGER,
    updated_seq INTEGER NOT NULL
);
CREATE INDEX deadlines_open ON deadlines (state, due);
CREATE INDEX deadlines_responsible ON deadlines (responsible, state, due);
CREATE INDEX deadlines_registered ON deadlines (registered);

-- How far the projection has read the audit chain.
CREATE TABLE deadline_cursor (
    id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL
);
INSERT INTO deadline_cursor (id, seq) VALUES (1, 0);

-- Reminders and digests queued by the scheduler: the unique key makes a restart
-- neither repeat nor skip one (queued in the same transaction as the outbox row).
CREATE TABLE deadline_notices (
    key TEXT PRIMARY KEY,
    doc_id INTEGER,
    kind TEXT NOT NULL,
    day TEXT NOT NULL,
    outbox_id INTEGER,
    created_at TEXT NOT NULL
);

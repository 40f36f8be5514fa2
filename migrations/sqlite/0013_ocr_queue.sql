-- The OCR queue (src/ocr): one row per scanned file of a document, written in
-- the registering transaction; a worker claims an item with a lease
-- (claimed_by, claimed_until, attempts), reads it with Tesseract and hands the
-- text to the register. Items end 'done' or 'failed' with their reason; none
-- is deleted.
CREATE TABLE ocr_queue (
    id INTEGER PRIMARY KEY,
    doc_id INTEGER NOT NULL,
    pos INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_by TEXT,
    claimed_until TEXT,
    last_error TEXT,
    confidence INTEGER,
    created_at TEXT NOT NULL,
    done_at TEXT,
    UNIQUE (doc_id, pos)
);
CREATE INDEX ocr_queue_due ON ocr_queue (state, next_attempt_at);

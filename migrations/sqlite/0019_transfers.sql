-- Archival transfer (src/lifecycle/transfer.rs): each transfer of a file unit
-- or series to the National Archives, its handover-acceptance act
-- (üleandmise-vastuvõtmise akt, a document of `acts_series`) and the documents
-- it carries. The originals stay until the archive's receipt is registered
-- (status 'received'); then the documents count as transferred. Written only
-- by the register, each change with its audit event in one transaction.
CREATE TABLE transfers (
    id INTEGER PRIMARY KEY,
    package TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL,
    status TEXT NOT NULL,
    act_doc_id INTEGER NOT NULL,
    exported_by TEXT NOT NULL,
    exported_at TEXT NOT NULL,
    received_by TEXT,
    received_at TEXT,
    archive_ref TEXT
);
CREATE TABLE transfer_items (
    transfer_id INTEGER NOT NULL,
    doc_id INTEGER NOT NULL,
    PRIMARY KEY (transfer_id, doc_id)
);
CREATE INDEX transfer_items_doc ON transfer_items (doc_id);
-- One transfer of a scope at a time awaits its receipt.
CREATE UNIQUE INDEX transfers_pending ON transfers (scope) WHERE status = 'exported';

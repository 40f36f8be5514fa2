-- DHX: received consignments (duplicate detection, receipts), quarantined
-- requests, and the address book cache.
CREATE TABLE dhx_received (
    id INTEGER PRIMARY KEY,
    client TEXT NOT NULL,
    consignment_id TEXT NOT NULL,
    doc_id INTEGER NOT NULL,
    receipt_id TEXT NOT NULL,
    record_guid TEXT,
    sender_code TEXT,
    reply_due TEXT,
    capsule_sha256 TEXT,
    received_at TEXT NOT NULL,
    UNIQUE (client, consignment_id)
);
CREATE INDEX dhx_received_doc ON dhx_received (doc_id);

CREATE TABLE dhx_quarantine (
    id INTEGER PRIMARY KEY,
    received_at TEXT NOT NULL,
    client TEXT,
    consignment_id TEXT,
    fault_code TEXT NOT NULL,
    reason TEXT NOT NULL,
    raw BLOB,
    raw_size INTEGER NOT NULL
);

CREATE TABLE dhx_addresses (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    member_class TEXT NOT NULL,
    subsystem TEXT NOT NULL,
    intermediary_code TEXT,
    fetched_at TEXT NOT NULL
);

-- DHX quarantine, bounded: one row per SHA-256 of the rejected request (a
-- counter and the last time it came), the stored body capped
-- (dhx.quarantine_keep_bytes, the true size in raw_size), and a disk-use limit
-- over all stored bodies (dhx.quarantine_max_bytes; past it, metadata only).
ALTER TABLE dhx_quarantine ADD COLUMN raw_sha256 TEXT;
ALTER TABLE dhx_quarantine ADD COLUMN kept_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE dhx_quarantine ADD COLUMN seen_count BIGINT NOT NULL DEFAULT 1;
ALTER TABLE dhx_quarantine ADD COLUMN last_seen_at TEXT;
UPDATE dhx_quarantine SET kept_bytes = COALESCE(LENGTH(raw), 0), last_seen_at = received_at;
CREATE UNIQUE INDEX dhx_quarantine_sha256 ON dhx_quarantine (raw_sha256);

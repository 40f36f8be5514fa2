-- Issue 16 part B: what an outgoing reply does to a deadline, and when a
-- document reached us. `reply_kind`: final, interim, forwarding, clarification,
-- refusal, or NULL (not given: closes no deadline). `received_at`: the arrival
-- time (UTC, as registered_at), NULL when unknown.
ALTER TABLE documents ADD COLUMN reply_kind TEXT;
ALTER TABLE documents ADD COLUMN received_at TEXT;

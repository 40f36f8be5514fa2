//! (stub: owned by the ingest work) Text extraction from mail and PDF.

//! DVK-style client of a DHX adapter server (for agencies without their own DHX
//! endpoint): `sendDocuments` (v4), `receiveDocuments` (v4, polled),
//! `markDocumentsReceived` (v3) and `getSendStatus` (v2). Attachments are
//! base64(gzip(XML)) on one line; responses are read by local names, whatever
//! namespace prefixes the server uses.

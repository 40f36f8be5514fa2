//! The OpenAPI 3.1 document of `/api/v1`, served at `/api/v1/openapi.json` and
//! kept in `schemas/openapi.json` (a test fails when the two differ; regenerate
//! with `DOCGATE_WRITE_OPENAPI=1 cargo test --lib web::openapi`).

use serde_json::{json, Value};

fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn nullable(v: Value) -> Value {
    json!({ "anyOf": [v, { "type": "null" }] })
}

fn s_nullable() -> Value {
    json!({ "type": ["string", "null"] })
}

fn date_nullable() -> Value {
    json!({ "type": ["string", "null"], "format": "date" })
}

fn errors(v: &mut serde_json::Map<String, Value>, codes: &[&str]) {
    for c in codes {
        let desc = match *c {
            "400" => "invalid input (code invalid)",
            "401" => "no or bad credentials (code unauthorized)",
            "403" => "not allowed for this role or restricted (code forbidden, csrf)",
            "404" => "not found (code not_found)",
            "409" => "conflicts with the register's state (code conflict)",
            "413" => "too large (code too_large)",
            _ => "error",
        };
        v.insert(
            (*c).to_string(),
            json!({ "description": desc, "content": { "application/json": { "schema": r("Error") } } }),
        );
    }
}

const ALL_ERRORS: &[&str] = &["400", "401", "403", "404", "409", "413"];

fn op(
    id: &str,
    summary: &str,
    params: Vec<Value>,
    body: Option<Value>,
    ok: &str,
    ok_schema: Value,
) -> Value {
    let mut responses = serde_json::Map::new();
    responses.insert(
        ok.to_string(),
        json!({ "description": "success", "content": { "application/json": { "schema": ok_schema } } }),
    );
    errors(&mut responses, ALL_ERRORS);
    let mut o = json!({
        "operationId": id,
        "summary": summary,
        "parameters": params,
        "responses": responses,
    });
    if let Some(b) = body {
        o["requestBody"] = b;
    }
    o
}

fn json_body(schema: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema } } })
}

fn id_param() -> Value {
    json!({ "name": "id", "in": "path", "required": true, "description": "document id",
            "schema": { "type": "integer", "format": "int64", "minimum": 1 } })
}

fn q(name: &str, schema: Value, desc: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": desc, "schema": schema })
}

/// The document.
pub fn document() -> Value {
    let direction = json!({ "type": "string", "enum": ["incoming", "outgoing", "internal"] });
    let channel =
        json!({ "type": "string", "enum": ["email", "dhx", "post", "hand", "web", "einvoice"] });
    let date = json!({ "type": "string", "format": "date" });
    let list_params = vec![
        q(
            "series",
            json!({ "type": "string" }),
            "series code, e.g. 9-13",
        ),
        q(
            "direction",
            direction.clone(),
            "incoming, outgoing or internal",
        ),
        q(
            "doc_type",
            json!({ "type": "string" }),
            "deadline rule id, e.g. avts-teabenoue",
        ),
        q(
            "responsible",
            json!({ "type": "string" }),
            "responsible official's user name",
        ),
        q(
            "needs_review",
            json!({ "type": "boolean" }),
            "only documents waiting in the clerk's inbox (true) or completed (false)",
        ),
        q(
            "restricted",
            json!({ "type": "boolean" }),
            "only restricted (true) or unrestricted (false) documents",
        ),
        q("registered_from", date.clone(), "registered on or after"),
        q("registered_to", date.clone(), "registered on or before"),
        q(
            "limit",
            json!({ "type": "integer", "minimum": 1, "maximum": 500, "default": 50 }),
            "page size",
        ),
        q(
            "offset",
            json!({ "type": "integer", "minimum": 0, "maximum": 1000000000 }),
            "rows to skip",
        ),
    ];
    let items_of = |s: Value| json!({ "type": "object", "required": ["items"], "properties": { "items": { "type": "array", "items": s } } });
    let mut paths = serde_json::Map::new();
    paths.insert("/openapi.json".into(), json!({ "get": {
                "operationId": "openapi", "summary": "this document", "security": [],
                "responses": { "200": { "description": "the OpenAPI document", "content": { "application/json": { "schema": { "type": "object" } } } } }
            } }));
    paths.insert("/me".into(), json!({ "get": op("me", "the caller and, for a session, its CSRF token", vec![], None, "200", r("Me")) }));
    paths.insert("/documents".into(), json!({
                "get": op("listDocuments", "the register with filters and the exact count", list_params, None, "200", r("DocumentList")),
                "post": {
                    "operationId": "registerDocument",
                    "summary": "register a document with its files (clerk, lead)",
                    "parameters": [],
                    "requestBody": { "required": true, "content": { "multipart/form-data": {
                        "schema": { "type": "object", "required": ["metadata"], "properties": {
                            "metadata": r("NewDocument"),
                            "file": { "type": "array", "items": { "type": "string", "format": "binary" } }
                        } },
                        "encoding": { "metadata": { "contentType": "application/json" } }
                    } } },
                    "responses": responses_with("201", r("Document"))
                }
            }));
    paths.insert("/documents/{id}".into(), json!({
                "get": op("getDocument", "one document and its letter text (a view of a restricted one is audited)", vec![id_param()], None, "200", r("DocumentDetail")),
                "patch": op("editDocument", "edit metadata (clerk, lead)", vec![id_param()], Some(json_body(r("MetadataPatch"))), "200", r("Document"))
            }));
    paths.insert("/documents/{id}/restriction".into(), json!({ "post": op("restrictDocument", "restrict (AK) with a ground and an end date", vec![id_param()], Some(json_body(r("NewRestriction"))), "200", r("Document")) }));
    paths.insert("/documents/{id}/restriction/extend".into(), json!({ "post": op("extendRestriction", "extend a restriction once (AvTS § 40(3))", vec![id_param()], Some(json_body(r("ExtendRestriction"))), "200", r("Document")) }));
    paths.insert("/documents/{id}/restriction/lift".into(), json!({ "post": op("liftRestriction", "lift a restriction (AvTS § 42)", vec![id_param()], Some(json_body(r("LiftRestriction"))), "200", r("Document")) }));
    paths.insert("/documents/{id}/files/{sha256}".into(), json!({ "get": {
                "operationId": "downloadFile", "summary": "a file of the document, by its sha256 (a download of a restricted one is audited)",
                "parameters": [ id_param(), { "name": "sha256", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^[0-9a-f]{64}$" } } ],
                "responses": responses_binary()
            } }));
    paths.insert("/documents/{id}/thread".into(), json!({ "get": op("getThread", "every document of the document's thread", vec![id_param()], None, "200", items_of(r("Document"))) }));
    paths.insert("/documents/{id}/events".into(), json!({ "get": op("getEvents", "the document's audit history", vec![id_param()], None, "200", items_of(r("Event"))) }));
    paths.insert("/documents/{id}/deadline".into(), json!({ "get": op("getDeadline", "the reply deadline with the trace of how it was computed", vec![id_param()], None, "200", r("Deadline")) }));
    paths.insert("/documents/{id}/reply".into(), json!({ "post": {
                "operationId": "reply", "summary": "register a reply in the thread and queue it for sending",
                "parameters": [ id_param() ],
                "requestBody": json_body(r("Reply")),
                "responses": responses_with("201", r("ReplyResult"))
            } }));
    paths.insert("/search".into(), json!({ "get": op("search", "full-text search with highlighted snippets", vec![
                json!({ "name": "q", "in": "query", "required": true, "schema": { "type": "string", "minLength": 1, "pattern": "\\S" } }),
                q("limit", json!({ "type": "integer", "minimum": 1, "maximum": 100, "default": 20 }), "page size"),
                q("offset", json!({ "type": "integer", "minimum": 0, "maximum": 10000 }), "hits to skip"),
                q("series", json!({ "type": "string" }), "only this series"),
                q("doc_type", json!({ "type": "string" }), "only this document type (rule id)"),
                q("direction", direction.clone(), "only this direction"),
                q("from", date.clone(), "registered on or after"),
                q("to", date.clone(), "registered on or before"),
                q("sort", json!({ "type": "string", "enum": ["relevance", "newest", "oldest"], "default": "relevance" }), "order of the hits"),
                q("deadline", json!({ "type": "string", "enum": ["open", "due_soon", "overdue", "answered", "stopped"] }), "only documents whose reply deadline is in this state"),
            ], None, "200", r("SearchResult")) }));
    paths.insert("/overdue".into(), json!({ "get": op("overdue", "a page of the open deadlines that are overdue or due soon, the most overdue first, and how many there are", vec![
                q("official", json!({ "type": "string" }), "only this official's documents (login); \"—\" for those without one"),
                q("limit", json!({ "type": "integer", "minimum": 1, "maximum": 500, "default": 100 }), "page size"),
                q("offset", json!({ "type": "integer", "minimum": 0, "maximum": 1000000000 }), "rows to skip"),
            ], None, "200", r("DueList")) }));
    paths.insert("/reports/monthly".into(), json!({ "get": op("reportMonthly", "documents, replies and on-time rate per month", vec![
                q("from", date.clone(), "first day (default: 11 months before the start of this month)"),
                q("to", date.clone(), "last day (default: today)"),
            ], None, "200", items_of(r("MonthRow"))) }));
    paths.insert(
        "/users".into(),
        json!({
            "get": op("listUsers", "users (admin, lead)", vec![], None, "200", items_of(r("User"))),
            "post": {
                "operationId": "createUser", "summary": "create a user (admin)", "parameters": [],
                "requestBody": json_body(r("NewUser")),
                "responses": responses_with("201", r("User"))
            }
        }),
    );
    let mut schemas = serde_json::Map::new();
    schemas.insert("Error".into(), json!({ "type": "object", "required": ["error"], "properties": { "error": {
                    "type": "object", "required": ["code", "message"], "properties": {
                        "code": { "type": "string", "enum": ["invalid", "not_found", "conflict", "forbidden", "unauthorized", "too_large", "integrity", "internal", "rate_limited", "csrf", "method_not_allowed"] },
                        "message": { "type": "string" },
                        "field": { "type": "string", "description": "the JSON field the error concerns, when it is about one" } } } } }));
    schemas.insert("Party".into(), json!({ "type": "object", "required": ["kind", "role", "name"], "properties": {
                    "kind": { "type": "string", "enum": ["organisation", "person"] },
                    "role": { "type": "string", "enum": ["sender", "recipient"] },
                    "name": { "type": "string", "description": "\"eraisik\" for a natural person when the document is hidden" },
                    "code": { "type": "string" }, "email": { "type": "string" } } }));
    schemas.insert("FileRef".into(), json!({ "type": "object", "required": ["name", "media_type", "size", "sha256"], "properties": {
                    "name": { "type": "string" }, "media_type": { "type": "string" },
                    "size": { "type": "integer", "minimum": 0 }, "sha256": { "type": "string", "pattern": "^[0-9a-f]{64}$" } } }));
    schemas.insert("Restriction".into(), json!({ "type": "object", "required": ["ground", "holder", "begins", "ends", "marked", "extended"], "properties": {
                    "ground": { "type": "string" }, "holder": { "type": "string" }, "begins": date.clone(), "ends": date.clone(),
                    "marked": date.clone(), "extended": { "type": "boolean" } } }));
    schemas.insert("Document".into(), json!({ "type": "object",
                    "required": ["id", "reg_no", "series", "direction", "channel", "doc_type", "kind", "title", "public_title", "parties", "their_ref", "their_date", "thread_id", "parent_id", "received", "registered_at", "registered", "responsible", "unit", "access", "restriction", "files", "contains_personal_data", "proposed_ground", "needs_review", "hidden", "awaiting"],
                    "properties": {
                        "id": { "type": "integer" }, "reg_no": { "type": "string" }, "series": { "type": "string" },
                        "direction": direction.clone(), "channel": channel.clone(), "doc_type": s_nullable(),
                        "kind": { "type": ["object", "null"], "required": ["id", "et", "en"], "description": "the document kind (config/document-kinds.toml) with its Estonian and English names; null when hidden",
                                  "properties": { "id": { "type": "string" }, "et": { "type": "string" }, "en": { "type": "string" } } },
                        "title": { "type": ["string", "null"], "description": "null when hidden" },
                        "public_title": { "type": ["string", "null"], "description": "the clerk's own public title; null when unset or hidden" },
                        "parties": { "type": "array", "items": r("Party") },
                        "their_ref": s_nullable(), "their_date": date_nullable(),
                        "thread_id": { "type": "integer" }, "parent_id": { "type": ["integer", "null"] },
                        "received": date_nullable(), "registered_at": { "type": "string" }, "registered": date.clone(),
                        "responsible": s_nullable(), "unit": s_nullable(),
                        "access": { "type": "string", "enum": ["Avalik", "AK"] },
                        "restriction": nullable(r("Restriction")),
                        "files": { "type": "array", "items": r("FileRef") },
                        "contains_personal_data": { "type": ["boolean", "null"] },
                        "proposed_ground": s_nullable(), "needs_review": { "type": "boolean" },
                        "hidden": { "type": "boolean", "description": "this caller may not see it in full (the access policy): content fields are withheld" },
                        "awaiting": { "type": "boolean", "description": "unclassified and this caller may not see it: only that it awaits classification (no title, party, type or content)" } } }));
    schemas.insert("DocumentList".into(), json!({ "type": "object", "required": ["total", "limit", "offset", "items"], "properties": {
                    "total": { "type": "integer", "description": "exact count of documents matching the filters" },
                    "limit": { "type": "integer" }, "offset": { "type": "integer" },
                    "items": { "type": "array", "items": r("Document") } } }));
    schemas.insert("DueList".into(), json!({ "type": "object", "required": ["total", "limit", "offset", "items"], "properties": {
                    "total": { "type": "integer", "description": "exact count of the open deadlines overdue or due soon (for the official asked)" },
                    "limit": { "type": "integer" }, "offset": { "type": "integer" },
                    "items": { "type": "array", "items": r("DueItem") } } }));
    schemas.insert(
        "DocumentDetail".into(),
        json!({ "type": "object", "required": ["document", "body"], "properties": {
                    "document": r("Document"), "body": s_nullable() } }),
    );
    schemas.insert("NewDocument".into(), json!({ "type": "object", "required": ["direction", "channel", "title"], "additionalProperties": false, "properties": {
                    "direction": direction.clone(), "channel": channel.clone(),
                    "title": { "type": "string", "minLength": 1, "pattern": "\\S" },
                    "series": { "type": "string" }, "doc_type": { "type": "string", "description": "a deadline rule of the loaded rules" },
                    "kind": { "type": "string", "description": "a document kind (config/document-kinds.toml); its default rule applies without doc_type" },
                    "parties": { "type": "array", "items": { "type": "object", "required": ["name", "role"], "additionalProperties": false, "properties": {
                        "name": { "type": "string", "minLength": 1, "pattern": "\\S" }, "role": { "type": "string", "enum": ["sender", "recipient"] },
                        "code": { "type": "string", "description": "8-digit registry code or a valid personal code" },
                        "email": { "type": "string" } } } },
                    "their_ref": { "type": "string" }, "received": date.clone(),
                    "responsible": { "type": "string" }, "unit": { "type": "string" },
                    "reply_to": { "type": "string", "description": "registration number this document continues" },
                    "reply_kind": { "type": "string", "enum": ["final", "interim", "forwarding", "clarification", "refusal"], "description": "with reply_to on an outgoing document: only final, forwarding and refusal end the answered document's deadline; clarification stops it until the answer arrives; absent: ends nothing" },
                    "body": { "type": "string" },
                    "restriction": r("NewRestriction"),
                    "public_reason": { "type": "string", "description": "registers a document that names a person as public; the reason is recorded" },
                    "public_title": { "type": "string", "description": "the public title (else the public sees the masked title)" } } }));
    schemas.insert("MetadataPatch".into(), json!({ "type": "object", "additionalProperties": false, "properties": {
                    "title": { "type": ["string", "null"], "minLength": 1, "pattern": "\\S" }, "doc_type": s_nullable(), "kind": s_nullable(), "responsible": s_nullable(),
                    "unit": s_nullable(), "their_ref": s_nullable(), "needs_review": { "type": ["boolean", "null"] },
                    "public_title": { "type": ["string", "null"], "description": "an empty string clears it" },
                    "series": { "type": ["string", "null"], "description": "a series of the document list; the thread's only document is renumbered in it, the old number kept as an alias" },
                    "direction": { "type": ["string", "null"], "enum": ["incoming", "outgoing", "internal", null] },
                    "channel": { "type": ["string", "null"], "enum": ["email", "dhx", "post", "hand", "web", "einvoice", null] },
                    "their_date": { "type": ["string", "null"], "description": "YYYY-MM-DD; an empty string clears it" },
                    "received": { "type": ["string", "null"], "description": "YYYY-MM-DD; an empty string clears it" } } }));
    schemas.insert("NewRestriction".into(), json!({ "type": "object", "required": ["ground", "ends"], "additionalProperties": false, "properties": {
                    "ground": { "type": "string", "minLength": 1, "pattern": "\\S", "description": "a ground of config/restriction-grounds.toml, e.g. AvTS § 35 lg 1 p 11; any other is refused (400 naming the field ground)" },
                    "ends": date.clone(), "holder": { "type": "string" } } }));
    schemas.insert("ExtendRestriction".into(), json!({ "type": "object", "required": ["ends", "reason", "decision"], "additionalProperties": false, "description": "AvTS § 40 lg 1: the lead only, by up to 5 years, once, before the restriction ends",
                    "properties": {
                    "ends": date.clone(), "reason": { "type": "string", "minLength": 1, "pattern": "\\S" },
                    "decision": { "type": "string", "minLength": 1, "pattern": "\\S", "description": "the reference of the head's decision" } } }));
    schemas.insert("LiftRestriction".into(), json!({ "type": "object", "required": ["reason"], "additionalProperties": false, "properties": {
                    "reason": { "type": "string", "minLength": 1, "pattern": "\\S" } } }));
    schemas.insert("Event".into(), json!({ "type": "object", "required": ["seq", "at", "kind", "actor", "detail"], "properties": {
                    "seq": { "type": "integer" }, "at": { "type": "string" }, "kind": { "type": "string" },
                    "actor": { "type": "string" }, "detail": {} } }));
    schemas.insert("Deadline".into(), json!({ "type": "object", "required": ["document_id", "available", "rule", "due", "status", "trace"], "properties": {
                    "document_id": { "type": "integer" }, "available": { "type": "boolean" }, "rule": s_nullable(),
                    "due": date_nullable(), "status": { "type": "string" },
                    "trace": { "type": "array", "items": { "type": "string" }, "description": "empty when the caller may not see the document in full (its steps carry free-text reasons)" } } }));
    schemas.insert("DueItem".into(), json!({ "type": "object", "required": ["document", "due", "days_left", "responsible", "status"], "properties": {
                    "document": r("Document"), "due": date.clone(), "days_left": { "type": "integer" },
                    "responsible": s_nullable(), "status": { "type": "string" } } }));
    schemas.insert("Reply".into(), json!({ "type": "object", "required": ["title", "body"], "additionalProperties": false, "properties": {
                    "title": { "type": "string", "minLength": 1, "pattern": "\\S" }, "body": { "type": "string", "minLength": 1, "pattern": "\\S" },
                    "channel": nullable(channel.clone()),
                    "recipient": { "type": ["string", "null"], "description": "e-mail address (email) or registry code (dhx); null or absent: the document's sender" },
                    "reply_kind": { "type": ["string", "null"], "enum": ["final", "interim", "forwarding", "clarification", "refusal", null], "description": "lõppvastus, vahevastus, edastamine, täpsustamise palve, keeldumine: only final, forwarding and refusal end the deadline; null or absent: ends nothing" } } }));
    schemas.insert("OutboxItem".into(), json!({ "type": "object", "required": ["id", "channel", "recipient", "state", "attempts", "last_error", "sent_at"], "properties": {
                    "id": { "type": "integer" }, "channel": { "type": "string" }, "recipient": { "type": ["string", "null"], "description": "null when the caller may not see the document in full (the error too)" },
                    "state": { "type": "string", "enum": ["queued", "sending", "sent", "failed"] }, "attempts": { "type": "integer" },
                    "last_error": s_nullable(), "sent_at": s_nullable() } }));
    schemas.insert("ReplyResult".into(), json!({ "type": "object", "required": ["document", "outbox"], "properties": {
                    "document": r("Document"), "outbox": { "type": "array", "items": r("OutboxItem") } } }));
    schemas.insert("SearchResult".into(), json!({ "type": "object", "required": ["query", "total", "relaxed", "items"], "properties": {
                    "query": { "type": "string" }, "total": { "type": "integer", "description": "documents matching all the words" },
                    "relaxed": { "type": "integer", "description": "documents matching only some of the words, counted when the page reaches past the all-words hits (0 otherwise)" },
                    "items": { "type": "array", "items": { "type": "object", "required": ["document", "snippet_html", "matched"], "properties": {
                        "document": r("Document"),
                        "snippet_html": { "type": ["string", "null"], "description": "escaped text with <mark> around the terms; null when hidden" },
                        "matched": { "type": "string", "enum": ["all", "some"], "description": "all: the document matched all the query's words; some: only some of them (relaxed matching filled the page)" } } } } } }));
    schemas.insert("MonthRow".into(), json!({ "type": "object", "required": ["month", "incoming", "outgoing", "replied", "restricted", "on_time", "late", "on_time_rate"], "properties": {
                    "month": { "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$" }, "incoming": { "type": "integer" }, "outgoing": { "type": "integer" },
                    "replied": { "type": "integer" }, "restricted": { "type": "integer" },
                    "on_time": { "type": ["integer", "null"] }, "late": { "type": ["integer", "null"] },
                    "on_time_rate": { "type": ["number", "null"], "minimum": 0, "maximum": 1 } } }));
    schemas.insert("User".into(), json!({ "type": "object", "required": ["id", "name", "full_name", "role", "unit", "email", "disabled"], "properties": {
                    "id": { "type": "integer" }, "name": { "type": "string" }, "full_name": { "type": "string" },
                    "role": { "type": "string", "enum": ["admin", "clerk", "lead", "staff"] },
                    "unit": s_nullable(), "email": s_nullable(), "disabled": { "type": "boolean" } } }));
    schemas.insert("NewUser".into(), json!({ "type": "object", "required": ["name", "role", "password"], "additionalProperties": false, "properties": {
                    "name": { "type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$" },
                    "full_name": { "type": "string" },
                    "role": { "type": "string", "enum": ["admin", "clerk", "lead", "staff"] },
                    "unit": { "type": ["string", "null"] }, "email": { "type": ["string", "null"] },
                    "password": { "type": "string", "minLength": 8, "maxLength": 1024 } } }));
    schemas.insert(
        "Me".into(),
        json!({ "type": "object", "required": ["user", "csrf_token"], "properties": {
                    "user": r("User"), "csrf_token": s_nullable() } }),
    );
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "docgate API",
            "version": "1",
            "description": "The document register of an Estonian agency: documents, restrictions (AvTS ch. 5), threads, deadlines, replies, reports and users. Authenticate with `Authorization: Bearer TOKEN` (`docgate token create NAME`) or a browser session; with a session, unsafe methods need the `X-CSRF-Token` header (GET /me gives it). Errors are `{\"error\":{\"code\",\"message\",\"field\"}}` (field: the JSON field concerned, when one is) with a stable code: invalid 400, unauthorized 401, forbidden/csrf 403, not_found 404, method_not_allowed 405, conflict 409, too_large 413, rate_limited 429, integrity/internal 500. Every view or download of a restricted document is recorded in the audit chain (AvTS § 39(2))."
        },
        "servers": [ { "url": "/api/v1" } ],
        "security": [ { "bearerAuth": [] } ],
    });
    doc["paths"] = Value::Object(paths);
    doc["components"] = json!({
        "securitySchemes": {
            "bearerAuth": { "type": "http", "scheme": "bearer", "description": "docgate token create NAME" },
            "sessionCookie": { "type": "apiKey", "in": "cookie", "name": "docgate_session" }
        }
    });
    doc["components"]["schemas"] = Value::Object(schemas);
    doc
}

fn responses_with(ok: &str, schema: Value) -> Value {
    let mut m = serde_json::Map::new();
    m.insert(
        ok.into(),
        json!({ "description": "success", "content": { "application/json": { "schema": schema } } }),
    );
    errors(&mut m, ALL_ERRORS);
    Value::Object(m)
}

fn responses_binary() -> Value {
    let mut m = serde_json::Map::new();
    m.insert(
        "200".into(),
        json!({ "description": "the file's bytes", "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } }),
    );
    errors(&mut m, ALL_ERRORS);
    Value::Object(m)
}

/// The document as kept in `schemas/openapi.json` (pretty, trailing newline).
pub fn document_text() -> String {
    let mut s = serde_json::to_string_pretty(&document()).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn served_document_equals_schemas_openapi_json() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/openapi.json");
        if std::env::var_os("DOCGATE_WRITE_OPENAPI").is_some() {
            std::fs::write(path, document_text()).unwrap();
        }
        let kept = std::fs::read_to_string(path).expect("schemas/openapi.json");
        assert!(
            kept == document_text(),
            "schemas/openapi.json differs from the served document: regenerate with DOCGATE_WRITE_OPENAPI=1 cargo test --lib web::openapi"
        );
    }

    #[test]
    fn every_ref_resolves() {
        let doc = document();
        let text = doc.to_string();
        let re = regex::Regex::new(r##""#/components/schemas/([A-Za-z]+)""##).unwrap();
        let mut n = 0;
        for c in re.captures_iter(&text) {
            assert!(
                doc["components"]["schemas"].get(&c[1]).is_some(),
                "unresolved {}",
                &c[1]
            );
            n += 1;
        }
        assert!(n > 20);
        // every operation has an operationId, and ids are unique
        let mut ids = vec![];
        for (_, item) in doc["paths"].as_object().unwrap() {
            for (_, o) in item.as_object().unwrap() {
                ids.push(o["operationId"].as_str().unwrap().to_string());
            }
        }
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}

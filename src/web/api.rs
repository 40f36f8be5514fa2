//! The JSON API under `/api/v1`: bearer token or session (then unsafe methods
//! need the `X-CSRF-Token` header). Errors are `{"error":{"code","message"}}`
//! with the status from [`super::error::status_and_code`]. The paths and shapes are
//! described by [`super::openapi::document`] (kept in `schemas/openapi.json`).

use super::routes::{self, Routes};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Multipart, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::{self, NewUser, Role, User};
use super::error::{WebError, WebErrorKind, WebResult};
use super::integrate;
use super::view::DocView;
use super::{ClientIp, Principal, WebState};
use crate::access::{self, Sight};
use crate::model::{
    parse_date, Channel, Direction, Document, NewDocument, NewFile, NewRestriction, Party,
    PartyKind, PartyRole,
};

// ------------------------------------------------------------ extractors

impl From<JsonRejection> for WebError {
    fn from(r: JsonRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return WebError::too_large("request body too large");
        }
        WebError::invalid(format!("invalid json body: {}", r.body_text()))
    }
}
impl From<QueryRejection> for WebError {
    fn from(r: QueryRejection) -> Self {
        WebError::invalid(format!("invalid query string: {}", r.body_text()))
    }
}
impl From<PathRejection> for WebError {
    fn from(r: PathRejection) -> Self {
        WebError::invalid(format!("invalid path: {}", r.body_text()))
    }
}

/// `Json` whose rejection is our JSON error.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(WebError))]
pub struct ApiJson<T>(pub T);

/// `Query` whose rejection is our JSON error.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(WebError))]
pub struct ApiQuery<T>(pub T);

/// `Path` whose rejection is our JSON error.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(WebError))]
pub struct ApiPath<T>(pub T);

pub fn parse_id(s: &str) -> WebResult<i64> {
    s.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
        WebError::invalid(format!(
            "invalid document id {s:?}: expected a positive integer"
        ))
    })
}

/// Unsafe calls made with a session cookie must carry the session's CSRF token.
pub fn require_csrf(p: &Principal, headers: &HeaderMap) -> WebResult<()> {
    if let Some(expected) = &p.csrf {
        let got = headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !auth::constant_time_eq(got, expected) {
            return Err(WebError::csrf());
        }
    }
    Ok(())
}

pub fn require_role(user: &User, ok: bool, what: &str) -> WebResult<()> {
    if ok {
        Ok(())
    } else {
        Err(WebError::forbidden(format!(
            "forbidden: the {} role may not {what}",
            user.role.as_str()
        )))
    }
}

pub fn routes() -> Routes {
    Routes::new()
        .route("/openapi.json", routes::get(openapi_json))
        .route("/me", routes::get(me))
        .route(
            "/documents",
            routes::get(list_documents).post(register_document),
        )
        .route(
            "/documents/{id}",
            routes::get(get_document).patch(edit_document),
        )
        .route("/documents/{id}/restriction", routes::post(restrict))
        .route("/documents/{id}/restriction/extend", routes::post(extend))
        .route("/documents/{id}/restriction/lift", routes::post(lift))
        .route("/documents/{id}/files/{sha256}", routes::get(download_file))
        .route("/documents/{id}/thread", routes::get(thread))
        .route("/documents/{id}/events", routes::get(events))
        .route("/documents/{id}/deadline", routes::get(deadline))
        .route("/documents/{id}/reply", routes::post(reply))
        .route("/search", routes::get(search))
        .route("/overdue", routes::get(overdue))
        .route("/reports/monthly", routes::get(report_monthly))
        .route("/users", routes::get(list_users).post(create_user))
        .map_router(|r| {
            r.fallback(api_not_found)
                .method_not_allowed_fallback(api_method_not_allowed)
        })
}

async fn api_not_found() -> WebError {
    WebError::not_found("no such api endpoint")
}

async fn api_method_not_allowed() -> WebError {
    WebError::new(
        WebErrorKind::MethodNotAllowed,
        "method not allowed on this endpoint",
    )
}

async fn openapi_json() -> Response {
    let mut r = Json(super::openapi::document()).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

#[derive(Serialize)]
struct Me {
    user: User,
    csrf_token: Option<String>,
}

async fn me(p: Principal) -> Json<Me> {
    Json(Me {
        user: p.user,
        csrf_token: p.csrf,
    })
}

// ------------------------------------------------------------ documents

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub series: Option<String>,
    pub direction: Option<String>,
    pub doc_type: Option<String>,
    pub responsible: Option<String>,
    pub needs_review: Option<bool>,
    pub restricted: Option<bool>,
    pub registered_from: Option<String>,
    pub registered_to: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Largest `offset` of a document list (as the OpenAPI document says).
pub const MAX_LIST_OFFSET: i64 = 1_000_000_000;

/// A page's `limit` (default `default`, 1 to `max_limit`) and `offset` (0 to
/// `max_offset`), refused with the parameter named when out of bounds.
pub fn page_bounds(
    limit: Option<i64>,
    offset: Option<i64>,
    default: i64,
    max_limit: i64,
    max_offset: i64,
) -> WebResult<(i64, i64)> {
    let limit = limit.unwrap_or(default);
    if !(1..=max_limit).contains(&limit) {
        return Err(WebError::invalid(format!(
            "invalid limit {limit}: expected 1 to {max_limit}"
        )));
    }
    let offset = offset.unwrap_or(0);
    if !(0..=max_offset).contains(&offset) {
        return Err(WebError::invalid(format!(
            "invalid offset {offset}: expected 0 to {max_offset}"
        )));
    }
    Ok((limit, offset))
}

impl ListParams {
    pub fn filter(&self, page_size: i64) -> WebResult<crate::register::ListFilter> {
        let (limit, offset) =
            page_bounds(self.limit, self.offset, page_size, 500, MAX_LIST_OFFSET)?;
        let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
        Ok(crate::register::ListFilter {
            series: nonempty(&self.series),
            direction: self
                .direction
                .as_deref()
                .map(|d| d.parse::<Direction>())
                .transpose()?,
            doc_type: nonempty(&self.doc_type),
            responsible: nonempty(&self.responsible),
            needs_review: self.needs_review,
            registered_from: self
                .registered_from
                .as_deref()
                .map(|d| parse_date("registered_from", d))
                .transpose()?,
            registered_to: self
                .registered_to
                .as_deref()
                .map(|d| parse_date("registered_to", d))
                .transpose()?,
            restricted: self.restricted,
            limit: Some(limit),
            offset: Some(offset),
            newest_first: true,
            ..Default::default()
        })
    }
}

#[derive(Serialize)]
pub struct DocList {
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    pub items: Vec<DocView>,
}

/// Documents as this user may see them (restricted ones redacted where not allowed).
pub async fn views(state: &WebState, user: &User, docs: &[Document]) -> WebResult<Vec<DocView>> {
    let today = state.today();
    let mut out = Vec::with_capacity(docs.len());
    for d in docs {
        let sight = state.sight(Some(user), d).await?;
        out.push(DocView::new(d, today, sight));
    }
    // officials by name on the pages (the JSON keeps the login)
    super::view::Officials::load(state)
        .await?
        .name_all(&mut out);
    Ok(out)
}

async fn list_documents(
    State(state): State<WebState>,
    p: Principal,
    ApiQuery(q): ApiQuery<ListParams>,
) -> WebResult<Json<DocList>> {
    let f = q.filter(state.cfg.page_size)?;
    let (docs, total) =
        tokio::try_join!(state.app.register.list(&f), state.app.register.count(&f))?;
    Ok(Json(DocList {
        total,
        limit: f.limit.unwrap_or(0),
        offset: f.offset.unwrap_or(0),
        items: views(&state, &p.user, &docs).await?,
    }))
}

#[derive(Serialize)]
pub struct DocDetail {
    pub document: DocView,
    /// The letter's own text (an e-mail body), when visible.
    pub body: Option<String>,
}

/// Loads a document, asks the access policy how much of it `user` sees, records
/// a view of a restricted one.
pub async fn load_for(
    state: &WebState,
    user: &User,
    id: i64,
    via: &str,
    ip: std::net::IpAddr,
) -> WebResult<(Document, Sight)> {
    let d = state.app.register.get(id).await?;
    let sight = state.sight(Some(user), &d).await?;
    if sight == Sight::Full {
        state
            .audit_access(
                user,
                &d,
                "viewed",
                serde_json::json!({"via": via, "ip": ip.to_string()}),
            )
            .await?;
    }
    Ok((d, sight))
}

async fn get_document(
    State(state): State<WebState>,
    p: Principal,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<String>,
) -> WebResult<Json<DocDetail>> {
    let id = parse_id(&id)?;
    let (d, sight) = load_for(&state, &p.user, id, "api", ip).await?;
    let body = if access::may_see_field(sight, access::Field::Text) {
        state.app.register.body(d.id).await?
    } else {
        None
    };
    Ok(Json(DocDetail {
        document: DocView::new(&d, state.today(), sight),
        body,
    }))
}

/// Metadata a document is registered with (the `metadata` part of the upload).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDocumentJson {
    pub direction: Direction,
    pub channel: Channel,
    pub title: String,
    #[serde(default)]
    pub series: Option<String>,
    #[serde(default)]
    pub doc_type: Option<String>,
    /// The document kind (config/document-kinds.toml); its default rule applies without `doc_type`.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub parties: Vec<PartyJson>,
    #[serde(default)]
    pub their_ref: Option<String>,
    #[serde(default)]
    pub received: Option<String>,
    #[serde(default)]
    pub responsible: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub reply_to: Option<String>,
    /// With reply_to on an outgoing document: final, interim, forwarding, clarification or refusal.
    #[serde(default)]
    pub reply_kind: Option<crate::model::ReplyKind>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub restriction: Option<RestrictJson>,
    /// Registers the document public although it names a person: the reason is recorded.
    #[serde(default)]
    pub public_reason: Option<String>,
    /// The public title of the document's own (else the public sees the masked title).
    #[serde(default)]
    pub public_title: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyJson {
    pub name: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    pub role: PartyRole,
}

impl PartyJson {
    pub fn to_party(&self) -> WebResult<Party> {
        let mut p = Party::from_name_and_code(&self.name, self.code.as_deref(), self.role)
            .map_err(WebError::from)?;
        p.email = self.email.clone().filter(|e| !e.trim().is_empty());
        Ok(p)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestrictJson {
    pub ground: String,
    pub ends: String,
    #[serde(default)]
    pub holder: Option<String>,
}

impl RestrictJson {
    pub fn to_new(&self) -> WebResult<NewRestriction> {
        if self.ground.trim().is_empty() {
            return Err(WebError::invalid("invalid ground: it is empty"));
        }
        Ok(NewRestriction {
            end_by: Default::default(),
            ground: self.ground.trim().to_string(),
            ends: parse_date("ends", &self.ends)?,
            holder: self.holder.clone().filter(|h| !h.trim().is_empty()),
            begins: None,
        })
    }
}

/// A file name safe to store and to offer for download: no directories, no control characters.
pub fn safe_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | '|' | '*' | '?' | ':'))
        .take(200)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "fail".into()
    } else {
        cleaned
    }
}

async fn register_document(
    State(state): State<WebState>,
    p: Principal,
    mp: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> WebResult<(StatusCode, Json<DocView>)> {
    let mut mp = mp.map_err(|e| {
        WebError::invalid(format!(
            "invalid multipart body: {} (send multipart/form-data with a metadata part and file parts)",
            e.body_text()
        ))
    })?;
    require_role(&p.user, p.user.role.can_edit(), "register documents")?;
    let mut meta: Option<NewDocumentJson> = None;
    let mut files = Vec::new();
    let max = state.app.config.max_file_size;
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| WebError::invalid(format!("invalid multipart body: {e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "metadata" => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| WebError::invalid(format!("invalid metadata part: {e}")))?;
                meta = Some(
                    serde_json::from_str(&text)
                        .map_err(|e| WebError::invalid(format!("invalid metadata part: {e}")))?,
                );
            }
            "file" => {
                let fname = safe_file_name(field.file_name().unwrap_or("fail"));
                let media = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_string();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| WebError::invalid(format!("invalid file part {fname:?}: {e}")))?;
                if bytes.len() as u64 > max {
                    return Err(WebError::too_large(format!(
                        "file {fname:?} is larger than max_file_size ({max} bytes)"
                    )));
                }
                files.push(integrate::new_file(&state.app, fname, media, bytes.to_vec()).await);
            }
            other => {
                return Err(WebError::invalid(format!(
                    "invalid multipart part {other:?}: expected metadata or file"
                )))
            }
        }
    }
    let meta =
        meta.ok_or_else(|| WebError::invalid("invalid upload: the metadata part is missing"))?;
    let doc = register_from_json(&state, &p.user, meta, files).await?;
    let view = DocView::new(&doc, state.today(), Sight::Full);
    Ok((StatusCode::CREATED, Json(view)))
}

pub async fn register_from_json(
    state: &WebState,
    user: &User,
    meta: NewDocumentJson,
    files: Vec<NewFile>,
) -> WebResult<Document> {
    if meta.title.trim().is_empty() {
        return Err(WebError::invalid("invalid title: it is empty"));
    }
    let mut nd = NewDocument::new(meta.direction, meta.channel, meta.title.trim());
    nd.series = meta.series.filter(|s| !s.trim().is_empty());
    nd.doc_type = meta.doc_type.filter(|s| !s.trim().is_empty());
    nd.kind = meta.kind.filter(|s| !s.trim().is_empty());
    nd.parties = meta
        .parties
        .iter()
        .map(PartyJson::to_party)
        .collect::<WebResult<_>>()?;
    nd.their_ref = meta.their_ref.filter(|s| !s.trim().is_empty());
    nd.received = meta
        .received
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_date("received", &s))
        .transpose()?;
    nd.responsible = meta.responsible.filter(|s| !s.trim().is_empty());
    nd.unit = meta.unit.filter(|s| !s.trim().is_empty());
    nd.reply_to = meta.reply_to.filter(|s| !s.trim().is_empty());
    nd.reply_kind = meta.reply_kind;
    nd.body = meta.body.filter(|s| !s.is_empty());
    nd.restriction = meta
        .restriction
        .as_ref()
        .map(RestrictJson::to_new)
        .transpose()?;
    // The register decides personal data and the default restriction (personal_data::classify).
    nd.public_reason = meta.public_reason.filter(|s| !s.trim().is_empty());
    nd.public_title = meta
        .public_title
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    nd.files = files;
    Ok(state.app.register.register(nd, &user.name).await?)
}

/// Metadata edit: every field optional; `null`/absent leaves it unchanged.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchJson {
    pub title: Option<String>,
    pub doc_type: Option<String>,
    /// The document kind; an empty string clears it.
    pub kind: Option<String>,
    pub responsible: Option<String>,
    pub unit: Option<String>,
    pub their_ref: Option<String>,
    pub needs_review: Option<bool>,
    /// The public title; an empty string clears it (the public then sees the masked title).
    pub public_title: Option<String>,
    /// A series of the document list: the thread's only document gets a new
    /// number in it (the old one kept as an alias).
    pub series: Option<String>,
    pub direction: Option<Direction>,
    pub channel: Option<Channel>,
    /// Their letter's date (YYYY-MM-DD); an empty string clears it.
    pub their_date: Option<String>,
    /// The date received (YYYY-MM-DD); an empty string clears it.
    pub received: Option<String>,
}

/// A field that an empty string clears: absent, cleared, or set as given.
fn clearable(v: &Option<String>) -> Option<Option<String>> {
    v.clone().map(|s| Some(s).filter(|s| !s.trim().is_empty()))
}

impl PatchJson {
    pub fn to_patch(&self) -> WebResult<crate::register::MetadataPatch> {
        if let Some(t) = &self.title {
            if t.trim().is_empty() {
                return Err(WebError::invalid("invalid title: it is empty"));
            }
        }
        let mut patch = crate::register::MetadataPatch::default();
        patch.title = self.title.clone().map(|t| t.trim().to_string());
        patch.doc_type = clearable(&self.doc_type);
        patch.kind = clearable(&self.kind);
        patch.responsible = clearable(&self.responsible);
        patch.unit = clearable(&self.unit);
        patch.their_ref = clearable(&self.their_ref);
        patch.needs_review = self.needs_review;
        patch.series = self
            .series
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        patch.direction = self.direction;
        patch.channel = self.channel;
        let date = |field: &'static str,
                    v: &Option<String>|
         -> WebResult<Option<Option<jiff::civil::Date>>> {
            match v.as_deref().map(str::trim) {
                None => Ok(None),
                Some("") => Ok(Some(None)),
                Some(s) => crate::model::parse_date(field, s)
                    .map(|d| Some(Some(d)))
                    .map_err(WebError::from),
            }
        };
        patch.their_date = date("their_date", &self.their_date)?;
        patch.received = date("received", &self.received)?;
        patch.public_title = self
            .public_title
            .clone()
            .map(|s| Some(s.trim().to_string()).filter(|s| !s.is_empty()));
        Ok(patch)
    }
}

async fn edit_document(
    State(state): State<WebState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PatchJson>,
) -> WebResult<Json<DocView>> {
    require_role(&p.user, p.user.role.can_edit(), "edit documents")?;
    let id = parse_id(&id)?;
    let patch = body.to_patch()?;
    let d = state.app.register.update(id, patch, &p.user.name).await?;
    Ok(Json(DocView::new(&d, state.today(), Sight::Full)))
}

async fn restrict(
    State(state): State<WebState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RestrictJson>,
) -> WebResult<Json<DocView>> {
    require_role(&p.user, p.user.role.can_edit(), "restrict documents")?;
    let id = parse_id(&id)?;
    let r = body.to_new()?;
    let d = state.app.register.restrict(id, r, &p.user.name).await?;
    Ok(Json(DocView::new(&d, state.today(), Sight::Full)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendJson {
    pub ends: String,
    pub reason: String,
    /// The reference of the head's decision to extend (AvTS § 40 lg 1).
    #[serde(default)]
    pub decision: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiftJson {
    pub reason: String,
}

fn nonempty_reason(r: &str) -> WebResult<&str> {
    let r = r.trim();
    if r.is_empty() {
        Err(WebError::invalid("invalid reason: it is empty"))
    } else {
        Ok(r)
    }
}

async fn extend(
    State(state): State<WebState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ExtendJson>,
) -> WebResult<Json<DocView>> {
    require_role(&p.user, p.user.role.can_edit(), "extend restrictions")?;
    let id = parse_id(&id)?;
    let ends = parse_date("ends", &body.ends)?;
    let reason = nonempty_reason(&body.reason)?;
    let ext = crate::register::Extension {
        new_end: ends,
        decision: body.decision.clone(),
        reason: reason.to_string(),
        role: p.user.role,
    };
    let d = state
        .app
        .register
        .extend_restriction(id, &ext, &p.user.name)
        .await?;
    Ok(Json(DocView::new(&d, state.today(), Sight::Full)))
}

async fn lift(
    State(state): State<WebState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<LiftJson>,
) -> WebResult<Json<DocView>> {
    require_role(&p.user, p.user.role.can_edit(), "lift restrictions")?;
    let id = parse_id(&id)?;
    let reason = nonempty_reason(&body.reason)?;
    let d = state
        .app
        .register
        .lift_restriction(id, reason, &p.user.name)
        .await?;
    Ok(Json(DocView::new(&d, state.today(), Sight::Full)))
}

/// Sends a file of a document; the file is named by its sha256, which must be one
/// of the document's own (so no path ever reaches the file system).
pub async fn file_response(state: &WebState, d: &Document, sha: &str) -> WebResult<Response> {
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(WebError::invalid(format!(
            "invalid file id {sha:?}: expected the sha256 of one of the document's files"
        )));
    }
    let sha = sha.to_ascii_lowercase();
    let f =
        d.files.iter().find(|f| f.sha256 == sha).ok_or_else(|| {
            WebError::not_found(format!("document {} has no file {sha}", d.reg_no))
        })?;
    let bytes = state.app.register.file_bytes(&f.sha256).await?;
    let name = safe_file_name(&f.name);
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        super::headers::content_disposition(&name),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(resp)
}

async fn download_file(
    State(state): State<WebState>,
    p: Principal,
    ClientIp(ip): ClientIp,
    ApiPath((id, sha)): ApiPath<(String, String)>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    let d = state.app.register.get(id).await?;
    if !state.can_see(&p.user, &d).await? {
        return Err(WebError::forbidden(format!(
            "forbidden: document {} is restricted ({})",
            d.reg_no,
            d.restriction
                .as_ref()
                .map(|r| r.ground.as_str())
                .unwrap_or("")
        )));
    }
    let resp = file_response(&state, &d, &sha).await?;
    state
        .audit_access(
            &p.user,
            &d,
            "downloaded",
            serde_json::json!({"via": "api", "file": sha.to_ascii_lowercase(), "ip": ip.to_string()}),
        )
        .await?;
    Ok(resp)
}

#[derive(Serialize)]
struct Items<T> {
    items: Vec<T>,
}

async fn thread(
    State(state): State<WebState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> WebResult<Json<Items<DocView>>> {
    let id = parse_id(&id)?;
    let d = state.app.register.get(id).await?;
    let docs = state.app.register.thread(d.thread_id).await?;
    Ok(Json(Items {
        items: views(&state, &p.user, &docs).await?,
    }))
}

#[derive(Serialize)]
pub struct EventView {
    pub seq: i64,
    pub at: String,
    pub kind: String,
    pub actor: String,
    pub detail: serde_json::Value,
}

async fn events(
    State(state): State<WebState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> WebResult<Json<Items<EventView>>> {
    let id = parse_id(&id)?;
    let d = state.app.register.get(id).await?;
    if !state.can_see(&p.user, &d).await? {
        return Err(WebError::forbidden(format!(
            "forbidden: document {} is restricted",
            d.reg_no
        )));
    }
    let items = state
        .app
        .register
        .events(id)
        .await?
        .into_iter()
        .map(|e| EventView {
            seq: e.seq,
            at: e.at,
            kind: e.kind,
            actor: e.actor,
            detail: e.detail,
        })
        .collect();
    Ok(Json(Items { items }))
}

async fn deadline(
    State(state): State<WebState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> WebResult<Json<integrate::DeadlineView>> {
    let id = parse_id(&id)?;
    let d = state.app.register.get(id).await?;
    let sight = state.sight(Some(&p.user), &d).await?;
    Ok(Json(integrate::deadline_of(&state, &d, sight).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyJson {
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub channel: Option<Channel>,
    /// E-mail address (channel email) or registry code (channel dhx); default: the sender of the document.
    #[serde(default)]
    pub recipient: Option<String>,
    /// final, interim, forwarding, clarification or refusal; absent: not given
    /// (the reply then ends no deadline).
    #[serde(default)]
    pub reply_kind: Option<crate::model::ReplyKind>,
}

#[derive(Serialize)]
pub struct ReplyResult {
    pub document: DocView,
    pub outbox: Vec<integrate::OutboxView>,
}

pub async fn do_reply(
    state: &WebState,
    user: &User,
    parent: &Document,
    r: ReplyJson,
) -> WebResult<ReplyResult> {
    if r.title.trim().is_empty() {
        return Err(WebError::invalid("invalid title: it is empty"));
    }
    if r.body.trim().is_empty() {
        return Err(WebError::invalid("invalid body: it is empty"));
    }
    let channel = r.channel.unwrap_or(match parent.channel {
        Channel::Dhx => Channel::Dhx,
        _ => Channel::Email,
    });
    let mut nd = NewDocument::new(Direction::Outgoing, channel, r.title.trim());
    nd.series = Some(parent.series.clone());
    nd.reply_to = Some(parent.reg_no.clone());
    nd.reply_kind = r.reply_kind;
    nd.body = Some(r.body.clone());
    // Replying never changes who may see a case: the reply is answered by whoever
    // answers the document it replies to, never by its author as such.
    nd.responsible = parent.responsible.clone();
    nd.unit = parent.unit.clone();
    nd.doc_type = None;
    let recipient = r.recipient.clone().filter(|s| !s.trim().is_empty());
    let mut parties: Vec<Party> = parent
        .parties
        .iter()
        .filter(|p| p.role == PartyRole::Sender)
        .cloned()
        .map(|mut p| {
            p.role = PartyRole::Recipient;
            p
        })
        .collect();
    if let Some(rc) = &recipient {
        if channel == Channel::Email && !rc.contains('@') {
            return Err(WebError::invalid(format!(
                "invalid recipient {rc:?}: expected an e-mail address"
            )));
        }
        if channel == Channel::Dhx && !crate::model::is_registry_code(rc) {
            return Err(WebError::invalid(format!(
                "invalid recipient {rc:?}: expected an 8-digit registry code"
            )));
        }
        if parties.is_empty() {
            parties.push(Party {
                kind: if channel == Channel::Dhx {
                    PartyKind::Organisation
                } else {
                    PartyKind::Person
                },
                role: PartyRole::Recipient,
                name: rc.clone(),
                code: (channel == Channel::Dhx).then(|| rc.clone()),
                email: (channel == Channel::Email).then(|| rc.clone()),
            });
        } else if channel == Channel::Email {
            parties[0].email = Some(rc.clone());
        }
    }
    nd.parties = parties;
    if let Some(rs) = &parent.restriction {
        if rs.ends >= state.today() {
            nd.restriction = Some(NewRestriction {
                end_by: Default::default(),
                ground: rs.ground.clone(),
                ends: rs.ends,
                holder: Some(rs.holder.clone()),
                begins: None,
            });
        }
    }
    let (doc, outbox) = integrate::send_reply(state, parent, nd, recipient, user).await?;
    Ok(ReplyResult {
        document: DocView::new(&doc, state.today(), Sight::Full),
        outbox,
    })
}

async fn reply(
    State(state): State<WebState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReplyJson>,
) -> WebResult<(StatusCode, Json<ReplyResult>)> {
    let id = parse_id(&id)?;
    let d = state.app.register.get(id).await?;
    if !state.can_see(&p.user, &d).await? {
        return Err(WebError::forbidden(format!(
            "forbidden: document {} is restricted",
            d.reg_no
        )));
    }
    let r = do_reply(&state, &p.user, &d, body).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    pub q: String,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    pub series: Option<String>,
    pub doc_type: Option<String>,
    pub direction: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub sort: Option<String>,
    pub deadline: Option<String>,
}

async fn search(
    State(state): State<WebState>,
    p: Principal,
    ApiQuery(q): ApiQuery<SearchParams>,
) -> WebResult<Json<integrate::SearchOutcome>> {
    let (limit, offset) = page_bounds(q.limit, q.offset, 20, 100, 10_000)?;
    let filters = integrate::SearchFilters {
        series: q.series,
        doc_type: q.doc_type,
        direction: q.direction,
        from: q.from,
        to: q.to,
        sort: q.sort,
        deadline: q.deadline,
    };
    let req = filters.request(&q.q, limit, offset, false)?;
    Ok(Json(integrate::search(&state, &p.user, req).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverdueParams {
    /// Only this official's documents; "—" for those without one.
    pub official: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl OverdueParams {
    pub fn who(&self) -> crate::deadline::state::DueOf {
        use crate::deadline::state::DueOf;
        match self.official.as_deref().map(str::trim) {
            None | Some("") => DueOf::Anyone,
            Some("—") => DueOf::Unassigned,
            Some(o) => DueOf::Official(o.to_string()),
        }
    }
}

#[derive(Serialize)]
pub struct DueList {
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    pub items: Vec<integrate::DueItem>,
}

async fn overdue(
    State(state): State<WebState>,
    p: Principal,
    ApiQuery(q): ApiQuery<OverdueParams>,
) -> WebResult<Json<DueList>> {
    let (limit, offset) = page_bounds(q.limit, q.offset, 100, 500, MAX_LIST_OFFSET)?;
    let (items, total) =
        integrate::overdue(&state, &p.user, q.who(), (limit, offset), true, false).await?;
    Ok(Json(DueList {
        total: total.unwrap_or(0),
        limit,
        offset,
        items,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    pub from: Option<String>,
    pub to: Option<String>,
}

async fn report_monthly(
    State(state): State<WebState>,
    p: Principal,
    ApiQuery(q): ApiQuery<ReportParams>,
) -> WebResult<Json<Items<super::query::MonthRow>>> {
    require_role(&p.user, p.user.role.can_report(), "see reports")?;
    // The API takes a date or nothing (the form's empty field is the pages' business).
    for (name, v) in [("from", &q.from), ("to", &q.to)] {
        if let Some(v) = v {
            parse_date(name, v)?;
        }
    }
    let (from, to) = report_range(&state, q.from.as_deref(), q.to.as_deref())?;
    Ok(Json(Items {
        items: super::query::monthly(&state, from, to).await?,
    }))
}

/// The report period: default the last 12 months up to today.
pub fn report_range(
    state: &WebState,
    from: Option<&str>,
    to: Option<&str>,
) -> WebResult<(jiff::civil::Date, jiff::civil::Date)> {
    let today = state.today();
    let to = match to.filter(|s| !s.trim().is_empty()) {
        Some(s) => parse_date("to", s)?,
        None => today,
    };
    let from = match from.filter(|s| !s.trim().is_empty()) {
        Some(s) => parse_date("from", s)?,
        None => to
            .first_of_month()
            .checked_sub(jiff::Span::new().months(11))
            .map_err(|e| WebError::invalid(format!("invalid to: {e}")))?,
    };
    if from > to {
        return Err(WebError::invalid(format!(
            "invalid period: from {from} is after to {to}"
        )));
    }
    Ok((from, to))
}

async fn list_users(State(state): State<WebState>, p: Principal) -> WebResult<Json<Items<User>>> {
    require_role(
        &p.user,
        matches!(p.user.role, Role::Admin | Role::Lead),
        "list users",
    )?;
    Ok(Json(Items {
        items: auth::list_users(&state.app.store).await?,
    }))
}

async fn create_user(
    State(state): State<WebState>,
    p: Principal,
    ApiJson(body): ApiJson<NewUser>,
) -> WebResult<(StatusCode, Json<User>)> {
    require_role(&p.user, p.user.role.can_manage_users(), "create users")?;
    let u = auth::create_user(&state.app.store, &body).await?;
    Ok((StatusCode::CREATED, Json(u)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_directories_and_controls() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("C:\\Users\\x\\taotlus.pdf"), "taotlus.pdf");
        assert_eq!(safe_file_name("..\u{0}"), "fail");
        assert_eq!(safe_file_name("a\"b\r\n.pdf"), "ab.pdf");
        assert_eq!(safe_file_name(".."), "fail");
        assert_eq!(safe_file_name("õiend.pdf"), "õiend.pdf");
    }

    #[test]
    fn ids_must_be_positive_integers() {
        assert_eq!(parse_id("12").unwrap(), 12);
        for bad in ["0", "-1", "x", "1.5", ""] {
            let e = parse_id(bad).unwrap_err();
            assert_eq!(e.code(), "invalid", "{bad}");
        }
    }

    #[test]
    fn list_params_validate() {
        let p = ListParams {
            limit: Some(0),
            ..Default::default()
        };
        assert!(p.filter(50).unwrap_err().message.contains("limit"));
        let p = ListParams {
            registered_from: Some("2026-13-01".into()),
            ..Default::default()
        };
        assert!(p
            .filter(50)
            .unwrap_err()
            .message
            .contains("registered_from"));
        let p = ListParams {
            direction: Some("sideways".into()),
            ..Default::default()
        };
        assert!(p.filter(50).unwrap_err().message.contains("sideways"));
        let f = ListParams::default().filter(50).unwrap();
        assert_eq!(f.limit, Some(50));
    }
}

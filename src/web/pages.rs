//! The server-rendered application (askama): login, the clerk's inbox, the
//! register, a document, the reply composer, the lead's dashboard, search and
//! reports. Works without JavaScript; every form carries the session's CSRF token.

use super::routes::{self, Routes};
use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::api::{self, ApiPath, ApiQuery, ListParams, ReplyJson};
use super::auth::{self, Client, Role, User};
use super::error::{WebError, WebResult};
use super::i18n::Lang;
use super::integrate::{self, DeadlineView, DueItem, OutboxView, SearchHit};
use super::query::{self, MonthRow};
use super::view::DocView;
use super::{
    chart, cookie, principal, ClientIp, Principal, WebState, LOGIN_CSRF_COOKIE, SESSION_COOKIE,
};
use crate::deadline::state::DueOf;
use crate::model::{parse_date, Channel, NewRestriction};

// ------------------------------------------------------------ plumbing

/// A page's failure: an HTML error page, or a redirect (to the login page).
pub enum PageError {
    Web(WebError, Lang),
    Redirect(String),
}

impl From<WebError> for PageError {
    fn from(e: WebError) -> Self {
        PageError::Web(e, Lang::Et)
    }
}
impl From<crate::error::Error> for PageError {
    fn from(e: crate::error::Error) -> Self {
        PageError::Web(e.into(), Lang::Et)
    }
}
impl From<FormRejection> for WebError {
    fn from(r: FormRejection) -> Self {
        WebError::invalid(format!("invalid form: {}", r.body_text()))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Redirect(to) => Redirect::to(&to).into_response(),
            // rendered again with the caller's header by `error::page_with_user`
            PageError::Web(e, l) => {
                super::error::ErrorPageInfo::of(&e, l).render(None, String::new(), String::new())
            }
        }
    }
}

pub type PageResult = Result<Response, PageError>;

/// Renders a template as an uncached HTML response.
pub fn html<T: Template>(t: T) -> Response {
    match t.render() {
        Ok(body) => {
            let mut r = body.into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// `Form` whose rejection is our error.
#[derive(FromRequest)]
#[from_request(via(axum::Form), rejection(WebError))]
pub struct PageForm<T>(pub T);

pub fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, "lang")
        .and_then(|c| Lang::parse(&c))
        .unwrap_or_default()
}

/// The logged-in user of a page, or a redirect to the login page.
pub(super) async fn page_user(
    state: &WebState,
    headers: &HeaderMap,
) -> Result<(Principal, Lang), PageError> {
    let l = lang_of(headers);
    match principal(state, headers).await {
        Ok(Some(p)) => Ok((p, l)),
        Ok(None) => Err(PageError::Redirect("/login".into())),
        Err(e) => Err(PageError::Web(e, l)),
    }
}

pub(super) fn check_csrf(p: &Principal, got: &str) -> WebResult<()> {
    match &p.csrf {
        Some(expected) if auth::constant_time_eq(got, expected) => Ok(()),
        _ => Err(WebError::csrf()),
    }
}

pub(super) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

fn agency(state: &WebState) -> String {
    state.app.config.agency.name.clone()
}

pub fn routes() -> Routes {
    Routes::new()
        .route("/", routes::get(home))
        .route("/login", routes::get(login_form).post(login))
        .route("/logout", routes::post(logout))
        .route("/lang/{code}", routes::get(set_lang))
        .route("/static/app.css", routes::get(css))
        .route("/inbox", routes::get(inbox))
        .route("/documents", routes::get(documents))
        .route("/documents/{id}", routes::get(document))
        .route("/documents/{id}/complete", routes::post(complete))
        .route("/documents/{id}/files/{sha256}", routes::get(download))
        .route("/documents/{id}/reply", routes::get(reply_form).post(reply))
        .route("/documents/{id}/restrict", routes::post(restrict))
        .route("/documents/{id}/extend", routes::post(extend))
        .route("/documents/{id}/lift", routes::post(lift))
        .route("/dashboard", routes::get(dashboard))
        .route("/search", routes::get(search))
        .route("/reports", routes::get(reports))
        .route("/reports.csv", routes::get(reports_csv))
        .merge(super::forms::routes())
        .merge(super::invoices::routes())
}

pub async fn not_found(uri: axum::http::Uri, headers: HeaderMap) -> Response {
    if uri.path().starts_with("/api/") {
        return WebError::not_found("no such api endpoint").into_response();
    }
    PageError::Web(WebError::not_found("page not found"), lang_of(&headers)).into_response()
}

async fn css() -> Response {
    let mut r = include_str!("../../static/app.css").into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

#[derive(Deserialize)]
struct Back {
    back: Option<String>,
}

async fn set_lang(
    ApiPath(code): ApiPath<String>,
    ApiQuery(b): ApiQuery<Back>,
) -> WebResult<Response> {
    let l = Lang::parse(&code).ok_or_else(|| {
        WebError::invalid(format!("invalid language {code:?}: expected et or en"))
    })?;
    // Only a local path of this site; anything else (another host, a scheme,
    // controls or whitespace) falls back to "/".
    let back = b
        .back
        .as_deref()
        .and_then(super::headers::local_redirect)
        .unwrap_or("/");
    let mut r = see_other(back);
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
            l.code()
        ))
        .map_err(|e| WebError::internal(e.to_string()))?,
    );
    Ok(r)
}

async fn home(State(state): State<WebState>, headers: HeaderMap) -> PageResult {
    let (p, _) = page_user(&state, &headers).await?;
    Ok(see_other(match p.user.role {
        Role::Clerk => "/inbox",
        Role::Lead => "/dashboard",
        _ => "/documents",
    }))
}

// ------------------------------------------------------------ login

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    l: Lang,
    user: Option<User>,
    csrf: String,
    agency: String,
    login_csrf: String,
    error: Option<String>,
}

/// The attributes of the session and login-CSRF cookies: Secure when
/// `web.cookie_secure` is set or a trusted proxy says the client used https.
fn cookie_attrs(state: &WebState, client: &Client) -> &'static str {
    if state.cfg.cookie_secure || client.https {
        "; HttpOnly; SameSite=Strict; Secure"
    } else {
        "; HttpOnly; SameSite=Strict"
    }
}

fn login_page(
    state: &WebState,
    client: &Client,
    l: Lang,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let token = auth::random_token();
    let mut r = html(LoginPage {
        l,
        user: None,
        csrf: String::new(),
        agency: agency(state),
        login_csrf: token.clone(),
        error,
    });
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LOGIN_CSRF_COOKIE}={token}; Path=/login; Max-Age=3600{}",
        cookie_attrs(state, client)
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn login_form(State(state): State<WebState>, client: Client, headers: HeaderMap) -> Response {
    login_page(&state, &client, lang_of(&headers), None, StatusCode::OK)
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: String,
    name: String,
    password: String,
}

async fn login(
    State(state): State<WebState>,
    client: Client,
    headers: HeaderMap,
    PageForm(f): PageForm<LoginForm>,
) -> PageResult {
    let l = lang_of(&headers);
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !auth::constant_time_eq(&f.csrf, &expected) {
        return Err(PageError::Web(WebError::csrf(), l));
    }
    let name = f.name.trim().to_string();
    let attempt = match state.login_throttle.begin(client.ip, &name) {
        Ok(a) => a,
        Err(wait) => return Err(PageError::Web(WebError::rate_limited(wait), l)),
    };
    match auth::authenticate(&state.app.store, &name, &f.password).await {
        Ok(user) => {
            // only this name's failures are forgiven; the address's decay with time
            attempt.succeeded();
            let (sid, _) = auth::create_session(&state.app.store, &user, &state.sessions).await?;
            let attrs = cookie_attrs(&state, &client);
            let mut r = see_other("/");
            r.headers_mut().append(
                header::SET_COOKIE,
                HeaderValue::from_str(&format!(
                    "{SESSION_COOKIE}={sid}; Path=/; Max-Age={}{attrs}",
                    state.sessions.lifetime.as_secs(),
                ))
                .map_err(|e| WebError::internal(e.to_string()))?,
            );
            r.headers_mut().append(
                header::SET_COOKIE,
                HeaderValue::from_str(&format!(
                    "{LOGIN_CSRF_COOKIE}=; Path=/login; Max-Age=0{attrs}"
                ))
                .map_err(|e| WebError::internal(e.to_string()))?,
            );
            Ok(r)
        }
        Err(crate::error::Error::Unauthorized(_)) => {
            attempt.failed();
            // the same words for a wrong name, a wrong password and a disabled user
            let m = l.t("login_failed").to_string();
            Ok(login_page(
                &state,
                &client,
                l,
                Some(m),
                StatusCode::UNAUTHORIZED,
            ))
        }
        Err(e) => Err(PageError::Web(e.into(), l)),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<WebState>,
    client: Client,
    headers: HeaderMap,
    PageForm(f): PageForm<CsrfForm>,
) -> PageResult {
    let (p, _) = page_user(&state, &headers).await?;
    check_csrf(&p, &f.csrf)?;
    if let Some(sid) = cookie(&headers, SESSION_COOKIE) {
        auth::delete_session(&state.app.store, &sid).await?;
    }
    let mut r = see_other("/login");
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}=; Path=/; Max-Age=0{}",
            cookie_attrs(&state, &client)
        ))
        .map_err(|e| WebError::internal(e.to_string()))?,
    );
    Ok(r)
}

// ------------------------------------------------------------ inbox

pub struct InboxItem {
    pub doc: DocView,
    pub restrict_checked: bool,
    pub ground: String,
    pub ends: String,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    l: Lang,
    user: Option<User>,
    csrf: String,
    agency: String,
    total: i64,
    items: Vec<InboxItem>,
    series: Vec<(String, String)>,
    doc_types: Vec<(String, String)>,
    /// Document kinds: (id, name in the page's language).
    kinds: Vec<(String, String)>,
    officials: Vec<(String, String)>,
    /// What the last confirmation did ("Kinnitatud 9-14/7").
    flash: Option<(bool, String)>,
}

/// The document kinds offered in the forms: (id, name in `l`).
pub(super) fn kind_options(state: &WebState, l: Lang) -> Vec<(String, String)> {
    state
        .app
        .register
        .vocab()
        .kinds
        .all()
        .iter()
        .map(|k| (k.id.clone(), k.name(l.code()).to_string()))
        .collect()
}

pub(super) fn series_options(state: &WebState) -> Vec<(String, String)> {
    state
        .app
        .series
        .all()
        .map(|s| (s.code.clone(), s.title.clone()))
        .collect()
}

pub(super) async fn officials(state: &WebState) -> WebResult<Vec<(String, String)>> {
    Ok(auth::list_users(&state.app.store)
        .await?
        .into_iter()
        .filter(|u| !u.disabled && u.role != Role::Admin)
        .map(|u| (u.name.clone(), format!("{} ({})", u.full_name, u.name)))
        .collect())
}

/// The restriction the inbox form proposes for a document not yet restricted: its
/// proposed ground, else its series' default, else the victim-data ground
/// (`ingest.personal_data_ground`), ending at the term of `restriction::term`
/// (AvTS § 40, from the receipt date) or the series' shorter one.
pub(super) fn default_restriction(state: &WebState, d: &DocView) -> (String, String) {
    let series = state.app.series.get(&d.series);
    let ground = d
        .proposed_ground
        .clone()
        .or_else(|| series.and_then(|s| s.default_ground.clone()))
        .unwrap_or_else(|| state.app.config.ingest.personal_data_ground.clone());
    let base = d.received.unwrap_or(d.registered);
    let personal =
        d.contains_personal_data == Some(true) || series.is_some_and(|s| s.personal_data);
    let ends = state
        .app
        .register
        .vocab()
        .grounds
        .get(&ground)
        .and_then(|g| crate::restriction::term(g, personal, base, Default::default(), None).ok())
        .map(|t| {
            series
                .and_then(|s| s.restriction_years)
                .and_then(|y| i16::try_from(y).ok())
                .filter(|y| *y > 0)
                .and_then(|y| base.checked_add(jiff::Span::new().years(y)).ok())
                .map_or(t.ends, |e| e.min(t.ends))
        })
        .map(|d| d.to_string())
        .unwrap_or_default();
    (ground, ends)
}

async fn inbox(
    State(state): State<WebState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> PageResult {
    let (p, l) = page_user(&state, &headers).await?;
    let flash = super::forms::inbox_flash(&state, l, uri.query()).await?;
    let f = crate::register::ListFilter {
        needs_review: Some(true),
        limit: Some(state.cfg.page_size),
        ..Default::default()
    };
    let (docs, total) =
        tokio::try_join!(state.app.register.list(&f), state.app.register.count(&f))?;
    let views = api::views(&state, &p.user, &docs).await?;
    let items = views
        .into_iter()
        .map(|doc| {
            let (ground, ends) = default_restriction(&state, &doc);
            InboxItem {
                restrict_checked: doc.restriction.is_none() && doc.proposed_ground.is_some(),
                ground,
                ends,
                doc,
            }
        })
        .collect();
    Ok(html(InboxPage {
        l,
        csrf: p.csrf.clone().unwrap_or_default(),
        user: Some(p.user),
        agency: agency(&state),
        total,
        items,
        series: series_options(&state),
        doc_types: integrate::doc_types(&state, l),
        kinds: kind_options(&state, l),
        officials: officials(&state).await?,
        flash,
    }))
}

#[derive(Deserialize)]
struct CompleteForm {
    csrf: String,
    series: String,
    #[serde(default)]
    doc_type: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    responsible: String,
    #[serde(default)]
    restrict: Option<String>,
    #[serde(default)]
    ground: String,
    #[serde(default)]
    ends: String,
}

async fn complete(
    State(state): State<WebState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    PageForm(f): PageForm<CompleteForm>,
) -> PageResult {
    let (p, l) = page_user(&state, &headers).await?;
    let err = |e: WebError| PageError::Web(e, l);
    check_csrf(&p, &f.csrf).map_err(err)?;
    api::require_role(&p.user, p.user.role.can_edit(), "complete documents").map_err(err)?;
    let id = api::parse_id(&id).map_err(err)?;
    let d = state.app.register.get(id).await?;
    // Validate everything before the first write.
    let restriction = if f.restrict.is_some() && d.restriction.is_none() {
        if f.ground.trim().is_empty() {
            return Err(err(WebError::invalid("invalid ground: it is empty")));
        }
        Some(NewRestriction {
            end_by: Default::default(),
            ground: f.ground.trim().to_string(),
            ends: parse_date("ends", &f.ends).map_err(|e| err(e.into()))?,
            holder: None,
            begins: None,
        })
    } else {
        None
    };
    if state.app.series.get(&f.series).is_none() {
        return Err(err(WebError::invalid(format!(
            "unknown series {:?}",
            f.series
        ))));
    }
    if let Some(r) = restriction {
        state.app.register.restrict(id, r, &p.user.name).await?;
    }
    let patch = crate::register::MetadataPatch {
        series: (f.series != d.series).then(|| f.series.clone()),
        doc_type: Some(Some(f.doc_type.trim().to_string()).filter(|s| !s.is_empty())),
        kind: Some(Some(f.kind.trim().to_string()).filter(|s| !s.is_empty())),
        responsible: Some(Some(f.responsible.trim().to_string()).filter(|s| !s.is_empty())),
        needs_review: Some(false),
        ..Default::default()
    };
    let done = state.app.register.update(id, patch, &p.user.name).await?;
    Ok(see_other(&format!("/inbox?done=confirmed&id={}", done.id)))
}

// ------------------------------------------------------------ register list

/// The list filters as the form sends them (empty = no filter).
#[derive(Debug, Default, Deserialize)]
pub struct ListForm {
    pub series: Option<String>,
    pub direction: Option<String>,
    pub doc_type: Option<String>,
    pub responsible: Option<String>,
    pub needs_review: Option<String>,
    pub registered_from: Option<String>,
    pub registered_to: Option<String>,
    pub offset: Option<i64>,
    /// `reg_no`, `registered`, `due` or `party` (default: registration order).
    pub sort: Option<String>,
    /// `asc` or `desc` (default: newest first).
    pub dir: Option<String>,
}

impl ListForm {
    /// The list's order and whether it descends (unknown values: the default).
    pub fn order(&self) -> (crate::register::ListOrder, bool) {
        use crate::register::ListOrder;
        let order = match self.sort.as_deref() {
            Some("reg_no") => ListOrder::RegNo,
            Some("registered") => ListOrder::Registered,
            Some("due") => ListOrder::Due,
            Some("party") => ListOrder::Party,
            _ => ListOrder::Id,
        };
        (order, self.dir.as_deref() != Some("asc"))
    }

    fn params(&self, page: i64) -> WebResult<ListParams> {
        let ne = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
        Ok(ListParams {
            series: ne(&self.series),
            direction: ne(&self.direction),
            doc_type: ne(&self.doc_type),
            responsible: ne(&self.responsible),
            needs_review: ne(&self.needs_review).map(|s| s == "true"),
            restricted: None,
            registered_from: ne(&self.registered_from),
            registered_to: ne(&self.registered_to),
            limit: Some(page),
            offset: self.offset,
        })
    }

    fn query_with_offset(&self, offset: i64) -> String {
        let mut parts = vec![];
        for (k, v) in [
            ("series", &self.series),
            ("direction", &self.direction),
            ("doc_type", &self.doc_type),
            ("responsible", &self.responsible),
            ("needs_review", &self.needs_review),
            ("registered_from", &self.registered_from),
            ("registered_to", &self.registered_to),
            ("sort", &self.sort),
            ("dir", &self.dir),
        ] {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", urlencode(v)));
            }
        }
        parts.push(format!("offset={offset}"));
        parts.join("&")
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "documents.html")]
struct DocumentsPage {
    l: Lang,
    user: Option<User>,
    csrf: String,
    agency: String,
    f: ListForm,
    total: i64,
    docs: Vec<DocView>,
    series: Vec<(String, String)>,
    directions: Vec<&'static str>,
    prev: Option<String>,
    next: Option<String>,
}

async fn documents(
    State(state): State<WebState>,
    headers: HeaderMap,
    ApiQuery(form): ApiQuery<ListForm>,
) -> PageResult {
    let (p, l) = page_user(&state, &headers).await?;
    let page = state.cfg.page_size;
    let mut f = form
        .params(page)
        .map_err(|e| PageError::Web(e, l))?
        .filter(page)
        .map_err(|e| PageError::Web(e, l))?;
    (f.order, f.newest_first) = form.order();
    integrate::sync_deadlines(&state).await?;
    let (docs, total) =
        tokio::try_join!(state.app.register.list(&f), state.app.register.count(&f))?;
    let offset = f.offset.unwrap_or(0);
    let mut docs = api::views(&state, &p.user, &docs).await?;
    query::fill_due(&state, &mut docs).await?;
    Ok(html(DocumentsPage {
        l,
        csrf: p.csrf.clone().unwrap_or_default(),
        user: Some(p.user),
        agency: agency(&state),
        prev: (offset > 0).then(|| {
            format!(
                "/documents?{}",
                form.query_with_offset((offset - page).max(0))
            )
        }),
        next: (offset + page < total)
            .then(|| format!("/documents?{}", form.query_with_offset(offset + page))),
        f: form,
        total,
        docs,
        series: series_options(&state),
        directions: vec!["incoming", "outgoing", "internal"],
    }))
}

// ------------------------------------------------------------ document

#[derive(Template)]
#[template(path = "document.html")]
struct DocumentPage {
    l: Lang,
    user: Option<User>,
    csrf: String,
    agency: String,
    d: DocView,
    body_html: Option<String>,
    texts: Vec<(String, String)>,
    docs: Vec<DocView>,
    events: Vec<crate::model::Event>,
    deadline: DeadlineView,
    outbox: Vec<OutboxView>,
    can_edit: bool,
    default_ground: String,
    default_ends: String,
    /// What the last action did (`forms::flash`): (is an error, text).
    flash: Option<(bool, String)>,
    /// The numbers the document had before it moved to another series.
    aliases: Vec<String>,
    /// The document type (deadline rule) by its name in the page's language.
    doc_type_name: Option<String>,
    deadline_controls: Option<super::forms::DeadlineControls>,
    signatures: Vec<integrate::SignatureView>,
    container_files: integrate::ContainerFiles,
    /// The document read as an invoice, and the referral it is, if any.
    invoice: Option<crate::invoice::InvoiceView>,
    referral: Option<crate::invoice::Referral>,
    can_decide: bool,
}

/// True when a letter's text is HTML (then it is shown sanitised).
pub fn looks_like_html(s: &str) -> bool {
    let t = s.trim_start().to_ascii_lowercase();
    t.starts_with("<!doctype html")
        || t.starts_with("<html")
        || ["<p>", "<p ", "<div", "<br", "<table", "<body"]
            .iter()
            .any(|tag| t.contains(tag))
}

/// Sanitised HTML of an e-mail: no scripts, styles, forms or event handlers.
pub fn sanitize_mail_html(s: &str) -> String {
    ammonia::Builder::default()
        .rm_tags(&["img"])
        .clean(s)
        .to_string()
}

const MAX_TEXT_CHARS: usize = 100_000;

fn cut(s: String) -> String {
    if s.chars().count() > MAX_TEXT_CHARS {
        let mut t: String = s.chars().take(MAX_TEXT_CHARS).collect();
        t.push_str("\n…");
        t
    } else {
        s
    }
}

async fn document(
    State(state): State<WebState>,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<String>,
    uri: axum::http::Uri,
) -> PageResult {
    let (p, l) = page_user(&state, &headers).await?;
    let id = api::parse_id(&id).map_err(|e| PageError::Web(e, l))?;
    let (d, sight) = api::load_for(&state, &p.user, id, "web", ip)
        .await
        .map_err(|e| PageError::Web(e, l))?;
    let today = state.today();
    let mut view = DocView::new(&d, today, sight);
    // the responsible official by name (the JSON keeps the login)
    super::view::Officials::load(&state)
        .await?
        .name_all(std::slice::from_mut(&mut view));
    let doc_type_name = view
        .doc_type
        .as_deref()
        .map(|t| integrate::doc_type_name(&state, l, t));
    let mut body_html = None;
    let mut texts = vec![];
    let mut events = vec![];
    if !view.hidden {
        if let Some(b) = state.app.register.body(d.id).await? {
            if looks_like_html(&b) {
                body_html = Some(sanitize_mail_html(&b));
            } else {
                texts.push((l.t("body").to_string(), cut(b)));
            }
        }
        for f in &d.files {
            if let Some(t) = state.app.register.file_text(&f.sha256).await? {
                texts.push((f.name.clone(), cut(t)));
            }
        }
        events = state.app.register.events(d.id).await?;
    }
    let thread = state.app.register.thread(d.thread_id).await?;
    let docs = api::views(&state, &p.user, &thread).await?;
    let (default_ground, default_ends) = default_restriction(&state, &view);
    let deadline = integrate::deadline_of(&state, &d, sight).await?;
    let deadline_controls =
        super::forms::deadline_controls(&state, p.user.role, &deadline, &docs, &view);
    let aliases = if view.hidden {
        vec![]
    } else {
        state.app.register.aliases(d.id).await?
    };
    let (signatures, container_files) = integrate::signatures_of(&state, &d, sight).await?;
    let (invoice, referral) = super::invoices::panels(&state, &d, view.hidden).await?;
    Ok(html(DocumentPage {
        invoice,
        referral,
        can_decide: super::invoices::can_decide(&p.user),
        l,
        csrf: p.csrf.clone().unwrap_or_default(),
        can_edit: p.user.role.can_edit(),
        user: Some(p.user),
        agency: agency(&state),
        flash: super::forms::flash(l, uri.query(), &d.reg_no),
        aliases,
        doc_type_name,
        deadline_controls,
        deadline,
        outbox: integrate::outbox_of(&state, d.id, sight).await?,
        d: view,
        body_html,
        texts,
        docs,
        events,
        default_ground,
        default_ends,
        signatures,
        container_files,
    }))
}

async fn download(
    State(state): State<WebState>,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    ApiPath((id, sha)): ApiPath<(String, String)>,
) -> PageResult {
    let (p, l) = page_user(&state, &headers).await?;
    let err = |e: WebError| PageError::Web(e, l);
    let id = api::parse_id(&id).map_err(err)?;
    let d = state.app.register.get(id).await?;
    if !state.can_see(&p.user, &d).await? {
        return Err(err(WebError::forbidden(format!(
            "forbidden: document {} is restricted",
            d.reg_no
        ))));
    }
    let r = api::file_response(&state, &d, &sha).await.map_err(err)?;
    state
        .audit_access(
            &p.user,
            &d,
            "downloaded",
            serde_json::json!({"via": "web", "file": sha.to_ascii_lowercase(), "ip": ip.to_string()}),
        )
        .await?;
    Ok(r)
}

#[derive(Deserialize)]
struct RestrictForm {
    csrf: String,
    ground: String,
    ends: String,
}

#[derive(Deserialize)]
struct ExtendForm {
    csrf: String,
    ends: String,
    reason: String,
    #[serde(default)]
    decision: String,
}

#[derive(Deserialize)]
struct LiftForm {
    csrf: String,
    reason: String,
}

async fn edit_guard(
    state: &WebState,
    headers: &HeaderMap,
    id: &str,
    csrf: &str,
) -> Result<(Principal, Lang, i64), PageError> {
    let (p, l) = page_user(state, headers).await?;
    let err = |e: WebError| PageError::Web(e, l);
    check_csrf(&p, csrf).map_err(err)?;
    api::require_role(&p.user, p.user.role.can_edit(), "change restrictions").map_err(err)?;
    let id = api::parse_id(id).map_err(err)?;
    Ok((p, l, id))
}

async fn restrict(
    State(state): State<WebState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    PageForm(f): PageForm<RestrictForm>,
) -> PageResult {
    let (p, l, id) = edit_guard(&state, &headers, &id, &f.csrf).await?;
    let r = api::RestrictJson {
        ground: f.ground,
        ends: f.ends,
        holder: None,
    }
    .to_new()
    .map_err(|e| PageError::Web(e, l))?;
    state.app.register.restrict(id, r, &p.user.name).await?;
    Ok(see_other(&format!("/documents/{id}")))
}

async fn extend(
    State(state): State<WebState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    PageForm(f): PageForm<ExtendForm>,
) -> PageResult {
    let (p, l, id) = edit_guard(&state, &headers, &id, &f.csrf).await?;
    let ends = parse_date("ends", &f.ends).map_err(|e| PageError::Web(e.into(), l))?;
    if f.reason.trim().is_empty() {
        return Err(PageError::Web(
            WebError::invalid("invalid reason: it is empty"),
            l,
        ));
    }
    let ext = crate::register::Extension {
        new_end: ends,
        decision: f.decision.clone(),
        reason: f.reason.trim().to_string(),
        role: p.user.role,
    };
    state
        .app
        .register
        .extend_restriction(id, &ext, &p.user.name)
        .await?;
    Ok(see_other(&format!("/documents/{id}")))
}

async fn lift(
    State(state): State<WebState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    PageForm(f): PageForm<LiftForm>,
) -> PageResult {
    let (p, l, id) = edit_guard(&state, &headers, &id, &f.csrf).await?;
    if f.reason.trim().is_empty() {
        return Err(PageError::Web(
            WebError::invalid("invalid reason: it is empty"),
            l,
        ));
    }
    state
        .app
        .register
        .lift_restriction(id, f.reason.trim(), &p.user.name)
        .await?;
    Ok(see_other(&format!("/documents/{id}")))
}

// ------------------------------------------------------------ reply

#[derive(Template)]
#[template(path = "reply.html")]
struct ReplyPage {
    l: Lang,
    user: Option<User>,
    csrf: String,
    agency: String,
    d: DocView,
    error: Option<String>,
    channels: Vec<&'static str>,
    channel: String,
    recipient: String,
    title: String,
    body: String,
    /// (value, label) of each reply kind, in the page's language.
    reply_kinds: Vec<(&'static str, &'static str)>,
    reply_kind: String,
}

/// The reply kinds as the reply form offers them (Estonian first).
fn reply_kind_options(l: Lang) -> Vec<(&'static str, &'static str)> {
    crate::model::ReplyKind::ALL
        .iter()
        .map(|k| {
            (
                k.as_str(),
                match l {
                    Lang::Et => k.label_et(),
                    Lang::En => k.label_en(),
                },
            )
        })
        .collect()
}

async fn reply_form(
    State(state): State<WebState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> PageResult {
    let (p, l) = page_user(&state, &headers).await?;
    let err = |e: WebError| PageError::Web(e, l);
    let id = api::parse_id(&id).map_err(err)?;
    let d = state.app.register.get(id).await?;
    if !state.can_see(&p.user, &d).await? {
        return Err(err(WebError::forbidden(format!(
            "forbidden: document {} is restricted",
            d.reg_no
        ))));
    }
    let channel = if d.channel == Channel::Dhx {
        "dhx"
    } else {
        "email"
    };
    let recipient = d
        .parties
        .iter()
        .filter(|p| p.role == crate::model::PartyRole::Sender)
        .find_map(|p| {
            if channel == "dhx" {
                p.code.clone()
            } else {
                p.email.clone()
            }
        })
        .unwrap_or_default();
    let title = format!("Vastus: {}", d.title);
    Ok(html(ReplyPage {
        l,
        csrf: p.csrf.clone().unwrap_or_default(),
        user: Some(p.user),
        agency: agency(&state),
        d: DocView::new(&d, state.today(), crate::access::Sight::Full),
        error: None,
        channels: vec!["email", "dhx", "post", "hand"],
        channel: channel.into(),
        recipient,
        title,
        body: String::new(),
        reply_kinds: reply_kind_options(l),
        reply_kind: String::new(),
    }))
}

#[derive(Deserialize)]
struct ReplyForm {
    csrf: String,
    channel: String,
    #[serde(default)]
    recipient: String,
    title: String,
    body: String,
    /// Empty: not given (the reply ends no deadline).
    #[serde(default)]
    reply_kind: String,
}

async fn reply(
    State(state): State<WebState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    PageForm(f): PageForm<ReplyForm>,
) -> PageResult {
    let (p, l) = page_user(&state, &headers).await?;
    let err = |e: WebError| PageError::Web(e, l);
    check_csrf(&p, &f.csrf).map_err(err)?;
    let id = api::parse_id(&id).map_err(err)?;
    let d = state.app.register.get(id).await?;
    if !state.can_see(&p.user, &d).await? {
        return Err(err(WebError::forbidden(format!(
            "forbidden: document {} is restricted",
            d.reg_no
        ))));
    }
    let channel: Channel = f
        .channel
        .parse()
        .map_err(|e: crate::error::Error| err(e.into()))?;
    let reply_kind = match f.reply_kind.trim() {
        "" => None,
        k => Some(
            k.parse::<crate::model::ReplyKind>()
                .map_err(|e| err(e.into()))?,
        ),
    };
    let r = ReplyJson {
        title: f.title.clone(),
        body: f.body.clone(),
        channel: Some(channel),
        recipient: Some(f.recipient.clone()),
        reply_kind,
    };
    match api::do_reply(&state, &p.user, &d, r).await {
        Ok(res) => Ok(see_other(&format!("/documents/{}", res.document.id))),
        Err(e) if e.status().is_client_error() => {
            let mut resp = html(ReplyPage {
                l,
                csrf: p.csrf.clone().unwrap_or_default(),
                user: Some(p.user),
                agency: agency(&state),
                d: DocView::new(&d, state.today(), crate::access::Sight::Full),
                error: Some(e.public_message()),
                channels: vec!["email", "dhx", "post", "hand"],
                channel: f.channel,
                recipient: f.recipient,
                title: f.title,
                body: f.body,
                reply_kinds: reply_kind_options(l),
                reply_kind: f.reply_kind,
            });
            *resp.status_mut() = e.status();
            Ok(resp)
        }
        Err(e) => Err(err(e)),
    }
}

// ------------------------------------------------------------ dashboard

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    l: Lang,
    user: Option<User>,
    csrf: String,
    agency: String,
    inbox_count: i64,
    deadlines_available: bool,
    officials: Vec<(String, i64, i64)>,
    due: Vec<DueItem>,
    /// How many deadlines the list has in all, and the rows shown (from, to).
    due_total: i64,
    due_shown: (i64, i64),
    due_prev: Option<String>,
    due_next: Option<String>,
    /// Restrictions ending within 30 days (the lead's and the clerk's view).
    expiring: Vec<(DocView, i64)>,
    chart_title: String,
    chart: String,
    /// Officials' full names by login.
    names: super::view::Officials,
    /// The official whose deadlines the list shows (`?official=`), if one.
    official: Option<String>,
    /// The invoices (lead and clerk): open, overdue, the year's spend.
    invoices: Option<(
        i64,
        Vec<crate::invoice::InvoiceView>,
        Vec<crate::invoice::SpendRow>,
    )>,
}

#[derive(Deserialize)]
struct DashboardForm {
    official: Option<String>,
    offset: Option<i64>,
}

/// How many deadlines the dashboard's list shows on a page.
pub const DUE_SHOWN: i64 = 50;

/// How far ahead the dashboard lists restrictions about to expire.
pub const EXPIRING_DAYS: u32 = 30;
/// How many of them the dashboard lists (each is checked by the access policy on
/// every view), the soonest first; `docgate restrictions expiring` lists up to 10,000.
pub const EXPIRING_SHOWN: u32 = 50;

/// The on-time chart of the months: replies on time and late per month, each
/// series in its colour with a legend, months by name (or, until deadlines are
/// known, the replies per month).
pub fn rate_chart(l: Lang, rows: &[MonthRow]) -> (String, String) {
    let have_rate = rows.iter().any(|r| r.on_time.is_some());
    let title = if have_rate {
        l.t("on_time_rate").to_string()
    } else {
        format!("{} ({})", l.t("on_time_rate"), l.t("not_available"))
    };
    let labels: Vec<String> = rows.iter().map(|r| l.month_label(&r.month)).collect();
    let series = if have_rate {
        vec![
            chart::Series {
                name: l.t("on_time").to_string(),
                values: rows.iter().map(|r| r.on_time.unwrap_or(0)).collect(),
            },
            chart::Series {
                name: l.t("late").to_string(),
                values: rows.iter().map(|r| r.late.unwrap_or(0)).collect(),
            },
        ]
    } else {
        vec![
            chart::Series {
                name: l.t("incoming_pl").to_string(),
                values: rows.iter().map(|r| r.incoming).collect(),
            },
            chart::Series {
                name: l.t("replied").to_string(),
                values: rows.iter().map(|r| r.replied).collect(),
            },
        ]
    };
    let svg = chart::grouped_chart(&title, &labels, &series);
    (title, svg)
}

async fn dashboard(
    State(state): State<WebState>,
    headers: HeaderMap,
    ApiQuery(form): ApiQuery<DashboardForm>,
) -> PageResult {
    let (p, l) = page_user(&state, &headers).await?;
    let inbox_count = state
        .app
        .register
        .count(&crate::register::ListFilter {
            needs_review: Some(true),
            ..Default::default()
        })
        .await?;
    // Restrictions about to expire (`docgate restrictions expiring`): for the
    // lead and the clerk, each document as the access policy lets them see it.
    let mut expiring = Vec::new();
    if matches!(p.user.role, Role::Lead | Role::Clerk) {
        let today = state.today();
        for d in state
            .app
            .register
            .expiring(today, EXPIRING_DAYS, EXPIRING_SHOWN)
            .await?
        {
            let sight = state.sight(Some(&p.user), &d).await?;
            if sight == crate::access::Sight::Invisible {
                continue;
            }
            let days = d
                .restriction
                .as_ref()
                .map_or(0, |r| i64::from((r.ends - today).get_days()));
            expiring.push((DocView::new(&d, today, sight), days));
        }
    }
    let (from, to) = api::report_range(&state, None, None)?;
    let rows = query::on_time_months(&state, from, to).await?;
    let (chart_title, chart) = rate_chart(l, &rows);
    // Staff see their own deadlines only; the lead and the clerk everyone's,
    // or one official's (`?official=`, "—" for the unassigned).
    let official = form.official.filter(|o| !o.trim().is_empty());
    let (all, shown) = if p.user.role == Role::Staff {
        let own = DueOf::Official(p.user.name.clone());
        (own.clone(), own)
    } else {
        let asked = api::OverdueParams {
            official: official.clone(),
            limit: None,
            offset: None,
        };
        (DueOf::Anyone, asked.who())
    };
    let officials: Vec<(String, i64, i64)> = integrate::due_counts(&state, &all)
        .await?
        .into_iter()
        .map(|(o, over, soon)| (o.unwrap_or_else(|| "—".into()), over, soon))
        .collect();
    // The list's total from the counts (one pass over the index, not two).
    let due_total: i64 = officials
        .iter()
        .filter(|(o, ..)| match &shown {
            DueOf::Anyone => true,
            DueOf::Official(x) => o == x,
            DueOf::Unassigned => o == "—",
        })
        .map(|(_, over, soon)| over + soon)
        .sum();
    let (_, offset) = api::page_bounds(
        None,
        form.offset,
        DUE_SHOWN,
        DUE_SHOWN,
        api::MAX_LIST_OFFSET,
    )
    .map_err(|e| PageError::Web(e, l))?;
    let (due, _) =
        integrate::overdue(&state, &p.user, shown, (DUE_SHOWN, offset), false, true).await?;
    let link = |at: i64| {
        let mut q = format!("/dashboard?offset={at}");
        if let Some(o) = &official {
            q.push_str(&format!("&official={}", urlencode(o)));
        }
        q.push_str("#due-list");
        q
    };
    let due_shown = if due.is_empty() {
        (0, 0)
    } else {
        (offset + 1, offset + due.len() as i64)
    };
    let due_prev = (offset > 0).then(|| link((offset - DUE_SHOWN).max(0)));
    let due_next = (offset + (due.len() as i64) < due_total).then(|| link(offset + DUE_SHOWN));
    let invoices = super::invoices::dashboard(&state, &p.user).await?;
    Ok(html(DashboardPage {
        invoices,
        names: super::view::Officials::load(&state).await?,
        official,
        expiring,
        l,
        csrf: p.csrf.clone().unwrap_or_default(),
        user: Some(p.user),
        agency: agency(&state),
        inbox_count,
        deadlines_available: integrate::deadlines_available(),
        officials,
        due,
        due_total,
        due_shown,
        due_prev,
        due_next,
        chart_title,
        chart,
    }))
}

// ------------------------------------------------------------ search

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    l: Lang,
    user: Option<User>,
    csrf: String,
    agency: String,
    q: String,
    total: i64,
    hits: Vec<SearchHit>,
    error: Option<String>,
    f: integrate::SearchFilters,
    series: Vec<(String, String)>,
    doc_types: Vec<(String, String)>,
    directions: &'static [&'static str],
    per_page: i64,
    /// The hits shown: (first, last), counting from 1.
    shown: (i64, i64),
    prev: Option<String>,
    next: Option<String>,
}

/// The search page's page sizes; the first is the default.
pub const SEARCH_PAGE_SIZES: [i64; 2] = [20, 50];

#[derive(Deserialize)]
struct SearchForm {
    #[serde(default)]
    q: String,
    offset: Option<i64>,
    per_page: Option<i64>,
    #[serde(flatten)]
    f: integrate::SearchFilters,
}

/// The search page's own address with `offset` (the filters and page size kept).
fn search_link(q: &str, f: &integrate::SearchFilters, per_page: i64, offset: i64) -> String {
    let mut parts = vec![format!("q={}", urlencode(q))];
    for (k, v) in [
        ("series", &f.series),
        ("doc_type", &f.doc_type),
        ("direction", &f.direction),
        ("from", &f.from),
        ("to", &f.to),
        ("deadline", &f.deadline),
        ("sort", &f.sort),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !v.trim().is_empty()) {
            parts.push(format!("{k}={}", urlencode(v)));
        }
    }
    parts.push(format!("per_page={per_page}"));
    parts.push(format!("offset={offset}"));
    format!("/search?{}", parts.join("&"))
}

async fn search(
    State(state): State<WebState>,
    headers: HeaderMap,
    ApiQuery(f): ApiQuery<SearchForm>,
) -> PageResult {
    let (p, l) = page_user(&state, &headers).await?;
    let q = f.q.trim().to_string();
    let per_page = f
        .per_page
        .filter(|n| SEARCH_PAGE_SIZES.contains(n))
        .unwrap_or(SEARCH_PAGE_SIZES[0]);
    let offset = f.offset.unwrap_or(0).clamp(0, 1_000_000);
    let (mut total, mut hits, mut error) = (0, vec![], None);
    if !q.is_empty() {
        let res = match f.f.request(&q, per_page, offset, true) {
            Ok(req) => integrate::search(&state, &p.user, req).await,
            Err(e) => Err(e),
        };
        match res {
            Ok(o) => {
                // the hits after the all-words ones match some of the words
                total = o.total + o.relaxed;
                hits = o.items;
            }
            Err(e) if e.status().is_client_error() => error = Some(e.public_message()),
            Err(e) => return Err(PageError::Web(e, l)),
        }
    }
    // An invalid query (or one past the search's bounds) is shown with its
    // error, as 400.
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let shown = if hits.is_empty() {
        (0, 0)
    } else {
        (offset + 1, offset + hits.len() as i64)
    };
    let mut r = html(SearchPage {
        l,
        csrf: p.csrf.clone().unwrap_or_default(),
        user: Some(p.user),
        agency: agency(&state),
        prev: (!q.is_empty() && offset > 0)
            .then(|| search_link(&q, &f.f, per_page, (offset - per_page).max(0))),
        next: (!q.is_empty() && offset + per_page < total)
            .then(|| search_link(&q, &f.f, per_page, offset + per_page)),
        q,
        total,
        hits,
        error,
        series: series_options(&state),
        doc_types: integrate::doc_types(&state, l),
        directions: &["incoming", "outgoing", "internal"],
        f: f.f,
        per_page,
        shown,
    });
    *r.status_mut() = status;
    Ok(r)
}

// ------------------------------------------------------------ reports

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    l: Lang,
    user: Option<User>,
    csrf: String,
    agency: String,
    from: String,
    to: String,
    rows: Vec<MonthRow>,
    chart_counts: String,
    chart_rate_title: String,
    chart_rate: String,
    /// (heading key, table id, rows) per series, document type and official.
    groups: Vec<(&'static str, &'static str, Vec<GroupRow>)>,
}

/// One line of a report's breakdown, named for people.
pub struct GroupRow {
    pub name: String,
    pub line: crate::report::GroupLine,
}

impl GroupRow {
    /// The share answered on time, as "83%" (empty when none were answered).
    pub fn rate(&self) -> String {
        let (on, late) = (self.line.answered_on_time, self.line.answered_late);
        if on + late == 0 {
            String::new()
        } else {
            format!("{:.0}%", on as f64 * 100.0 / (on + late) as f64)
        }
    }
}

/// The report's breakdowns per series, document type (by its kind's name) and
/// official (by full name).
async fn report_groups(
    state: &WebState,
    l: Lang,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> WebResult<Vec<(&'static str, &'static str, Vec<GroupRow>)>> {
    use crate::report::{breakdown, By};
    integrate::sync_deadlines(state).await?;
    let today = state.today();
    let names = super::view::Officials::load(state).await?;
    let mut out = vec![];
    for (by, key, id) in [
        (By::Series, "by_series", "report-series"),
        (By::DocType, "by_type", "report-type"),
        (By::Official, "by_official", "report-official"),
    ] {
        let lines = breakdown(&state.app, from, to, today, by).await?;
        let rows = lines
            .into_iter()
            .map(|line| {
                let name = match by {
                    By::Series => match state.app.series.all().find(|s| s.code == line.key) {
                        Some(s) => format!("{} {}", s.code, s.title),
                        None => line.key.clone(),
                    },
                    By::DocType if line.key.is_empty() => l.t("none").to_string(),
                    By::DocType => crate::kinds::KindView::of(None, Some(&line.key))
                        .map(|k| format!("{} ({})", k.name(l.code()), line.key))
                        .unwrap_or_else(|| line.key.clone()),
                    By::Official if line.key.is_empty() => l.t("unassigned").to_string(),
                    By::Official => names.name(&line.key).to_string(),
                };
                GroupRow { name, line }
            })
            .collect();
        out.push((key, id, rows));
    }
    Ok(out)
}

#[derive(Deserialize)]
struct ReportForm {
    from: Option<String>,
    to: Option<String>,
}

async fn reports(
    State(state): State<WebState>,
    headers: HeaderMap,
    ApiQuery(f): ApiQuery<ReportForm>,
) -> PageResult {
    let (p, l) = page_user(&state, &headers).await?;
    let err = |e: WebError| PageError::Web(e, l);
    api::require_role(&p.user, p.user.role.can_report(), "see reports").map_err(err)?;
    let (from, to) = api::report_range(&state, f.from.as_deref(), f.to.as_deref()).map_err(err)?;
    let rows = query::monthly(&state, from, to).await?;
    let labels: Vec<String> = rows.iter().map(|r| l.month_label(&r.month)).collect();
    let counts = [
        chart::Series {
            name: l.t("incoming_pl").to_string(),
            values: rows.iter().map(|r| r.incoming).collect(),
        },
        chart::Series {
            name: l.t("outgoing_pl").to_string(),
            values: rows.iter().map(|r| r.outgoing).collect(),
        },
    ];
    let (chart_rate_title, chart_rate) = rate_chart(l, &rows);
    let groups = report_groups(&state, l, from, to).await.map_err(err)?;
    Ok(html(ReportsPage {
        l,
        csrf: p.csrf.clone().unwrap_or_default(),
        user: Some(p.user),
        agency: agency(&state),
        from: from.to_string(),
        to: to.to_string(),
        chart_counts: chart::grouped_chart(l.t("per_month"), &labels, &counts),
        rows,
        groups,
        chart_rate_title,
        chart_rate,
    }))
}

async fn reports_csv(
    State(state): State<WebState>,
    headers: HeaderMap,
    ApiQuery(f): ApiQuery<ReportForm>,
) -> PageResult {
    let (p, l) = page_user(&state, &headers).await?;
    let err = |e: WebError| PageError::Web(e, l);
    api::require_role(&p.user, p.user.role.can_report(), "see reports").map_err(err)?;
    let (from, to) = api::report_range(&state, f.from.as_deref(), f.to.as_deref()).map_err(err)?;
    let rows = query::monthly(&state, from, to).await?;
    let mut r = query::monthly_csv(&rows).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        super::headers::content_disposition(&format!("aruanne-{from}-{to}.csv")),
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_html_is_sanitised() {
        let dirty = "<html><body><p onclick=\"x()\">Tere</p><script>alert(1)</script><img src=\"http://track/x.png\"><a href=\"javascript:alert(1)\">link</a><style>p{}</style></body></html>";
        assert!(looks_like_html(dirty));
        assert!(!looks_like_html("Tere,\nkiri 5 < 6"));
        let clean = sanitize_mail_html(dirty);
        assert!(clean.contains("<p>Tere</p>"), "{clean}");
        for bad in ["script", "onclick", "javascript:", "<img", "<style"] {
            assert!(!clean.contains(bad), "{bad} survived: {clean}");
        }
    }

    #[test]
    fn urlencode_encodes_unicode() {
        assert_eq!(urlencode("9-13 õ&"), "9-13%20%C3%B5%26");
    }
}

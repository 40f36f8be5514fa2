//! The clerk's desk forms (issue #14): registering a document in the browser
//! (`/documents/new`, several files), correcting every metadata field or
//! completing an intake item (`/documents/{id}/edit`), and the deadline controls
//! of the document page (`/documents/{id}/deadline`: extend, stop, resume,
//! application complete). Every field is checked here with an Estonian message
//! shown next to it and the input kept; the register stays the only writer and
//! decides what it alone can (numbering, the default restriction, limits).
//! Only clerks and leads (`Role::can_edit`) get these forms or may post them.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use jiff::civil::Date;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::api::{self, ApiPath};
use super::auth::{Role, User};
use super::error::WebError;
use super::i18n::Lang;
use super::integrate;
use super::pages::{self, html, PageError, PageForm, PageResult};
use super::routes::{self, Routes};
use super::view::DocView;
use super::WebState;
use crate::deadline::engine::DeadlineEvent;
use crate::model::{
    limits, parse_date, Channel, Direction, Document, NewDocument, NewRestriction, Party, PartyRole,
};

pub fn routes() -> Routes {
    Routes::new()
        .route("/documents/new", routes::get(new_form).post(new_document))
        .route(
            "/documents/{id}/edit",
            routes::get(edit_form).post(edit_document),
        )
        .route("/documents/{id}/deadline", routes::post(deadline_event))
}

// ------------------------------------------------------------ the form

/// The document form as sent: every field a string, so what the clerk typed is
/// shown back unchanged when something is wrong.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct DocForm {
    pub csrf: String,
    pub title: String,
    pub direction: String,
    pub channel: String,
    pub party_name: String,
    pub party_code: String,
    pub party_email: String,
    pub their_ref: String,
    pub their_date: String,
    pub received: String,
    pub series: String,
    pub doc_type: String,
    pub kind: String,
    pub responsible: String,
    /// "1" when the restriction box is ticked.
    pub restrict: String,
    pub ground: String,
    pub ends: String,
    /// Edit: "1" completes (confirms) an intake item.
    pub confirm: String,
    /// New: "1" registers although a file is already registered.
    pub allow_duplicate: String,
}

impl DocForm {
    fn set(&mut self, name: &str, value: String) -> bool {
        let slot = match name {
            "csrf" => &mut self.csrf,
            "title" => &mut self.title,
            "direction" => &mut self.direction,
            "channel" => &mut self.channel,
            "party_name" => &mut self.party_name,
            "party_code" => &mut self.party_code,
            "party_email" => &mut self.party_email,
            "their_ref" => &mut self.their_ref,
            "their_date" => &mut self.their_date,
            "received" => &mut self.received,
            "series" => &mut self.series,
            "doc_type" => &mut self.doc_type,
            "kind" => &mut self.kind,
            "responsible" => &mut self.responsible,
            "restrict" => &mut self.restrict,
            "ground" => &mut self.ground,
            "ends" => &mut self.ends,
            "confirm" => &mut self.confirm,
            "allow_duplicate" => &mut self.allow_duplicate,
            _ => return false,
        };
        *slot = value;
        true
    }

    /// The form filled from a registered document (its first party).
    fn of(d: &Document) -> DocForm {
        let p = d.parties.first();
        DocForm {
            title: d.title.clone(),
            direction: d.direction.as_str().into(),
            channel: d.channel.as_str().into(),
            party_name: p.map(|p| p.name.clone()).unwrap_or_default(),
            party_code: p.and_then(|p| p.code.clone()).unwrap_or_default(),
            party_email: p.and_then(|p| p.email.clone()).unwrap_or_default(),
            their_ref: d.their_ref.clone().unwrap_or_default(),
            their_date: d.their_date.map(|d| d.to_string()).unwrap_or_default(),
            received: d.received.map(|d| d.to_string()).unwrap_or_default(),
            series: d.series.clone(),
            doc_type: d.doc_type.clone().unwrap_or_default(),
            kind: d.kind.clone().unwrap_or_default(),
            responsible: d.responsible.clone().unwrap_or_default(),
            confirm: if d.needs_review {
                "1".into()
            } else {
                String::new()
            },
            ..Default::default()
        }
    }

    pub fn checked(&self, field: &str) -> bool {
        match field {
            "restrict" => !self.restrict.is_empty(),
            "confirm" => !self.confirm.is_empty(),
            "allow_duplicate" => !self.allow_duplicate.is_empty(),
            _ => false,
        }
    }
}

/// The messages of a form, each next to its field.
#[derive(Debug, Default, Clone)]
pub struct Errs(Vec<(&'static str, String)>);

impl Errs {
    fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }
    /// The message of `field`, or "" when it is fine.
    pub fn get(&self, field: &str) -> &str {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map_or("", |(_, m)| m.as_str())
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Every message, for the summary at the top of the form.
    pub fn all(&self) -> &[(&'static str, String)] {
        &self.0
    }
}

/// The form field of a library field (`Error::field`), where the form has one.
fn form_field(field: &str) -> Option<&'static str> {
    Some(match field {
        "party" => "party_name",
        "party_code" => "party_code",
        "party_email" => "party_email",
        "title" => "title",
        "their_ref" => "their_ref",
        "their_date" => "their_date",
        "received" => "received",
        "series" => "series",
        "doc_type" => "doc_type",
        "kind" => "kind",
        "responsible" => "responsible",
        "restriction_ground" | "ground" => "ground",
        "restriction_ends" | "ends" => "ends",
        _ => return None,
    })
}

/// Places the register's refusal next to the form field it concerns; true when
/// it concerns none and goes above the form.
fn placed(e: &crate::error::Error) -> (Errs, bool) {
    let mut errs = Errs::default();
    match e.field().and_then(form_field) {
        Some(f) if e.is_user_error() => {
            errs.add(f, e.reason());
            (errs, false)
        }
        _ => (errs, true),
    }
}

/// What the form means once every field is checked.
struct Checked {
    title: String,
    direction: Direction,
    channel: Channel,
    party: Option<Party>,
    their_ref: Option<String>,
    their_date: Option<Date>,
    received: Option<Date>,
    series: String,
    doc_type: Option<String>,
    kind: Option<String>,
    responsible: Option<String>,
    restriction: Option<NewRestriction>,
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

fn too_long(s: &str, max: usize) -> bool {
    s.chars().count() > max
}

/// Checks every field of `f` (pure apart from the loaded vocabularies and the
/// officials' names); each problem goes to `errs` under its field, in `l`.
fn check(
    state: &WebState,
    l: Lang,
    f: &DocForm,
    officials: &[(String, String)],
    restriction_offered: bool,
    errs: &mut Errs,
) -> Option<Checked> {
    let vocab = state.app.register.vocab();
    let today = state.today();
    let title = f.title.trim().to_string();
    if title.is_empty() {
        errs.add("title", l.t("err_required"));
    } else if too_long(&title, limits::TITLE) {
        errs.add("title", l.t("err_too_long"));
    }
    let direction = f.direction.parse::<Direction>().ok();
    if direction.is_none() {
        errs.add("direction", l.t("err_choose"));
    }
    let channel = f.channel.parse::<Channel>().ok();
    if channel.is_none() {
        errs.add("channel", l.t("err_choose"));
    }
    let role = if direction == Some(Direction::Outgoing) {
        PartyRole::Recipient
    } else {
        PartyRole::Sender
    };
    let mut party = None;
    let name = f.party_name.trim();
    if name.is_empty() {
        if direction.is_some_and(|d| d != Direction::Internal) {
            errs.add("party_name", l.t("err_party_required"));
        } else if !f.party_code.trim().is_empty() || !f.party_email.trim().is_empty() {
            errs.add("party_name", l.t("err_required"));
        }
    } else if too_long(name, limits::PARTY_NAME) {
        errs.add("party_name", l.t("err_too_long"));
    } else {
        match Party::from_name_and_code(name, opt(&f.party_code).as_deref(), role) {
            Ok(mut p) => {
                let email = f.party_email.trim();
                if !email.is_empty() {
                    let ok = email
                        .split_once('@')
                        .is_some_and(|(a, b)| !a.is_empty() && b.contains('.'))
                        && !email.contains(char::is_whitespace)
                        && !too_long(email, limits::PARTY_EMAIL);
                    if ok {
                        p.email = Some(email.to_string());
                    } else {
                        errs.add("party_email", l.t("err_email"));
                    }
                }
                party = Some(p);
            }
            Err(_) => errs.add("party_code", l.t("err_party_code")),
        }
    }
    let their_ref = opt(&f.their_ref);
    if their_ref
        .as_deref()
        .is_some_and(|r| too_long(r, limits::THEIR_REF))
    {
        errs.add("their_ref", l.t("err_too_long"));
    }
    let date = |field: &'static str, s: &str, errs: &mut Errs| -> Option<Date> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        match parse_date(field, s) {
            Ok(d) if d > today && field != "ends" => {
                errs.add(field, l.t("err_future"));
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                errs.add(field, l.t("err_date"));
                None
            }
        }
    };
    let their_date = date("their_date", &f.their_date, errs);
    let received = date("received", &f.received, errs);
    if state.app.series.get(f.series.trim()).is_none() {
        errs.add("series", l.t("err_choose"));
    }
    let doc_type = opt(&f.doc_type);
    if doc_type
        .as_deref()
        .is_some_and(|t| vocab.require_rule("type", t).is_err())
    {
        errs.add("doc_type", l.t("err_choose"));
    }
    let kind = opt(&f.kind);
    if kind
        .as_deref()
        .is_some_and(|k| vocab.kinds.get(k).is_none())
    {
        errs.add("kind", l.t("err_choose"));
    }
    let responsible = opt(&f.responsible);
    if responsible
        .as_deref()
        .is_some_and(|r| !officials.iter().any(|(n, _)| n == r))
    {
        errs.add("responsible", l.t("err_choose"));
    }
    let mut restriction = None;
    if restriction_offered && f.checked("restrict") {
        let ground = f.ground.trim();
        if vocab.grounds.get(ground).is_none() {
            errs.add("ground", l.t("err_ground"));
        }
        let ends = if f.ends.trim().is_empty() {
            errs.add("ends", l.t("err_required"));
            None
        } else {
            date("ends", &f.ends, errs)
        };
        if let (Some(ends), Some(g)) = (ends, vocab.grounds.get(ground)) {
            if ends <= today {
                errs.add("ends", l.t("err_past"));
            } else {
                restriction = Some(NewRestriction {
                    end_by: Default::default(),
                    ground: g.id.clone(),
                    ends,
                    holder: None,
                    begins: None,
                });
            }
        }
    }
    if !errs.is_empty() {
        return None;
    }
    Some(Checked {
        title,
        direction: direction?,
        channel: channel?,
        party,
        their_ref,
        their_date,
        received,
        series: f.series.trim().to_string(),
        doc_type,
        kind,
        responsible,
        restriction,
    })
}

#[derive(Template)]
#[template(path = "document_form.html")]
struct FormPage {
    l: Lang,
    user: Option<User>,
    csrf: String,
    agency: String,
    /// None: a new document; else the document edited.
    d: Option<DocView>,
    f: DocForm,
    errs: Errs,
    /// A message of the register's own (the form's fields were fine).
    error: Option<String>,
    /// Documents already holding an uploaded file: (id, number).
    duplicates: Vec<(i64, String)>,
    /// Files were sent with a form that had to be shown again.
    files_dropped: bool,
    restriction_offered: bool,
    series: Vec<(String, String)>,
    doc_types: Vec<(String, String)>,
    kinds: Vec<(String, String)>,
    officials: Vec<(String, String)>,
    grounds: Vec<(String, String)>,
    directions: Vec<(&'static str, &'static str)>,
    channels: Vec<&'static str>,
}

struct FormInput {
    d: Option<DocView>,
    f: DocForm,
    errs: Errs,
    error: Option<String>,
    duplicates: Vec<(i64, String)>,
    files_dropped: bool,
    restriction_offered: bool,
}

async fn render(
    state: &WebState,
    l: Lang,
    user: User,
    csrf: String,
    input: FormInput,
    status: StatusCode,
) -> PageResult {
    let vocab = state.app.register.vocab();
    let page = FormPage {
        l,
        user: Some(user),
        csrf,
        agency: state.app.config.agency.name.clone(),
        d: input.d,
        f: input.f,
        errs: input.errs,
        error: input.error,
        duplicates: input.duplicates,
        files_dropped: input.files_dropped,
        restriction_offered: input.restriction_offered,
        series: pages::series_options(state),
        doc_types: integrate::doc_types(state, l),
        kinds: pages::kind_options(state, l),
        officials: pages::officials(state).await?,
        grounds: vocab
            .grounds
            .all()
            .iter()
            .map(|g| (g.id.clone(), g.text.clone()))
            .collect(),
        directions: vec![
            ("incoming", l.t("incoming")),
            ("outgoing", l.t("outgoing")),
            ("internal", l.t("internal")),
        ],
        channels: vec!["email", "dhx", "post", "hand", "web"],
    };
    let mut r = html(page);
    *r.status_mut() = status;
    Ok(r)
}

/// The logged-in clerk or lead of a form, with the language; anyone else gets
/// the error page (403), the logged-out the login page.
async fn desk_user(
    state: &WebState,
    headers: &HeaderMap,
    what: &str,
) -> Result<(super::Principal, Lang), PageError> {
    let (p, l) = pages::page_user(state, headers).await?;
    api::require_role(&p.user, p.user.role.can_edit(), what).map_err(|e| PageError::Web(e, l))?;
    Ok((p, l))
}

// ------------------------------------------------------------ new document

async fn new_form(State(state): State<WebState>, headers: HeaderMap) -> PageResult {
    let (p, l) = desk_user(&state, &headers, "register documents").await?;
    let f = DocForm {
        direction: "incoming".into(),
        channel: "email".into(),
        received: state.today().to_string(),
        series: pages::series_options(&state)
            .first()
            .map(|s| s.0.clone())
            .unwrap_or_default(),
        ..Default::default()
    };
    let input = FormInput {
        d: None,
        f,
        errs: Errs::default(),
        error: None,
        duplicates: vec![],
        files_dropped: false,
        restriction_offered: true,
    };
    render(
        &state,
        l,
        p.user,
        p.csrf.unwrap_or_default(),
        input,
        StatusCode::OK,
    )
    .await
}

/// An uploaded file before it reaches the register.
struct Upload {
    name: String,
    media_type: String,
    bytes: Vec<u8>,
}

async fn new_document(
    State(state): State<WebState>,
    headers: HeaderMap,
    mp: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    let (p, l) = desk_user(&state, &headers, "register documents").await?;
    let err = |e: WebError| PageError::Web(e, l);
    let mut mp = mp.map_err(|e| {
        err(WebError::invalid(format!(
            "invalid form: {}",
            e.body_text()
        )))
    })?;
    let mut f = DocForm::default();
    let mut uploads = Vec::new();
    let mut errs = Errs::default();
    let max = state.app.config.max_file_size;
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| err(WebError::invalid(format!("invalid form: {e}"))))?
    {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let raw_name = field.file_name().unwrap_or("").to_string();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| err(WebError::invalid(format!("invalid file part: {e}"))))?;
            if raw_name.is_empty() && bytes.is_empty() {
                continue; // no file chosen
            }
            let fname = api::safe_file_name(&raw_name);
            if bytes.len() as u64 > max {
                errs.add("file", format!("{} ({fname})", l.t("err_file_size")));
                continue;
            }
            let media_type = crate::mime::media_type_of(&fname, &bytes).into_owned();
            uploads.push(Upload {
                name: fname,
                media_type,
                bytes: bytes.to_vec(),
            });
        } else {
            let text = field
                .text()
                .await
                .map_err(|e| err(WebError::invalid(format!("invalid form: {e}"))))?;
            f.set(&name, text);
        }
    }
    pages::check_csrf(&p, &f.csrf).map_err(err)?;
    if uploads.is_empty() && errs.get("file").is_empty() {
        errs.add("file", l.t("err_files"));
    }
    let officials = pages::officials(&state).await?;
    let checked = check(&state, l, &f, &officials, true, &mut errs);
    // A file registered before is told, with its document, never dropped silently.
    let mut duplicates = Vec::new();
    if !f.checked("allow_duplicate") {
        for u in &uploads {
            let sha = hex::encode(Sha256::digest(&u.bytes));
            for d in state.app.register.documents_with_file(&sha).await? {
                if !duplicates.iter().any(|(id, _)| *id == d.id) {
                    duplicates.push((d.id, d.reg_no.clone()));
                }
            }
        }
        if !duplicates.is_empty() {
            errs.add("file", l.t("err_duplicate"));
        }
    }
    let csrf = p.csrf.clone().unwrap_or_default();
    let again = |f: DocForm, errs: Errs, error: Option<String>, duplicates, n: usize| FormInput {
        d: None,
        f,
        errs,
        error,
        duplicates,
        files_dropped: n > 0,
        restriction_offered: true,
    };
    let c = match checked {
        Some(c) if errs.is_empty() => c,
        _ => {
            let n = uploads.len();
            let input = again(f, errs, None, duplicates, n);
            return render(
                &state,
                l,
                p.user,
                csrf,
                input,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let mut nd = NewDocument::new(c.direction, c.channel, &c.title);
    nd.parties = c.party.into_iter().collect();
    nd.their_ref = c.their_ref;
    nd.their_date = c.their_date;
    nd.received = c.received;
    nd.series = Some(c.series);
    nd.doc_type = c.doc_type;
    nd.kind = c.kind;
    nd.responsible = c.responsible;
    nd.restriction = c.restriction;
    let n = uploads.len();
    for u in uploads {
        nd.files
            .push(integrate::new_file(&state.app, u.name, u.media_type, u.bytes).await);
    }
    match state.app.register.register(nd, &p.user.name).await {
        Ok(doc) => Ok(pages::see_other(&format!(
            "/documents/{}?done=registered",
            doc.id
        ))),
        Err(e) => {
            let (errs, general) = placed(&e);
            let e = WebError::from(e);
            if !e.status().is_client_error() {
                return Err(err(e));
            }
            let general = general.then(|| e.public_message());
            let input = again(f, errs, general, vec![], n);
            render(&state, l, p.user, csrf, input, e.status()).await
        }
    }
}

// ------------------------------------------------------------ edit / complete

async fn edit_form(
    State(state): State<WebState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> PageResult {
    let (p, l) = desk_user(&state, &headers, "edit documents").await?;
    let id = api::parse_id(&id).map_err(|e| PageError::Web(e, l))?;
    let d = state.app.register.get(id).await?;
    let view = DocView::new(&d, state.today(), crate::access::Sight::Full);
    let mut f = DocForm::of(&d);
    let offered = d.restriction.is_none();
    if offered {
        let (ground, ends) = pages::default_restriction(&state, &view);
        f.restrict = if view.proposed_ground.is_some() {
            "1".into()
        } else {
            String::new()
        };
        f.ground = ground;
        f.ends = ends;
    }
    let input = FormInput {
        d: Some(view),
        f,
        errs: Errs::default(),
        error: None,
        duplicates: vec![],
        files_dropped: false,
        restriction_offered: offered,
    };
    render(
        &state,
        l,
        p.user,
        p.csrf.unwrap_or_default(),
        input,
        StatusCode::OK,
    )
    .await
}

async fn edit_document(
    State(state): State<WebState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    form: Result<PageForm<DocForm>, WebError>,
) -> PageResult {
    let (p, l) = desk_user(&state, &headers, "edit documents").await?;
    let err = |e: WebError| PageError::Web(e, l);
    let PageForm(f) = form.map_err(err)?;
    pages::check_csrf(&p, &f.csrf).map_err(err)?;
    let id = api::parse_id(&id).map_err(err)?;
    let d = state.app.register.get(id).await?;
    let offered = d.restriction.is_none();
    let officials = pages::officials(&state).await?;
    let mut errs = Errs::default();
    let checked = check(&state, l, &f, &officials, offered, &mut errs);
    let csrf = p.csrf.clone().unwrap_or_default();
    let view = DocView::new(&d, state.today(), crate::access::Sight::Full);
    let c = match checked {
        Some(c) => c,
        None => {
            let input = FormInput {
                d: Some(view),
                f,
                errs,
                error: None,
                duplicates: vec![],
                files_dropped: false,
                restriction_offered: offered,
            };
            return render(
                &state,
                l,
                p.user,
                csrf,
                input,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    // The form edits the first party; any others stay as they are.
    let mut parties = d.parties.clone();
    match (c.party, parties.is_empty()) {
        (Some(p), true) => parties.push(p),
        (Some(p), false) => parties[0] = p,
        (None, false) => {
            parties.remove(0);
        }
        (None, true) => {}
    }
    let confirm = d.needs_review && f.checked("confirm");
    let patch = crate::register::MetadataPatch {
        title: Some(c.title),
        direction: Some(c.direction),
        channel: Some(c.channel),
        parties: Some(parties),
        their_ref: Some(c.their_ref),
        their_date: Some(c.their_date),
        received: Some(c.received),
        series: Some(c.series),
        doc_type: Some(c.doc_type),
        kind: Some(c.kind),
        responsible: Some(c.responsible),
        needs_review: confirm.then_some(false),
        ..Default::default()
    };
    let result = async {
        if let Some(r) = c.restriction {
            state.app.register.restrict(id, r, &p.user.name).await?;
        }
        state.app.register.update(id, patch, &p.user.name).await
    }
    .await;
    match result {
        Ok(_) => Ok(pages::see_other(&format!(
            "/documents/{id}?done={}",
            if confirm { "confirmed" } else { "edited" }
        ))),
        Err(e) => {
            let (errs, general) = placed(&e);
            let e = WebError::from(e);
            if !e.status().is_client_error() {
                return Err(err(e));
            }
            let input = FormInput {
                d: Some(view),
                f,
                errs,
                error: general.then(|| e.public_message()),
                duplicates: vec![],
                files_dropped: false,
                restriction_offered: offered,
            };
            render(&state, l, p.user, csrf, input, e.status()).await
        }
    }
}

// ------------------------------------------------------------ deadline controls

/// The deadline controls of the document page (clerks and leads, a document
/// with a reply deadline), only those its rule allows: extension (with the
/// outgoing documents of the thread that can be the notice to the requester),
/// clock stop and resume (a stoppable rule), "application complete" (a rule
/// counted from the complete application).
pub struct DeadlineControls {
    pub extend: bool,
    pub stop: bool,
    pub complete: bool,
    pub notices: Vec<(String, String)>,
    pub today: String,
}

/// The controls for `d`, or None where the user may not use them or the
/// document has no deadline.
pub fn deadline_controls(
    state: &WebState,
    role: Role,
    deadline: &integrate::DeadlineView,
    thread: &[DocView],
    d: &DocView,
) -> Option<DeadlineControls> {
    if !role.can_edit() || d.hidden || deadline.status == "none" {
        return None;
    }
    let rules = state.app.config.deadlines.rules().ok()?;
    let rule = rules.get(deadline.rule.as_deref()?)?;
    let c = DeadlineControls {
        extend: rule.extension().is_some(),
        stop: rule.stoppable,
        complete: rule.base == crate::deadline::rules::Base::Complete,
        notices: thread
            .iter()
            .filter(|t| t.direction == Direction::Outgoing && t.id != d.id && !t.hidden)
            .map(|t| (t.reg_no.clone(), t.title_text(&Lang::Et)))
            .collect(),
        today: state.today().to_string(),
    };
    (c.extend || c.stop || c.complete).then_some(c)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DeadlineForm {
    csrf: String,
    action: String,
    on: String,
    reason: String,
    notice: String,
}

/// The flash keys a deadline action may answer with.
const DEADLINE_FAILURES: &[&str] = &[
    "err_reason_required",
    "err_notice_required",
    "err_date",
    "err_deadline_refused",
];

async fn deadline_event(
    State(state): State<WebState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    form: Result<axum::Form<DeadlineForm>, FormRejection>,
) -> PageResult {
    let (p, l) = desk_user(&state, &headers, "record deadline events").await?;
    let err = |e: WebError| PageError::Web(e, l);
    let axum::Form(f) = form.map_err(|e| err(e.into()))?;
    pages::check_csrf(&p, &f.csrf).map_err(err)?;
    let id = api::parse_id(&id).map_err(err)?;
    let d = state.app.register.get(id).await?;
    let back = |q: &str| Ok(pages::see_other(&format!("/documents/{id}?{q}")));
    let on = match f.on.trim() {
        "" => state.today(),
        s => match parse_date("on", s) {
            Ok(d) => d,
            Err(_) => return back("failed=err_date"),
        },
    };
    let reason = f.reason.trim().to_string();
    let ev = match f.action.as_str() {
        "extend" | "stop" if reason.is_empty() => return back("failed=err_reason_required"),
        "extend" if f.notice.trim().is_empty() => return back("failed=err_notice_required"),
        "extend" => DeadlineEvent::Extended {
            on,
            reason,
            notice: Some(f.notice.trim().to_string()),
        },
        "stop" => DeadlineEvent::ClockStopped { on, reason },
        "resume" => DeadlineEvent::ClockResumed { on },
        "complete" => DeadlineEvent::Completed { on },
        other => {
            return Err(err(WebError::invalid(format!(
                "invalid action {other:?}: expected extend, stop, resume or complete"
            ))))
        }
    };
    let eng = crate::deadline::state::Engine::from_app(&state.app)?;
    match crate::deadline::state::record(&state.app, &eng, &d.reg_no, ev, &p.user.name).await {
        Ok(_) => back(&format!("done=deadline_{}", f.action)),
        Err(e) => {
            let e = WebError::from(e);
            if !e.status().is_client_error() {
                return Err(err(e));
            }
            tracing::info!(error = %e.public_message(), "deadline event refused");
            back("failed=err_deadline_refused")
        }
    }
}

// ------------------------------------------------------------ messages

/// The message a page shows after a redirect (`?done=…` or `?failed=…`):
/// (is an error, text), in `l`. Only known keys are shown.
pub fn flash(l: Lang, query: Option<&str>, reg_no: &str) -> Option<(bool, String)> {
    for pair in query.unwrap_or("").split('&') {
        let Some((k, v)) = pair.split_once('=') else {
            continue;
        };
        match (k, v) {
            ("done", "registered" | "edited" | "confirmed") => {
                return Some((false, format!("{} {reg_no}", l.t(&format!("done_{v}")))));
            }
            (
                "done",
                "deadline_extend" | "deadline_stop" | "deadline_resume" | "deadline_complete",
            ) => return Some((false, format!("{reg_no}: {}", l.t(&format!("done_{v}"))))),
            ("done", "invoice_approved" | "invoice_rejected") => {
                return Some((false, format!("{reg_no}: {}", l.t(&format!("done_{v}")))))
            }
            ("failed", "err_invoice_refused") => return Some((true, l.t(v).to_string())),
            ("failed", k) if DEADLINE_FAILURES.contains(&k) => {
                return Some((true, l.t(k).to_string()))
            }
            _ => {}
        }
    }
    None
}

/// The inbox's message after a confirmation (`?done=confirmed&id=N`): the
/// document's number as it is now (it changes with the series).
pub async fn inbox_flash(
    state: &WebState,
    l: Lang,
    query: Option<&str>,
) -> Result<Option<(bool, String)>, PageError> {
    let q = query.unwrap_or("");
    let id = q
        .split('&')
        .find_map(|p| p.strip_prefix("id="))
        .and_then(|v| v.parse::<i64>().ok());
    let Some(id) = id.filter(|_| q.split('&').any(|p| p == "done=confirmed")) else {
        return Ok(None);
    };
    match state.app.register.get(id).await {
        Ok(d) => Ok(flash(l, Some("done=confirmed"), &d.reg_no)),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_says_what_happened_with_the_number_and_ignores_unknown_keys() {
        assert_eq!(
            flash(Lang::Et, Some("done=registered"), "9-14/7"),
            Some((false, "Registreeritud 9-14/7".into()))
        );
        assert_eq!(
            flash(Lang::En, Some("x=1&done=confirmed"), "9-14/7"),
            Some((false, "Confirmed 9-14/7".into()))
        );
        assert_eq!(
            flash(Lang::Et, Some("failed=err_reason_required"), "1"),
            Some((true, Lang::Et.t("err_reason_required").into()))
        );
        assert_eq!(flash(Lang::Et, Some("failed=<script>"), "1"), None);
        assert_eq!(flash(Lang::Et, Some("done=whatever"), "1"), None);
        assert_eq!(flash(Lang::Et, None, "1"), None);
    }

    #[test]
    fn errs_give_each_field_its_message() {
        let mut e = Errs::default();
        assert!(e.is_empty());
        e.add("title", "Kohustuslik väli");
        assert_eq!(e.get("title"), "Kohustuslik väli");
        assert_eq!(e.get("series"), "");
        assert_eq!(e.all().len(), 1);
    }
}

//! Integration points with the other parts (text extraction, search, deadlines,
//! outbox). Each function here is the ONE place the web layer calls into them,
//! so that wiring a part in as it lands touches only this file.

use serde::Serialize;

use super::auth::User;
use super::error::WebResult;
use super::view::DocView;
use super::WebState;
use crate::access::{self, Field, Sight};
use crate::app::App;
use crate::deadline::engine::{ClockState, Outcome};
use crate::deadline::state::Engine;
use crate::model::{Channel, Document, NewDocument, NewFile, PartyKind};
use jiff::civil::Date;

/// A file handed to the register, with its text extracted in isolation (a panic
/// or a hang in an extractor marks the file "text not extracted", never more).
pub async fn new_file(app: &App, name: String, media_type: String, bytes: Vec<u8>) -> NewFile {
    let ic = &app.config.ingest;
    let t = crate::ingest::mail::isolated_file_text(
        ic,
        name.clone(),
        media_type.clone(),
        std::sync::Arc::new(bytes.clone()),
    )
    .await;
    let mut f = NewFile::new(name, media_type, bytes);
    f.text = t.text;
    f.text_status = t.status;
    f
}

/// What the outbox holds for a document, as the pages and the API show it.
/// Recipient and error only for whoever sees the document in full.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxView {
    pub id: i64,
    pub channel: String,
    pub recipient: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
}

pub async fn outbox_of(state: &WebState, doc_id: i64, sight: Sight) -> WebResult<Vec<OutboxView>> {
    let shown = access::may_see_field(sight, Field::OutboxRecipient);
    Ok(crate::outbox::for_document(&state.app.store, doc_id)
        .await?
        .into_iter()
        .map(|o| OutboxView {
            id: o.id,
            channel: o.channel,
            recipient: shown.then_some(o.recipient),
            state: o.state,
            attempts: o.attempts,
            last_error: o.last_error.filter(|_| shown),
            sent_at: o.sent_at,
        })
        .collect())
}

/// Registers a reply and queues it through the outbox the channel's worker reads:
/// e-mail through [`crate::outbox::reply::reply_titled`] (one transaction, the
/// Message-ID threading and the release record of a restricted document), DHX
/// through [`crate::dhx::send::enqueue`] (the capsule and one consignment per
/// addressee); post and hand delivery are only registered.
pub async fn send_reply(
    state: &WebState,
    parent: &Document,
    nd: NewDocument,
    recipient: Option<String>,
    user: &User,
) -> WebResult<(Document, Vec<OutboxView>)> {
    let app = &state.app;
    let doc = match nd.channel {
        Channel::Email => {
            let out = crate::outbox::reply::reply_titled(
                app,
                &parent.reg_no,
                Some(&nd.title),
                nd.reply_kind,
                nd.body.clone().unwrap_or_default(),
                vec![],
                recipient,
                &user.name,
            )
            .await?;
            app.register.get_by_reg_no(&out.reg_no).await?
        }
        Channel::Dhx => {
            let code = recipient
                .or_else(|| {
                    parent
                        .parties
                        .iter()
                        .find_map(|p| p.code.clone().filter(|c| crate::model::is_registry_code(c)))
                })
                .ok_or_else(|| {
                    super::error::WebError::invalid(
                        "invalid recipient: the reply has no dhx (registry code) address; give one in recipient",
                    )
                })?;
            // A restricted document's reply goes over DHX only to the document's
            // party organisations (and is recorded as a release by the DHX send).
            if parent.is_restricted_on(state.today())
                && !parent.parties.iter().any(|p| {
                    p.kind == PartyKind::Organisation && p.code.as_deref() == Some(code.as_str())
                })
            {
                return Err(super::error::WebError::forbidden(format!(
                    "forbidden: document {} is restricted ({}): a reply goes only to the document's party organisations, not to {code}",
                    parent.reg_no,
                    parent.restriction.as_ref().map(|r| r.ground.as_str()).unwrap_or("AK")
                )));
            }
            let doc = app.register.register(nd, &user.name).await?;
            crate::dhx::send::enqueue(app, &doc.reg_no, &[code], &user.name).await?;
            doc
        }
        _ => app.register.register(nd, &user.name).await?,
    };
    let out = outbox_of(state, doc.id, Sight::Full).await?;
    Ok((doc, out))
}

/// A document's deadline with the trace of how it was computed.
#[derive(Debug, Clone, Serialize)]
pub struct DeadlineView {
    pub document_id: i64,
    /// True: the deadline part is wired in.
    pub available: bool,
    pub rule: Option<String>,
    pub due: Option<jiff::civil::Date>,
    /// "none" (no reply needed), "open", "due_soon", "overdue", "stopped", "answered".
    pub status: String,
    /// Each step of the computation with its legal basis.
    pub trace: Vec<String>,
}

fn engine(state: &WebState) -> WebResult<std::sync::Arc<Engine>> {
    Ok(Engine::from_app(&state.app)?)
}

/// Brings the `deadlines` projection up to date from the change feed (what the
/// register's deadline column and sorting read).
pub async fn sync_deadlines(state: &WebState) -> WebResult<()> {
    let eng = engine(state)?;
    crate::deadline::state::sync(&state.app, &eng).await?;
    Ok(())
}

fn status_of(eng: &Engine, state: &WebState, o: &Outcome, today: Date) -> &'static str {
    match (o.state, o.due) {
        (ClockState::Ended, _) => "answered",
        (ClockState::Stopped, _) | (_, None) => "stopped",
        (ClockState::Open, Some(due)) if due < today => "overdue",
        (ClockState::Open, Some(due)) => {
            let soon = eng
                .calendar
                .add_working_days(today, state.app.config.deadlines.due_soon_working_days);
            if due <= soon {
                "due_soon"
            } else {
                "open"
            }
        }
    }
}

/// The deadline of a document, computed live from the register with its trace
/// (the trace, whose steps carry free-text reasons, only for whoever sees the
/// document in full).
pub async fn deadline_of(state: &WebState, d: &Document, sight: Sight) -> WebResult<DeadlineView> {
    let mut v = deadline_full(state, d).await?;
    if !access::may_see_field(sight, Field::TraceReasons) {
        v.trace.clear();
        if !matches!(sight, Sight::Full | Sight::Masked) {
            v.rule = None;
        }
    }
    Ok(v)
}

async fn deadline_full(state: &WebState, d: &Document) -> WebResult<DeadlineView> {
    let eng = engine(state)?;
    let dd = crate::deadline::state::explain_reg_no(&state.app, &eng, &d.reg_no).await?;
    let today = state.today();
    Ok(match &dd.deadline {
        None => DeadlineView {
            document_id: d.id,
            available: true,
            rule: d.doc_type.clone(),
            due: None,
            status: "none".into(),
            trace: steps(&dd.registration_trace),
        },
        Some(o) => DeadlineView {
            document_id: d.id,
            available: true,
            rule: Some(o.rule.clone()),
            due: o.due,
            status: status_of(&eng, state, o, today).into(),
            // The registration-lateness line first ("saabumisaeg teadmata" when unknown).
            trace: std::iter::once(dd.registration_line())
                .chain(steps(&o.trace))
                .collect(),
        },
    })
}

fn steps(t: &[crate::deadline::engine::Step]) -> Vec<String> {
    t.iter()
        .map(|s| match s.date {
            Some(d) => format!("{}: {} ({})", d, s.step, s.basis),
            None => format!("{} ({})", s.step, s.basis),
        })
        .collect()
}

/// One open deadline on the dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct DueItem {
    pub document: DocView,
    pub due: jiff::civil::Date,
    /// Working days left; negative when overdue.
    pub days_left: i64,
    pub responsible: Option<String>,
    pub status: String,
}

/// A page of the open deadlines that are overdue or due soon, the most
/// overdue first, each document as `user` may see it, and how many there are
/// when `count` (the deadline table brought up to date from the change feed
/// first, unless `synced`).
pub async fn overdue(
    state: &WebState,
    user: &User,
    who: crate::deadline::state::DueOf,
    (limit, offset): (i64, i64),
    count: bool,
    synced: bool,
) -> WebResult<(Vec<DueItem>, Option<i64>)> {
    let eng = engine(state)?;
    if !synced {
        crate::deadline::state::sync(&state.app, &eng).await?;
    }
    let today = state.today();
    let (lines, total) =
        crate::deadline::state::due_page(&state.app, &eng, today, &who, limit, offset, count)
            .await?;
    let ids: Vec<i64> = lines.iter().map(|(id, _)| *id).collect();
    let mut docs: std::collections::HashMap<i64, Document> = state
        .app
        .register
        .get_many(&ids)
        .await?
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    let mut out = Vec::with_capacity(lines.len());
    for (id, line) in lines {
        // Documents are never deleted; a row without one is skipped, never
        // shown beside another document.
        let Some(d) = docs.remove(&id) else {
            continue;
        };
        let is_over = line.due < today;
        let days_left = if is_over {
            -line.working_days_overdue
        } else {
            eng.calendar.working_days_between(today, line.due)
        };
        let sight = state.sight(Some(user), &d).await?;
        out.push(DueItem {
            document: DocView::new(&d, today, sight),
            due: line.due,
            days_left,
            responsible: line.responsible,
            status: if is_over { "overdue" } else { "due_soon" }.into(),
        });
    }
    Ok((out, total))
}

/// The open deadlines overdue or due soon per official (None: unassigned):
/// (official, overdue, due soon), the most overdue first.
pub async fn due_counts(
    state: &WebState,
    who: &crate::deadline::state::DueOf,
) -> WebResult<Vec<(Option<String>, i64, i64)>> {
    let eng = engine(state)?;
    crate::deadline::state::sync(&state.app, &eng).await?;
    Ok(crate::deadline::state::due_counts(&state.app, &eng, state.today(), who).await?)
}

/// Replies per month of registration ("YYYY-MM" → (on time, late)).
pub async fn on_time_by_month(
    state: &WebState,
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> WebResult<Option<std::collections::BTreeMap<String, (i64, i64)>>> {
    let eng = engine(state)?;
    crate::deadline::state::sync(&state.app, &eng).await?;
    Ok(Some(
        crate::report::on_time_by_month(&state.app, from, to).await?,
    ))
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub document: DocView,
    /// HTML: the text around the match, escaped, with `<mark>` around the terms;
    /// none when the document is restricted and this user may not see it.
    pub snippet_html: Option<String>,
    /// `"all"`: the document matched all the query's words; `"some"`: only some
    /// (relaxed matching filled the page).
    pub matched: crate::search::query::Matched,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchOutcome {
    pub query: String,
    /// Documents matching all the words.
    pub total: i64,
    /// Documents matching only some of the words (counted when the page reaches them).
    pub relaxed: i64,
    pub items: Vec<SearchHit>,
}

/// The filters of a search, as the search page's form and the API take them.
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
pub struct SearchFilters {
    pub series: Option<String>,
    pub doc_type: Option<String>,
    pub direction: Option<String>,
    /// Registered on or after (YYYY-MM-DD).
    pub from: Option<String>,
    /// Registered on or before (YYYY-MM-DD).
    pub to: Option<String>,
    /// relevance (default), newest or oldest.
    pub sort: Option<String>,
    /// Deadline state: open, due_soon, overdue, answered or stopped.
    pub deadline: Option<String>,
}

impl SearchFilters {
    /// The search request. `lenient`: an empty field means "any" (a form sends
    /// its empty fields; the API takes a value or nothing).
    pub fn request(
        &self,
        q: &str,
        limit: i64,
        offset: i64,
        lenient: bool,
    ) -> WebResult<crate::search::query::SearchRequest> {
        use crate::search::query::{SearchRequest, Sort};
        let get = |v: &Option<String>| -> Option<String> {
            v.clone()
                .filter(|s| !(lenient && s.trim().is_empty()))
                .map(|s| s.trim().to_string())
        };
        let date = |name: &'static str, v: &Option<String>| -> WebResult<Option<Date>> {
            Ok(get(v)
                .map(|d| crate::model::parse_date(name, &d))
                .transpose()?)
        };
        let sort = get(&self.sort)
            .map(|s| s.parse::<Sort>())
            .transpose()?
            .unwrap_or_default();
        Ok(SearchRequest {
            query: q.trim().to_string(),
            series: get(&self.series),
            doc_type: get(&self.doc_type),
            direction: get(&self.direction)
                .map(|d| d.parse::<crate::model::Direction>())
                .transpose()?,
            deadline: get(&self.deadline)
                .map(|d| d.parse::<crate::search::query::DeadlineFilter>())
                .transpose()?,
            from: date("from", &self.from)?,
            to: date("to", &self.to)?,
            sort,
            limit: limit.clamp(1, crate::search::query::MAX_LIMIT as i64) as usize,
            offset: offset.max(0) as usize,
            ..Default::default()
        })
    }
}

/// Full-text search for a logged-in user, in the tantivy index with access control
/// applied inside the search (a restricted document the user may not open is
/// found only by what the public may know of it, and shown without a snippet).
pub async fn search(
    state: &WebState,
    user: &User,
    req: crate::search::query::SearchRequest,
) -> WebResult<SearchOutcome> {
    let q = req.query.trim().to_string();
    if q.is_empty() {
        return Err(super::error::WebError::invalid(
            "invalid q: the query is empty",
        ));
    }
    // the search's access clause comes from the access policy, like `sight`
    let caller = state.search_caller(Some(user)).await?;
    let res = crate::search::search(&state.app, &req, &caller).await?;
    let today = state.today();
    let mut items = Vec::with_capacity(res.hits.len());
    for h in res.hits {
        let d = state.app.register.get(h.doc_id).await?;
        let sight = state.sight(Some(user), &d).await?;
        let visible = sight == Sight::Full;
        let snippet_html = visible.then(|| {
            h.snippet
                .replace("<b>", "<mark>")
                .replace("</b>", "</mark>")
        });
        items.push(SearchHit {
            document: DocView::new(&d, today, sight),
            snippet_html,
            matched: h.matched,
        });
    }
    Ok(SearchOutcome {
        query: q,
        total: res.total as i64,
        relaxed: res.relaxed as i64,
        items,
    })
}

/// True: the deadline part is wired in.
pub fn deadlines_available() -> bool {
    true
}

/// Document types (deadline rules) offered in the forms: (rule id, name in the
/// page's language), from the rules `App` loaded once.
pub fn doc_types(state: &WebState, l: super::i18n::Lang) -> Vec<(String, String)> {
    state
        .app
        .engine
        .rules
        .all()
        .iter()
        .map(|r| (r.id.clone(), rule_name(r, l)))
        .collect()
}

/// A document type's (deadline rule's) name in the page's language; an unknown
/// id shows itself.
pub fn doc_type_name(state: &WebState, l: super::i18n::Lang, id: &str) -> String {
    state
        .app
        .engine
        .rules
        .get(id)
        .map_or_else(|| id.to_string(), |r| rule_name(r, l))
}

fn rule_name(r: &crate::deadline::Rule, l: super::i18n::Lang) -> String {
    match l {
        super::i18n::Lang::Et => r.name_et.clone(),
        super::i18n::Lang::En => r.name_en.clone(),
    }
}

/// One signature of a document's signed container, as the document page and
/// the API show it (the rows of `docgate signatures`): the signer's name and
/// code only where the access policy shows person names and codes.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureView {
    pub file: String,
    /// The container inside the file the signature belongs to ("" for the file itself).
    pub container: String,
    pub format: String,
    pub signer: Option<String>,
    pub signer_code: Option<String>,
    /// The proven signing time in Europe/Tallinn, `dd.mm.yyyy hh:mm:ss`.
    pub signed_at: Option<String>,
    pub status: crate::signature::Status,
    /// Each reason: `code: message` (Estonian, English in parentheses).
    pub reasons: Vec<String>,
}

/// The data files a container of the document gave: (container, data file names).
pub type ContainerFiles = Vec<(String, Vec<String>)>;

/// The signatures of a document's signed containers, verified against the
/// configured trust store (`signatures.trust_dir`) in isolation, and the data
/// files each container gave. Nothing without a full sight (the page shows no
/// files then either).
pub async fn signatures_of(
    state: &WebState,
    d: &Document,
    sight: Sight,
) -> WebResult<(Vec<SignatureView>, ContainerFiles)> {
    use crate::signature;
    if sight != Sight::Full
        || !d
            .files
            .iter()
            .any(|f| signature::is_container(&f.name, &f.media_type))
    {
        return Ok((Vec::new(), Vec::new()));
    }
    let names = access::may_see_field(sight, Field::PersonNames);
    let codes = access::may_see_field(sight, Field::CodesAndEmails);
    let origins = state.app.register.container_positions(d.id).await?;
    let tz = state.app.config.timezone();
    let mut rows = Vec::new();
    let mut given: ContainerFiles = Vec::new();
    for (pos, f) in d.files.iter().enumerate() {
        if !signature::is_container(&f.name, &f.media_type) {
            continue;
        }
        let from_it: Vec<String> = d
            .files
            .iter()
            .zip(&origins)
            .filter(|(_, o)| **o == Some(pos))
            .map(|(g, _)| g.name.clone())
            .collect();
        if !from_it.is_empty() {
            given.push((f.name.clone(), from_it));
        }
        let bytes = state.app.register.file_bytes(&f.sha256).await?;
        let (name, cfg) = (f.name.clone(), state.app.config.signatures.clone());
        let r = crate::extract::isolated(
            "signature verification",
            state.app.config.ingest.extract_timeout(),
            move || {
                cfg.trust_store()
                    .map(|t| signature::verify(&name, &bytes, &t))
            },
        )
        .await;
        let found = match r {
            Ok(Ok(r)) => signature::rows(&f.name, "", &r),
            Ok(Err(e)) => return Err(e.into()),
            Err(e) => vec![signature::Row {
                file: f.name.clone(),
                container: String::new(),
                format: String::new(),
                signer: None,
                signer_code: None,
                signed_at: None,
                status: signature::Status::Indeterminate,
                reasons: vec![signature::Reason::new(
                    "not_verified",
                    signature::Status::Indeterminate,
                    format!("allkirju ei saanud kontrollida: {e} (not verified)"),
                )],
            }],
        };
        rows.extend(found.into_iter().map(|r| {
            SignatureView {
                file: r.file,
                container: r.container,
                format: r.format,
                signer: r.signer.filter(|_| names),
                signer_code: r.signer_code.filter(|_| codes),
                signed_at: r.signed_at.map(|t| {
                    t.to_zoned(tz.clone())
                        .strftime("%d.%m.%Y %H:%M:%S")
                        .to_string()
                }),
                status: r.status,
                reasons: r
                    .reasons
                    .iter()
                    .map(|x| format!("{}: {}", x.code, x.message))
                    .collect(),
            }
        }));
    }
    Ok((rows, given))
}

impl SignatureView {
    /// The status's catalogue key (`sig_valid`, `sig_indeterminate`, `sig_invalid`).
    pub fn status_key(&self) -> &'static str {
        match self.status {
            crate::signature::Status::Valid => "sig_valid",
            crate::signature::Status::Indeterminate => "sig_indeterminate",
            crate::signature::Status::Invalid => "sig_invalid",
        }
    }
}

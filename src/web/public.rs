//! The public document register at `/avalik` (AvTS §§ 12, 28, 29): no login,
//! rate-limited per client address, showing ONLY the public projection
//! ([`PublicDoc`]) as the access policy ([`crate::access`]) allows: an
//! unclassified document does not exist here (404, not listed, not found);
//! natural persons as "eraisik"; the public title, never the raw one; AK
//! documents listed with their ground and end date but without title,
//! references or files; text and files only for documents with no natural
//! person as party; never a raw `.eml`.

use super::routes::{self, Routes};
use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;

use super::api::{self, ApiPath, ApiQuery};
use super::auth::User;
use super::error::WebError;
use super::i18n::Lang;
use super::pages::{html, lang_of, urlencode, PageError, PageResult};
use super::view::PublicDoc;
use super::{ClientIp, WebState};

pub fn routes() -> Routes {
    Routes::new()
        .route("/avalik", routes::get(list))
        .route("/avalik/", routes::get(list))
        .route("/avalik/dokument/{id}", routes::get(doc))
        .route("/avalik/dokument/{id}/fail/{sha256}", routes::get(file))
}

fn limit(state: &WebState, ip: std::net::IpAddr, l: Lang) -> Result<(), PageError> {
    state
        .public_limiter
        .take(ip)
        .map_err(|wait| PageError::Web(WebError::rate_limited(wait), l))
}

#[derive(Template)]
#[template(path = "public_list.html")]
struct ListPage {
    l: Lang,
    user: Option<User>,
    csrf: String,
    agency: String,
    q: String,
    total: i64,
    docs: Vec<PublicDoc>,
    prev: Option<String>,
    next: Option<String>,
    /// The document list's series: (code, title).
    series: Vec<(String, String)>,
    f: PublicFilters,
}

/// The public register's filters: a series and a registration-date range.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PublicFilters {
    pub series: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl PublicFilters {
    fn get(v: &Option<String>) -> Option<String> {
        v.as_ref()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }
    fn date(name: &'static str, v: &Option<String>) -> Result<Option<jiff::civil::Date>, WebError> {
        Ok(Self::get(v)
            .map(|d| crate::model::parse_date(name, &d))
            .transpose()?)
    }
    /// The filters as query pairs for the pager's links.
    fn query(&self) -> String {
        [
            ("series", &self.series),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .into_iter()
        .filter_map(|(k, v)| Self::get(v).map(|v| format!("&{k}={}", urlencode(&v))))
        .collect()
    }
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    offset: Option<i64>,
    #[serde(flatten)]
    f: PublicFilters,
}

async fn list(
    State(state): State<WebState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> PageResult {
    let l = lang_of(&headers);
    limit(&state, ip, l)?;
    let page = state.cfg.page_size;
    let offset = query.offset.unwrap_or(0).clamp(0, 1_000_000_000);
    let q = query.q.trim().to_string();
    let today = state.today();
    let err = |e: WebError| PageError::Web(e, l);
    let series = PublicFilters::get(&query.f.series);
    let from = PublicFilters::date("from", &query.f.from).map_err(err)?;
    let to = PublicFilters::date("to", &query.f.to).map_err(err)?;
    let (docs, total) = if q.is_empty() {
        let f = crate::register::ListFilter {
            // unclassified documents are not public at all
            needs_review: Some(false),
            series: series.clone(),
            registered_from: from,
            registered_to: to,
            limit: Some(page),
            offset: Some(offset),
            newest_first: true,
            ..Default::default()
        };
        let (docs, total) =
            tokio::try_join!(state.app.register.list(&f), state.app.register.count(&f))?;
        (docs, total)
    } else {
        // The public projection of the search index: what the public register
        // shows is all it can find.
        let req = crate::search::query::SearchRequest {
            query: q.clone(),
            limit: page.clamp(1, crate::search::query::MAX_LIMIT as i64) as usize,
            offset: offset as usize,
            sort: crate::search::query::Sort::Newest,
            series: series.clone(),
            from,
            to,
            ..Default::default()
        };
        let caller = state.search_caller(None).await?;
        let res = crate::search::search(&state.app, &req, &caller)
            .await
            .map_err(|e| PageError::Web(e.into(), l))?;
        let mut docs = Vec::with_capacity(res.hits.len());
        for h in res.hits {
            docs.push(state.app.register.get(h.doc_id).await?);
        }
        (docs, res.total as i64)
    };
    let docs: Vec<PublicDoc> = docs
        .iter()
        .filter_map(|d| {
            crate::access::public_level(d, today).map(|lv| PublicDoc::new(d, lv, today))
        })
        .collect();
    let filters = query.f.query();
    let link = |o: i64| format!("/avalik?q={}{filters}&offset={o}", urlencode(&q));
    Ok(html(ListPage {
        l,
        user: None,
        csrf: String::new(),
        agency: state.app.config.agency.name.clone(),
        prev: (offset > 0).then(|| link((offset - page).max(0))),
        next: (offset + page < total).then(|| link(offset + page)),
        q,
        total,
        docs,
        series: state
            .app
            .series
            .all()
            .map(|s| (s.code.clone(), s.title.clone()))
            .collect(),
        f: query.f,
    }))
}

#[derive(Template)]
#[template(path = "public_doc.html")]
struct DocPage {
    l: Lang,
    user: Option<User>,
    csrf: String,
    agency: String,
    d: PublicDoc,
    /// The destruction act, when the document was destroyed (src/lifecycle).
    destroyed: Option<String>,
}

async fn doc(
    State(state): State<WebState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> PageResult {
    let l = lang_of(&headers);
    limit(&state, ip, l)?;
    let id = api::parse_id(&id).map_err(|e| PageError::Web(e, l))?;
    let (d, level) = public_doc(&state, id)
        .await
        .map_err(|e| PageError::Web(e, l))?;
    let destroyed = state
        .app
        .register
        .destroyed_by(d.id)
        .await
        .map_err(|e| PageError::Web(e.into(), l))?;
    let mut view = PublicDoc::new(&d, level, state.today());
    if destroyed.is_some() {
        view.files.clear();
    }
    Ok(html(DocPage {
        l,
        user: None,
        csrf: String::new(),
        agency: state.app.config.agency.name.clone(),
        d: view,
        destroyed,
    }))
}

/// A document as the public may see it: an unclassified one (or one that does
/// not exist) is "not found", the same answer either way.
async fn public_doc(
    state: &WebState,
    id: i64,
) -> Result<(crate::model::Document, crate::access::PublicLevel), WebError> {
    let not_found = || WebError::not_found(format!("document {id} not found"));
    let d = match state.app.register.get(id).await {
        Ok(d) => d,
        Err(e) if e.kind() == crate::error::ErrorKind::NotFound => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    match state.sight(None, &d).await? {
        crate::access::Sight::Public(level) => Ok((d, level)),
        _ => Err(not_found()),
    }
}

async fn file(
    State(state): State<WebState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiPath((id, sha)): ApiPath<(String, String)>,
) -> Result<Response, PageError> {
    let l = lang_of(&headers);
    limit(&state, ip, l)?;
    let err = |e: WebError| PageError::Web(e, l);
    let id = api::parse_id(&id).map_err(err)?;
    let (d, level) = public_doc(&state, id).await.map_err(err)?;
    if let Some(act) = state
        .app
        .register
        .destroyed_by(d.id)
        .await
        .map_err(|e| err(e.into()))?
    {
        return Err(err(WebError::not_found(format!(
            "hävitatud {act}: document {} was destroyed",
            d.reg_no
        ))));
    }
    let sight = crate::access::Sight::Public(level);
    let refused = level == crate::access::PublicLevel::Listed
        || d.files
            .iter()
            .any(|f| f.sha256.eq_ignore_ascii_case(&sha) && !crate::access::may_download(sight, f));
    if refused {
        if level == crate::access::PublicLevel::Listed {
            return Err(err(WebError::forbidden(format!(
                "forbidden: document {} is restricted (AK): its files are not public",
                d.reg_no
            ))));
        }
        return Err(err(WebError::forbidden(format!(
            "forbidden: this file of document {} is not public",
            d.reg_no
        ))));
    }
    api::file_response(&state, &d, &sha).await.map_err(err)
}

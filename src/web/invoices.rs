//! Referrals and invoices in the web application: the invoice panel of a
//! document page (figures, referral, checks, errors) with the lead's approval
//! and rejection, the referral panel (units used and remaining), and the
//! lead's dashboard section (open and overdue invoices, spend per provider,
//! service and month). What a document page shows of them follows the
//! document's own sight (`access`): a hidden document shows nothing.

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;

use super::api::{self, ApiPath};
use super::auth::{Role, User};
use super::error::WebError;
use super::pages::{self, PageError, PageResult};
use super::routes::{self, Routes};
use super::WebState;
use crate::invoice::{InvoiceView, Referral, SpendRow};
use crate::model::Document;

pub fn routes() -> Routes {
    Routes::new().route("/documents/{id}/invoice", routes::post(decide))
}

/// A document's invoice and referral panels; None for a document the user
/// sees only as hidden.
pub async fn panels(
    state: &WebState,
    d: &Document,
    hidden: bool,
) -> crate::error::Result<(Option<InvoiceView>, Option<Referral>)> {
    if hidden {
        return Ok((None, None));
    }
    let inv = state.app.register.invoice_of(d.id).await?;
    let referral = if d.kind.as_deref() == Some(crate::invoice::ledger::REFERRAL_KIND) {
        state.app.register.referral_of(d.id).await?
    } else {
        None
    };
    Ok((inv, referral))
}

/// A message written "Estonian (English)" in the page's language.
pub fn in_lang(l: &super::i18n::Lang, text: &str) -> String {
    let (et, en) = crate::invoice::checks::split_bilingual(text);
    if l.code() == "en" {
        en
    } else {
        et
    }
}

/// Whether `user` decides invoices (the lead).
pub fn can_decide(user: &User) -> bool {
    user.role == Role::Lead
}

/// The dashboard's invoice section: (open, overdue, the year's spend).
pub async fn dashboard(
    state: &WebState,
    user: &User,
) -> crate::error::Result<Option<(i64, Vec<InvoiceView>, Vec<SpendRow>)>> {
    if !matches!(user.role, Role::Lead | Role::Clerk) {
        return Ok(None);
    }
    let today = state.today();
    let (open, _) = state.app.register.invoice_counts(today).await?;
    // Each listed invoice as the one access policy lets this user see it.
    let mut overdue = Vec::new();
    for v in state.app.register.invoices(Some("overdue"), 50).await? {
        let d = state.app.register.get(v.doc_id).await?;
        if state.sight(Some(user), &d).await? != crate::access::Sight::Invisible {
            overdue.push(v);
        }
    }
    let from = jiff::civil::date(today.year(), 1, 1);
    let to = jiff::civil::date(today.year(), 12, 31);
    let spend = state.app.register.spend(from, to).await?;
    Ok(Some((open, overdue, spend)))
}

#[derive(Deserialize)]
struct DecideForm {
    csrf: String,
    action: String,
    #[serde(default)]
    reason: String,
}

async fn decide(
    State(state): State<WebState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    form: Result<axum::Form<DecideForm>, FormRejection>,
) -> PageResult {
    let (p, l) = pages::page_user(&state, &headers).await?;
    let err = |e: WebError| PageError::Web(e, l);
    let axum::Form(f) = form.map_err(|e| err(e.into()))?;
    pages::check_csrf(&p, &f.csrf).map_err(err)?;
    api::require_role(&p.user, can_decide(&p.user), "approve or reject invoices").map_err(err)?;
    let id = api::parse_id(&id).map_err(err)?;
    let d = state.app.register.get(id).await?;
    if !state.can_see(&p.user, &d).await? {
        return Err(err(WebError::forbidden(format!(
            "forbidden: document {} is restricted",
            d.reg_no
        ))));
    }
    let back = |q: &str| Ok(pages::see_other(&format!("/documents/{id}?{q}")));
    let approve = match f.action.as_str() {
        "approve" => true,
        "reject" => false,
        other => {
            return Err(err(WebError::invalid(format!(
                "invalid action {other:?}: expected approve or reject"
            ))))
        }
    };
    let reason = f.reason.trim();
    if !approve && reason.is_empty() {
        return back("failed=err_reason_required");
    }
    let reason = (!reason.is_empty()).then_some(reason);
    match crate::invoice::process::decide(
        &state.app,
        &d.reg_no,
        approve,
        reason,
        None,
        &p.user.name,
    )
    .await
    {
        Ok(_) if approve => back("done=invoice_approved"),
        Ok(_) => back("done=invoice_rejected"),
        Err(e) => {
            let e = WebError::from(e);
            if !e.status().is_client_error() {
                return Err(err(e));
            }
            tracing::info!(error = %e.public_message(), "invoice decision refused");
            back("failed=err_invoice_refused")
        }
    }
}

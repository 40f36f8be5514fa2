//! The lead's decision on an invoice (`invoice approve|reject`): the state, the
//! end of its payment deadline and, for a rejection, the letter to the
//! provider queued in the outbox, all in one transaction.

use super::ledger::InvoiceView;
use crate::app::App;
use crate::error::{Error, Result};

/// What a decision did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Decision {
    pub invoice: InvoiceView,
    /// The rejection letter, when one was queued.
    pub letter: Option<crate::outbox::reply::ReplyOutcome>,
}

/// The rejection letter's text: the reason and the failed checks.
pub fn rejection_text(v: &InvoiceView, reason: &str, agency: &str) -> String {
    let mut t = format!(
        "Tere\n\nLükkame tagasi arve nr {} ({}).\n\nPõhjus: {reason}\n",
        v.number.as_deref().unwrap_or("-"),
        v.seller.name
    );
    let failed: Vec<&super::checks::Check> = v.checks.iter().filter(|c| !c.ok).collect();
    if !failed.is_empty() {
        t.push_str("\nKontrollid, mis ei läbinud:\n");
        for c in failed {
            t.push_str(&format!("- {}\n", c.reason));
        }
    }
    if let Some(r) = &v.referral {
        t.push_str(&format!(
            "\nSuunamise number: {r}. Palun viidake sellele ka parandatud arvel.\n"
        ));
    }
    t.push_str(&format!("\nLugupidamisega\n{agency}\n"));
    t
}

/// Approves (`approve`) or rejects an invoice; a rejection needs a reason and
/// queues a letter to the provider (`to`, else the invoice's party with an
/// e-mail address).
pub async fn decide(
    app: &App,
    reg_no: &str,
    approve: bool,
    reason: Option<&str>,
    to: Option<String>,
    actor: &str,
) -> Result<Decision> {
    let mut doc = app.register.get_by_reg_no(reg_no).await?;
    let before = app.register.invoice(reg_no).await?;
    // A rejection's letter goes to `to`, else the invoice's party with an
    // e-mail address, else the seller's address on the referral letter, which
    // is first written onto the invoice's seller (an `edited` event), so that
    // the letter goes to the document's own party as § 39 lg 2 wants for a
    // restricted document.
    let has_address = to.is_some()
        || doc
            .parties
            .iter()
            .any(|p| p.email.as_deref().is_some_and(|e| e.contains('@')));
    if let (false, false, Some(number)) = (approve, has_address, &before.referral) {
        let r = app.register.referral(number).await?;
        let letter = app.register.get_by_reg_no(&r.reg_no).await?;
        let address = letter
            .parties
            .iter()
            .find(|p| p.code.is_some() && p.code == r.provider.code)
            .and_then(|p| p.email.clone());
        if let Some(address) = address {
            let mut parties = doc.parties.clone();
            if let Some(seller) = parties
                .iter_mut()
                .find(|p| p.code.is_some() && p.code == r.provider.code)
            {
                seller.email = Some(address);
                let patch = crate::register::MetadataPatch {
                    parties: Some(parties),
                    ..Default::default()
                };
                doc = app.register.update(doc.id, patch, actor).await?;
            }
        }
    }
    let has_address = to.is_some()
        || doc
            .parties
            .iter()
            .any(|p| p.email.as_deref().is_some_and(|e| e.contains('@')));
    if !approve && !has_address {
        return Err(Error::invalid(format!(
            "arve {reg_no} saatjal pole e-posti aadressi: andke aadress (to) (the invoice's sender has no e-mail address: give one)"
        )));
    }
    let mut tx = app.register.begin().await?;
    let view = app
        .register
        .decide_invoice_in(&mut tx, reg_no, approve, reason, actor)
        .await?;
    let letter = if approve {
        None
    } else {
        let body = rejection_text(&view, reason.unwrap_or_default(), &app.config.agency.name);
        let title = format!(
            "Arve nr {} tagasilükkamine",
            view.number.as_deref().unwrap_or("-")
        );
        Some(
            crate::outbox::reply::reply_in(
                app,
                &mut tx,
                &doc,
                Some(&title),
                Some(crate::model::ReplyKind::Refusal),
                body,
                Vec::new(),
                to,
                actor,
            )
            .await?,
        )
    };
    tx.commit().await?;
    let invoice = app.register.invoice(reg_no).await?;
    Ok(Decision { invoice, letter })
}

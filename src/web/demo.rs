//! The demo register (`docgate serve --demo`): users and a victim-support unit's
//! correspondence from `fixtures/demo/`, registered through the register API
//! with dates relative to today (so there is always something overdue).

use rand::Rng;
use serde::Deserialize;

use super::auth::{self, NewUser, Role};
use crate::app::App;
use crate::error::{Error, Result};
use crate::model::{Channel, Direction, NewDocument, NewRestriction, Party, PartyKind, PartyRole};

const REGISTER: &str = include_str!("../../fixtures/demo/register.json");

fn file_bytes(name: &str) -> Option<(&'static [u8], &'static str)> {
    Some(match name {
        "hyvitise-taotlus.pdf" => (
            include_bytes!("../../fixtures/demo/files/hyvitise-taotlus.pdf").as_slice(),
            "application/pdf",
        ),
        "statistika-2025.pdf" => (
            include_bytes!("../../fixtures/demo/files/statistika-2025.pdf").as_slice(),
            "application/pdf",
        ),
        "arve-2026-118.pdf" => (
            include_bytes!("../../fixtures/demo/files/arve-2026-118.pdf").as_slice(),
            "application/pdf",
        ),
        "ravikulud.pdf" => (
            include_bytes!("../../fixtures/demo/files/ravikulud.pdf").as_slice(),
            "application/pdf",
        ),
        "kohtu-maarus.pdf" => (
            include_bytes!("../../fixtures/demo/files/kohtu-maarus.pdf").as_slice(),
            "application/pdf",
        ),
        "ppa-kapsel.xml" => (
            include_bytes!("../../fixtures/demo/files/ppa-kapsel.xml").as_slice(),
            "application/xml",
        ),
        "elva-kapsel.xml" => (
            include_bytes!("../../fixtures/demo/files/elva-kapsel.xml").as_slice(),
            "application/xml",
        ),
        _ => return None,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    users: Vec<FxUser>,
    documents: Vec<FxDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FxUser {
    name: String,
    full_name: String,
    role: Role,
    #[serde(default)]
    unit: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FxParty {
    name: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    email: Option<String>,
    role: PartyRole,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FxRestriction {
    ground: String,
    years: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FxDoc {
    key: String,
    days_ago: i64,
    #[serde(default)]
    reply_to: Option<String>,
    /// What the reply does to the deadline it answers (final, interim, ...).
    #[serde(default)]
    reply_kind: Option<crate::model::ReplyKind>,
    direction: Direction,
    channel: Channel,
    series: String,
    #[serde(default)]
    doc_type: Option<String>,
    title: String,
    #[serde(default)]
    their_ref: Option<String>,
    parties: Vec<FxParty>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    restriction: Option<FxRestriction>,
    #[serde(default)]
    responsible: Option<String>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    needs_review: bool,
    #[serde(default)]
    personal_codes_found: bool,
    /// Registered public on purpose, with this reason (else the register decides).
    #[serde(default)]
    public_reason: Option<String>,
}

/// The logins the demo created (name, password, role).
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub users: Vec<(String, String, Role)>,
}

impl DemoLogin {
    /// The clerk's login (the one to start with).
    pub fn primary(&self) -> (&str, &str) {
        self.users
            .iter()
            .find(|u| u.2 == Role::Clerk)
            .or(self.users.first())
            .map(|u| (u.0.as_str(), u.1.as_str()))
            .unwrap_or(("", ""))
    }

    /// What `docgate serve --demo` prints.
    pub fn describe(&self, url: &str) -> String {
        let mut s = format!("demo register loaded: open {url} and log in as\n");
        for (n, p, r) in &self.users {
            s.push_str(&format!("  {n:<10} password {p}  ({})\n", r.as_str()));
        }
        s
    }
}

fn random_password() -> String {
    const CH: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut r = rand::thread_rng();
    (0..14)
        .map(|_| CH[r.gen_range(0..CH.len())] as char)
        .collect()
}

/// Loads the demo into an empty register; refuses a register that has documents or users.
pub async fn load_demo(app: &App) -> Result<DemoLogin> {
    let fx: Fixture = serde_json::from_str(REGISTER)
        .map_err(|e| Error::internal(format!("demo fixture is invalid: {e}")))?;
    let docs = app.register.count(&Default::default()).await?;
    let users = auth::count_users(&app.store).await?;
    if docs > 0 || users > 0 {
        return Err(Error::Conflict(format!(
            "the demonstration needs an empty data directory, but {} has {docs} documents and {users} users",
            app.config.data_dir.display()
        )));
    }
    let mut logins = vec![];
    for u in &fx.users {
        let pw = random_password();
        auth::create_user(
            &app.store,
            &NewUser {
                name: u.name.clone(),
                full_name: u.full_name.clone(),
                role: u.role,
                unit: u.unit.clone(),
                email: Some(format!("{}@sotsiaalkindlustusamet.ee", u.name)),
                password: pw.clone(),
            },
        )
        .await?;
        logins.push((u.name.clone(), pw, u.role));
    }
    let now = jiff::Timestamp::now();
    let mut reg_nos: std::collections::HashMap<String, String> = Default::default();
    let mut ordered: Vec<&FxDoc> = fx.documents.iter().collect();
    ordered.sort_by(|a, b| b.days_ago.cmp(&a.days_ago));
    for d in ordered {
        let at = now
            .checked_sub(jiff::SignedDuration::from_hours(24 * d.days_ago))
            .map_err(|e| Error::internal(e.to_string()))?;
        let mut nd = NewDocument::new(d.direction, d.channel, d.title.clone());
        nd.series = Some(d.series.clone());
        nd.doc_type = d.doc_type.clone();
        nd.their_ref = d.their_ref.clone();
        nd.parties = d
            .parties
            .iter()
            .map(|p| {
                let mut party = Party::from_name_and_code(&p.name, p.code.as_deref(), p.role)?;
                party.email = p.email.clone();
                Ok(party)
            })
            .collect::<Result<_>>()?;
        nd.registered_at = Some(at);
        nd.received = Some(app.register.local_date(at));
        nd.body = d.body.clone();
        nd.responsible = d.responsible.clone();
        nd.unit = d.unit.clone();
        nd.needs_review = d.needs_review;
        nd.source_keys = vec![format!("demo:{}", d.key)];
        if let Some(r) = &d.reply_to {
            nd.reply_to = Some(reg_nos.get(r).cloned().ok_or_else(|| {
                Error::internal(format!("demo: {} replies to unknown {r}", d.key))
            })?);
            nd.reply_kind = d.reply_kind;
        }
        if let Some(r) = &d.restriction {
            let base = app.register.local_date(at);
            nd.restriction = Some(NewRestriction {
                end_by: Default::default(),
                ground: r.ground.clone(),
                ends: base
                    .checked_add(jiff::Span::new().years(r.years))
                    .map_err(|e| Error::internal(e.to_string()))?,
                holder: None,
                begins: None,
            });
        }
        // The register finds personal codes and proposes the ground itself.
        nd.contains_personal_data = d.personal_codes_found;
        nd.public_reason = d.public_reason.clone();
        for f in &d.files {
            let (bytes, media) =
                file_bytes(f).ok_or_else(|| Error::internal(format!("demo: unknown file {f}")))?;
            nd.files.push(
                super::integrate::new_file(app, f.clone(), media.into(), bytes.to_vec()).await,
            );
        }
        let doc = app.register.register(nd, "demo").await?;
        reg_nos.insert(d.key.clone(), doc.reg_no);
    }
    load_referral_and_invoice(app).await?;
    Ok(DemoLogin { users: logins })
}

/// A referral to a psychologist and the provider's UBL e-invoice quoting it:
/// the invoice is read, matched and checked as one from e-mail would be.
async fn load_referral_and_invoice(app: &App) -> Result<()> {
    let today = app.register.today();
    let day = |n: i64| {
        today
            .checked_add(jiff::Span::new().days(n))
            .map_err(|e| Error::internal(e.to_string()))
    };
    let mut letter = NewDocument::new(
        Direction::Outgoing,
        Channel::Email,
        "Suunamiskiri: psühholoogiline nõustamine",
    );
    letter.kind = Some(crate::invoice::ledger::REFERRAL_KIND.into());
    letter.responsible = Some("liis".into());
    letter.body = Some(
        "Suuname Tiina Saare traumast taastumist toetavale psühholoogilisele nõustamisele: 10 seanssi, kuni 60 eurot seanss.".into(),
    );
    letter.parties = vec![
        Party {
            kind: PartyKind::Organisation,
            role: PartyRole::Recipient,
            name: "Hingeabi OÜ".into(),
            code: Some("12345678".into()),
            email: Some("arved@hingeabi.example".into()),
        },
        Party::from_name_and_code("Tiina Saar", None, PartyRole::Recipient)?,
    ];
    letter.referral = Some(crate::invoice::NewReferral {
        provider_code: "12345678".into(),
        provider_name: "Hingeabi OÜ".into(),
        person_name: "Tiina Saar".into(),
        person_code: None,
        service: "psühholoogiline nõustamine".into(),
        unit: crate::invoice::ReferralUnit::Sessions,
        units: 10.into(),
        unit_price_limit: Some(60.into()),
        total_limit: Some(600.into()),
        valid_from: day(-45)?,
        valid_to: day(90)?,
    });
    letter.source_keys = vec!["demo:referral".into()];
    app.register.register(letter, "demo").await?;
    let number = app
        .register
        .referrals(1)
        .await?
        .into_iter()
        .next()
        .map(|r| r.number)
        .ok_or_else(|| Error::internal("demo: the referral is missing"))?;
    let mut inv = crate::invoice::write::sample(crate::invoice::Syntax::Ubl);
    inv.buyer_reference = Some(number);
    inv.issue_date = day(-2)?;
    inv.due_date = Some(day(19)?);
    inv.period_start = Some(day(-30)?);
    inv.period_end = Some(day(-3)?);
    let xml = crate::invoice::write::to_xml(&inv);
    let mut nd = NewDocument::new(
        Direction::Incoming,
        Channel::Email,
        format!("Arve nr {}", inv.number),
    );
    nd.parties = vec![Party {
        kind: PartyKind::Organisation,
        role: PartyRole::Sender,
        name: inv.seller.name.clone(),
        code: inv.seller.code.clone(),
        email: Some("arved@hingeabi.example".into()),
    }];
    nd.responsible = Some("liis".into());
    nd.received = Some(day(-1)?);
    nd.source_keys = vec!["demo:invoice".into()];
    nd.files.push(
        super::integrate::new_file(
            app,
            format!("arve-{}.xml", inv.number),
            "application/xml".into(),
            xml.into_bytes(),
        )
        .await,
    );
    app.register.register(nd, "demo").await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_parses_and_every_file_and_reply_resolves() {
        let fx: Fixture = serde_json::from_str(REGISTER).unwrap();
        let keys: Vec<&str> = fx.documents.iter().map(|d| d.key.as_str()).collect();
        for d in &fx.documents {
            for f in &d.files {
                assert!(file_bytes(f).is_some(), "{f}");
            }
            if let Some(r) = &d.reply_to {
                let parent = fx.documents.iter().find(|p| &p.key == r).expect(r);
                assert!(
                    parent.days_ago >= d.days_ago,
                    "{} replies before {r}",
                    d.key
                );
            }
            for p in &d.parties {
                Party::from_name_and_code(&p.name, p.code.as_deref(), p.role).unwrap();
            }
        }
        assert!(keys.len() >= 20);
        assert!(fx.documents.iter().filter(|d| d.needs_review).count() >= 3);
        assert!(
            fx.documents
                .iter()
                .filter(|d| d.restriction.is_some())
                .count()
                >= 8
        );
        assert!(fx.documents.iter().any(|d| d.channel == Channel::Dhx));
        assert!(fx.users.iter().any(|u| u.role == Role::Clerk));
        assert!(fx.users.iter().any(|u| u.role == Role::Lead));
    }
}

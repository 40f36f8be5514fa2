//! The register's own commands: init, register, show, list, verify, serve.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::app::App;
use crate::config::Config;
use crate::error::Error;
use crate::model::*;
use crate::register::ListFilter;

use super::{print_json, EXIT_OK, EXIT_VERIFY};

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum CoreCommand {
    /// Create the data directory and the database (safe to run twice).
    Init(InitArgs),
    /// Register one document per file, all in one transaction.
    Register(RegisterArgs),
    /// Show a document with its restriction and audit events.
    Show(ShowArgs),
    /// List documents.
    List(ListArgs),
    /// Verify the signatures of a document's signed containers (ASiC-E, BDOC, ASiC-S, DDOC).
    Signatures(SignaturesArgs),
    /// Check the audit chain and every stored file; exit 3 when anything was tampered with.
    Verify(VerifyArgs),
    /// Run the daemon: HTTP, ingest, indexer, scheduler, outbox.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Files to register, one document each.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// incoming, outgoing or internal.
    #[arg(long, default_value = "incoming")]
    pub direction: String,
    /// email, dhx, post, hand or web (default: post for incoming, email otherwise).
    #[arg(long)]
    pub channel: Option<String>,
    /// Series code from the document list (default: the configured default series).
    #[arg(long)]
    pub series: Option<String>,
    /// The deadline rule: a rule id of the loaded deadline rules
    /// (`deadlines.rules_file`, default config/deadlines.toml).
    #[arg(long = "type", value_name = "RULE")]
    pub doc_type: Option<String>,
    /// The document kind (config/document-kinds.toml: avaldus, teabenõue, kiri, …);
    /// its default deadline rule applies when --type is not given.
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    #[arg(long)]
    pub title: Option<String>,
    /// The other party: an organisation when --party-code is an 8-digit registry code, else a person.
    #[arg(long)]
    pub party: Option<String>,
    #[arg(long)]
    pub party_code: Option<String>,
    #[arg(long)]
    pub party_email: Option<String>,
    /// The other party's own reference number.
    #[arg(long)]
    pub their_ref: Option<String>,
    #[arg(long)]
    pub their_date: Option<String>,
    /// Registration number this document continues (makes it `{parent}-{n}`).
    #[arg(long, value_name = "REG_NO")]
    pub reply_to: Option<String>,
    /// With --reply-to: final, interim, forwarding, clarification or refusal.
    /// Only final, forwarding and refusal end the answered document's deadline;
    /// clarification stops it until the answer arrives; without it nothing ends.
    #[arg(long, value_name = "KIND", requires = "reply_to")]
    pub reply_kind: Option<crate::model::ReplyKind>,
    /// Restriction ground, e.g. "AvTS § 35 lg 1 p 12".
    #[arg(long, value_name = "GROUND")]
    pub restrict: Option<String>,
    #[arg(long, value_name = "DATE")]
    pub restrict_until: Option<String>,
    /// How the restriction ends instead of --restrict-until: until the decision,
    /// or by a death or birth year (AvTS § 40 lg 2-3).
    #[command(flatten)]
    pub restrict_end: super::restrictions::EndArgs,
    /// Register it as public on purpose, with this reason (recorded in the audit
    /// event). Without it or --restrict, the register restricts a document of a
    /// series with a default ground, or one with a personal code or a natural person.
    #[arg(long, value_name = "REASON", conflicts_with_all = ["restrict", "restrict_until"])]
    pub public: Option<String>,
    /// The document's own public title (default: the public sees the masked title).
    #[arg(long, value_name = "TITLE")]
    pub public_title: Option<String>,
    #[arg(long, value_name = "DATE")]
    pub received: Option<String>,
    /// Registration date or time (default now); earlier for importing a register's history.
    #[arg(long, value_name = "DATE")]
    pub registered: Option<String>,
    #[arg(long)]
    pub responsible: Option<String>,
    #[arg(long)]
    pub unit: Option<String>,
    #[command(flatten)]
    pub referral: ReferralArgs,
    #[arg(long)]
    pub json: bool,
}

/// A referral letter's terms (`--kind suunamiskiri`): the letter is registered
/// as outgoing to the provider, with the person as a party (so restricted), and
/// gets a referral number that the provider's invoices quote.
#[derive(Debug, Args, Default)]
pub struct ReferralArgs {
    /// The provider's 8-digit registry code.
    #[arg(
        long = "referral-provider",
        id = "referral-provider",
        value_name = "CODE"
    )]
    pub provider: Option<String>,
    /// The provider's name (default: --party).
    #[arg(
        long = "referral-provider-name",
        id = "referral-provider-name",
        value_name = "NAME"
    )]
    pub provider_name: Option<String>,
    #[arg(
        long = "referral-provider-email",
        id = "referral-provider-email",
        value_name = "ADDRESS"
    )]
    pub provider_email: Option<String>,
    /// The person referred.
    #[arg(long = "referral-person", id = "referral-person", value_name = "NAME")]
    pub person: Option<String>,
    /// The person's personal identification code.
    #[arg(
        long = "referral-person-code",
        id = "referral-person-code",
        value_name = "CODE"
    )]
    pub person_code: Option<String>,
    /// The service, e.g. "psühholoogiline nõustamine".
    #[arg(
        long = "referral-service",
        id = "referral-service",
        value_name = "TEXT"
    )]
    pub service: Option<String>,
    /// How many units are referred.
    #[arg(long = "referral-units", id = "referral-units", value_name = "N")]
    pub units: Option<String>,
    /// sessions or hours.
    #[arg(
        long = "referral-unit",
        id = "referral-unit",
        value_name = "UNIT",
        default_value = "sessions"
    )]
    pub unit: String,
    /// The highest price of one unit, in euros.
    #[arg(
        long = "referral-unit-price",
        id = "referral-unit-price",
        value_name = "EUR"
    )]
    pub unit_price: Option<String>,
    /// The highest total over all invoices, in euros.
    #[arg(long = "referral-total", id = "referral-total", value_name = "EUR")]
    pub total: Option<String>,
    /// First day of the referral's validity.
    #[arg(long = "referral-from", id = "referral-from", value_name = "DATE")]
    pub from: Option<String>,
    /// Last day of the referral's validity.
    #[arg(long = "referral-to", id = "referral-to", value_name = "DATE")]
    pub to: Option<String>,
}

impl ReferralArgs {
    fn given(&self) -> bool {
        self.provider.is_some()
            || self.person.is_some()
            || self.service.is_some()
            || self.units.is_some()
            || self.from.is_some()
            || self.to.is_some()
    }

    /// The terms, every flag checked; None when no referral flag is given.
    pub fn terms(&self, party: Option<&str>) -> Result<Option<crate::invoice::NewReferral>, Error> {
        if !self.given() {
            return Ok(None);
        }
        let need = |v: &Option<String>, flag: &str| {
            v.clone().filter(|s| !s.trim().is_empty()).ok_or_else(|| {
                Error::invalid(format!(
                    "suunamisel puudub {flag} (a referral needs {flag})"
                ))
            })
        };
        let dec =
            |v: &Option<String>, flag: &str| -> Result<Option<rust_decimal::Decimal>, Error> {
                v.as_deref()
                    .map(|s| {
                        s.trim().replace(',', ".").parse().map_err(|_| {
                            Error::invalid(format!("invalid {flag} {s:?}: not a number"))
                        })
                    })
                    .transpose()
            };
        let provider_name = self
            .provider_name
            .clone()
            .or_else(|| party.map(str::to_string));
        Ok(Some(crate::invoice::NewReferral {
            provider_code: need(&self.provider, "--referral-provider")?,
            provider_name: need(&provider_name, "--referral-provider-name")?,
            person_name: need(&self.person, "--referral-person")?,
            person_code: self.person_code.clone().filter(|c| !c.trim().is_empty()),
            service: need(&self.service, "--referral-service")?,
            unit: self.unit.parse()?,
            units: dec(
                &Some(need(&self.units, "--referral-units")?),
                "--referral-units",
            )?
            .unwrap_or_default(),
            unit_price_limit: dec(&self.unit_price, "--referral-unit-price")?,
            total_limit: dec(&self.total, "--referral-total")?,
            valid_from: parse_date("referral_from", &need(&self.from, "--referral-from")?)?,
            valid_to: parse_date("referral_to", &need(&self.to, "--referral-to")?)?,
        }))
    }
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    pub reg_no: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SignaturesArgs {
    pub reg_no: String,
    /// Directory of trust-anchor certificates (PEM or DER); without it every
    /// signature is at best indeterminate.
    #[arg(long)]
    pub anchors: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    pub series: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to serve HTTP on, IP:PORT (default: web.listen).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Load the demo register into an empty data directory.
    #[arg(long)]
    pub demo: bool,
    /// Address of the DHX listener (POST /dhx; default: dhx.listen, which
    /// --demo ignores). Callers: dhx.allowed_clients or dhx.tls client certificates.
    #[arg(long)]
    pub dhx_listen: Option<std::net::SocketAddr>,
}

/// The summary of a document that `register` and `list` print (a contract).
#[derive(Debug, Serialize)]
pub struct DocSummary {
    pub reg_no: String,
    pub id: i64,
    pub title: String,
    pub direction: Direction,
    pub series: String,
    pub files: Vec<FileSummary>,
    /// The document kind's id and Estonian name (config/document-kinds.toml).
    pub kind: Option<String>,
    pub kind_name: Option<String>,
}

impl DocSummary {
    /// The summary with the document's kind, named from the loaded kinds.
    pub fn with_kind(d: &Document, kinds: &crate::kinds::Kinds) -> DocSummary {
        let mut s = DocSummary::from(d);
        if let Some(k) = kinds.of(d.kind.as_deref(), d.doc_type.as_deref()) {
            s.kind = Some(k.id.clone());
            s.kind_name = Some(k.et.clone());
        }
        s
    }
}

#[derive(Debug, Serialize)]
pub struct FileSummary {
    pub name: String,
    pub sha256: String,
    pub size: u64,
}

impl From<&Document> for DocSummary {
    fn from(d: &Document) -> Self {
        DocSummary {
            reg_no: d.reg_no.clone(),
            id: d.id,
            title: d.title.clone(),
            direction: d.direction,
            series: d.series.clone(),
            files: d
                .files
                .iter()
                .map(|f| FileSummary {
                    name: f.name.clone(),
                    sha256: f.sha256.clone(),
                    size: f.size,
                })
                .collect(),
            kind: None,
            kind_name: None,
        }
    }
}

pub async fn run(cmd: CoreCommand, cfg: Config) -> anyhow::Result<i32> {
    match cmd {
        CoreCommand::Init(a) => init(cfg, a).await,
        CoreCommand::Register(a) => register(cfg, a).await,
        CoreCommand::Show(a) => show(cfg, a).await,
        CoreCommand::List(a) => list(cfg, a).await,
        CoreCommand::Signatures(a) => signatures(cfg, a).await,
        CoreCommand::Verify(a) => verify(cfg, a).await,
        CoreCommand::Serve(a) => serve(cfg, a).await,
    }
}

async fn open(cfg: Config) -> anyhow::Result<App> {
    let url = cfg.database_url();
    App::open(cfg)
        .await
        .with_context(|| format!("cannot open the register at {}", redact(&url)))
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

async fn init(cfg: Config, a: InitArgs) -> anyhow::Result<i32> {
    let app = open(cfg).await?;
    crate::ingest::init_dirs(&app.config)?;
    let url = redact(&app.config.database_url());
    if a.json {
        print_json(&serde_json::json!({"data_dir": app.config.data_dir, "database": url}))?;
    } else {
        println!(
            "initialised {} (database {url})",
            app.config.data_dir.display()
        );
    }
    Ok(EXIT_OK)
}

/// Parses `--registered`: a date (taken at noon local time) or an RFC 3339 time.
fn parse_registered(s: &str, tz: &jiff::tz::TimeZone) -> Result<jiff::Timestamp, Error> {
    let ts = if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        ts
    } else {
        let d = parse_date("registered", s)?;
        d.at(12, 0, 0, 0)
            .to_zoned(tz.clone())
            .map_err(|e| Error::invalid(format!("invalid --registered {s:?}: {e}")))?
            .timestamp()
    };
    if ts > jiff::Timestamp::now() + jiff::SignedDuration::from_mins(5) {
        return Err(Error::invalid(format!(
            "invalid --registered {s:?}: it is in the future"
        )));
    }
    Ok(ts)
}

/// Builds the documents `register` would write, validating every flag first.
pub fn build_new_documents(cfg: &Config, a: &RegisterArgs) -> Result<Vec<NewDocument>, Error> {
    let direction: Direction = a.direction.parse().map_err(|_| {
        Error::invalid(format!(
            "invalid --direction {:?}: expected incoming, outgoing or internal",
            a.direction
        ))
    })?;
    let channel: Channel = match &a.channel {
        Some(c) => c.parse()?,
        None if direction == Direction::Incoming => Channel::Post,
        None => Channel::Email,
    };
    let received = a
        .received
        .as_deref()
        .map(|s| parse_date("received", s))
        .transpose()?;
    let their_date = a
        .their_date
        .as_deref()
        .map(|s| parse_date("their_date", s))
        .transpose()?;
    let registered_at = a
        .registered
        .as_deref()
        .map(|s| parse_registered(s, &cfg.timezone()))
        .transpose()?;
    let end_by = a.restrict_end.end_by();
    let restriction = match (&a.restrict, &a.restrict_until) {
        (None, None) if end_by != crate::restriction::EndBy::Date => {
            return Err(Error::invalid(
                "invalid --until-decision/--death-year/--birth-year: they need a ground (--restrict GROUND)",
            ))
        }
        (None, None) => None,
        (Some(g), None) if end_by != crate::restriction::EndBy::Date => {
            if g.trim().is_empty() {
                return Err(Error::invalid("invalid --restrict: the ground is empty"));
            }
            Some(NewRestriction {
                end_by,
                ground: g.clone(),
                // Computed by the register from the death or birth year; for
                // --until-decision, the legal term is the backstop.
                ends: crate::model::MAX_DATE,
                holder: None,
                begins: None,
            })
        }
        (Some(g), Some(u)) => {
            if g.trim().is_empty() {
                return Err(Error::invalid("invalid --restrict: the ground is empty"));
            }
            Some(NewRestriction {
                end_by,
                ground: g.clone(),
                ends: parse_date("restrict_until", u)?,
                holder: None,
                begins: None,
            })
        }
        (Some(_), None) => {
            return Err(Error::invalid(
                "invalid --restrict: a restriction needs an end date (--restrict-until DATE)",
            ))
        }
        (None, Some(_)) => {
            return Err(Error::invalid(
                "invalid --restrict-until: a restriction needs a ground (--restrict GROUND)",
            ))
        }
    };
    if a.public.as_deref().is_some_and(|r| r.trim().is_empty()) {
        return Err(Error::invalid(
            "invalid --public: the reason is empty (a document registered as public needs a reason)",
        ));
    }
    let role = if direction == Direction::Incoming {
        PartyRole::Sender
    } else {
        PartyRole::Recipient
    };
    let party = match &a.party {
        Some(name) => {
            let mut p = Party::from_name_and_code(name, a.party_code.as_deref(), role)?;
            p.email = a.party_email.clone();
            Some(p)
        }
        None if a.party_code.is_some() => {
            return Err(Error::invalid(
                "invalid --party-code: it needs --party NAME",
            ))
        }
        None => None,
    };
    let referral = a.referral.terms(a.party.as_deref())?;
    if let Some(r) = &referral {
        r.validate()?;
        if a.kind
            .as_deref()
            .is_some_and(|k| k != crate::invoice::ledger::REFERRAL_KIND)
        {
            return Err(Error::invalid(
                "invalid --kind: a referral (--referral-*) is of kind suunamiskiri",
            ));
        }
        if direction != Direction::Outgoing {
            return Err(Error::invalid(
                "invalid --direction: a referral letter is outgoing (--direction outgoing)",
            ));
        }
    } else if a.kind.as_deref() == Some(crate::invoice::ledger::REFERRAL_KIND) {
        return Err(Error::invalid(
            "suunamiskirjal puuduvad suunamise andmed: --referral-provider, --referral-person, --referral-service, --referral-units, --referral-from, --referral-to (a referral letter needs its terms)",
        ));
    }
    let mut out = Vec::new();
    for path in &a.files {
        if path.is_dir() {
            return Err(Error::invalid(format!(
                "invalid file {}: it is a directory",
                path.display()
            )));
        }
        let bytes = std::fs::read(path)
            .map_err(|e| Error::invalid(format!("cannot read file {}: {}", path.display(), e)))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let title = a.title.clone().unwrap_or_else(|| name.clone());
        let mut new = NewDocument::new(direction, channel, title);
        new.series = a.series.clone();
        new.doc_type = a.doc_type.clone();
        new.kind = a.kind.clone();
        new.parties = party.iter().cloned().collect();
        new.their_ref = a.their_ref.clone();
        new.their_date = their_date;
        new.reply_to = a.reply_to.clone();
        new.reply_kind = a.reply_kind;
        new.received = received;
        new.registered_at = registered_at;
        new.responsible = a.responsible.clone();
        new.unit = a.unit.clone();
        new.restriction = restriction.clone();
        new.public_reason = a.public.clone();
        new.public_title = a.public_title.clone();
        if let Some(r) = &referral {
            new.kind = Some(crate::invoice::ledger::REFERRAL_KIND.into());
            // The provider (recipient) and the person referred, whose name
            // restricts the letter (personal_data::classify).
            new.parties.retain(|p| {
                p.code.as_deref() != Some(r.provider_code.trim())
                    && p.name.trim() != r.provider_name.trim()
            });
            new.parties.insert(
                0,
                Party {
                    kind: crate::model::PartyKind::Organisation,
                    role: PartyRole::Recipient,
                    name: r.provider_name.trim().to_string(),
                    code: Some(r.provider_code.trim().to_string()),
                    email: a.referral.provider_email.clone().or(a.party_email.clone()),
                },
            );
            let mut person = Party::from_name_and_code(
                &r.person_name,
                r.person_code.as_deref(),
                PartyRole::Recipient,
            )?;
            person.kind = crate::model::PartyKind::Person;
            new.parties.push(person);
            new.referral = Some(r.clone());
        }
        let media_type = crate::mime::media_type_of(&name, &bytes).into_owned();
        let mut file = NewFile::new(name, media_type, bytes);
        if file.media_type == "text/plain" {
            if let Ok(t) = std::str::from_utf8(&file.bytes) {
                file.text = Some(t.to_string());
                file.text_status = TextStatus::Extracted;
            }
        }
        new.files.push(file);
        out.push(new);
    }
    Ok(out)
}

/// True when `register` is handed e-mail messages alone, with nothing set by
/// hand: they are registered as `import` registers them (headers, thread,
/// attachments, duplicates, quarantine).
fn is_mail_registration(a: &RegisterArgs) -> bool {
    !a.files.is_empty()
        && a.files
            .iter()
            .all(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("eml")))
        && a.title.is_none()
        && a.party.is_none()
        && a.reply_to.is_none()
        && a.restrict.is_none()
        && a.public.is_none()
        && a.public_title.is_none()
        && a.doc_type.is_none()
        && a.kind.is_none()
        && a.series.is_none()
}

async fn register_mail(cfg: Config, a: RegisterArgs) -> anyhow::Result<i32> {
    let app = open(cfg).await?;
    let opts = crate::ingest::ImportOptions::default();
    let mut docs = Vec::new();
    let mut failed = Vec::new();
    for path in &a.files {
        let item = crate::ingest::register_path(&app, path, &opts).await?;
        match (&item.reg_no, item.status.as_str()) {
            (Some(r), "registered" | "duplicate") => {
                docs.push(app.register.get_by_reg_no(r).await?)
            }
            _ => failed.push(format!(
                "message {} was {}: {}",
                path.display(),
                item.status,
                item.reason.as_deref().unwrap_or("no reason given")
            )),
        }
    }
    if a.json {
        let kinds = &app.register.vocab().kinds;
        let out: Vec<DocSummary> = docs
            .iter()
            .map(|d| DocSummary::with_kind(d, kinds))
            .collect();
        print_json(&out)?;
    } else {
        for d in &docs {
            println!("{}\t{}", d.reg_no, d.title);
        }
    }
    if !failed.is_empty() {
        anyhow::bail!("{}", failed.join("; "));
    }
    Ok(EXIT_OK)
}

async fn register(cfg: Config, a: RegisterArgs) -> anyhow::Result<i32> {
    if is_mail_registration(&a) {
        return register_mail(cfg, a).await;
    }
    // Validate the flags and read the files before touching the database.
    let news = build_new_documents(&cfg, &a)?;
    let app = open(cfg).await?;
    let docs = app.register.register_batch(news, &actor()).await?;
    if a.json {
        let kinds = &app.register.vocab().kinds;
        let out: Vec<DocSummary> = docs
            .iter()
            .map(|d| DocSummary::with_kind(d, kinds))
            .collect();
        print_json(&out)?;
    } else {
        for d in &docs {
            println!("{}\t{}", d.reg_no, d.title);
        }
    }
    Ok(EXIT_OK)
}

/// Who is acting at the command line.
pub fn actor() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

async fn signatures(cfg: Config, a: SignaturesArgs) -> anyhow::Result<i32> {
    use crate::signature::{self, TrustStore};
    let app = open(cfg).await?;
    let doc = app.register.get_by_reg_no(&a.reg_no).await?;
    let trust = match &a.anchors {
        Some(d) => TrustStore::from_dir(d)
            .with_context(|| format!("usaldusankrute kataloogi {} ei saa lugeda", d.display()))?,
        None => app.config.signatures.trust_store()?,
    };
    let trust = std::sync::Arc::new(trust);
    let mut rows = Vec::new();
    for f in &doc.files {
        if !signature::is_container(&f.name, &f.media_type) {
            continue;
        }
        let bytes = app.register.file_bytes(&f.sha256).await?;
        let (name, t) = (f.name.clone(), trust.clone());
        let r = crate::extract::isolated(
            "signature verification",
            std::time::Duration::from_secs(300),
            move || signature::verify(&name, &bytes, &t),
        )
        .await?;
        rows.extend(signature::rows(&f.name, "", &r));
    }
    if a.json {
        print_json(&rows)?;
        return Ok(EXIT_OK);
    }
    if rows.is_empty() {
        println!("{}: allkirjastatud konteinereid ei ole", doc.reg_no);
    }
    let tz = jiff::tz::TimeZone::get("Europe/Tallinn")?;
    for r in &rows {
        let at = r
            .signed_at
            .map(|t| {
                t.to_zoned(tz.clone())
                    .strftime("%d.%m.%Y %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_else(|| "-".into());
        println!(
            "{}{}  {}  {}  {}  {}",
            r.file,
            if r.container.is_empty() {
                String::new()
            } else {
                format!(" / {}", r.container)
            },
            r.format,
            r.signer.as_deref().unwrap_or("-"),
            at,
            r.status.estonian()
        );
        for reason in &r.reasons {
            println!("    {}: {}", reason.code, reason.message);
        }
    }
    Ok(EXIT_OK)
}

async fn show(cfg: Config, a: ShowArgs) -> anyhow::Result<i32> {
    let app = open(cfg).await?;
    let doc = app.register.get_by_reg_no(&a.reg_no).await?;
    let events = app.register.events(doc.id).await?;
    let outbox = crate::outbox::for_document(&app.store, doc.id).await?;
    let thread = app.register.thread(doc.thread_id).await?;
    if a.json {
        let mut v = serde_json::to_value(&doc)?;
        v["access"] = serde_json::to_value(doc.access())?;
        v["events"] = serde_json::to_value(&events)?;
        v["outbox"] = serde_json::to_value(&outbox)?;
        v["thread"] = serde_json::to_value(thread.iter().map(|d| &d.reg_no).collect::<Vec<_>>())?;
        if let Some(k) = app
            .register
            .vocab()
            .kinds
            .of(doc.kind.as_deref(), doc.doc_type.as_deref())
        {
            v["kind"] = serde_json::json!(k.id);
            v["kind_name"] = serde_json::json!(k.et);
        }
        print_json(&v)?;
        return Ok(EXIT_OK);
    }
    println!("{}  {}", doc.reg_no, doc.title);
    println!(
        "  direction   {} ({})",
        doc.direction.as_str(),
        doc.channel.as_str()
    );
    println!("  series      {}", doc.series);
    if let Some(k) = app
        .register
        .vocab()
        .kinds
        .of(doc.kind.as_deref(), doc.doc_type.as_deref())
    {
        println!("  liik        {}", k.et);
    }
    if let Some(t) = &doc.doc_type {
        println!("  type        {t}");
    }
    for p in &doc.parties {
        println!(
            "  party       {} {:?}{}",
            p.name,
            p.kind,
            p.code
                .as_ref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        );
    }
    if let Some(t) = &doc.public_title {
        println!("  public title {t}");
    }
    if let Some(r) = &doc.their_ref {
        println!("  their ref   {r}");
    }
    if let Some(d) = doc.received {
        println!("  received    {d}");
    }
    println!("  registered  {} ({})", doc.registered, doc.registered_at);
    if let Some(t) = doc.received_at {
        println!("  arrived     {t}");
    }
    if let Some(k) = doc.reply_kind {
        println!("  reply kind  {} ({})", k.label_et(), k.as_str());
    }
    // The registration-lateness line (AvTS § 12(1)): from the arrival date.
    let eng = crate::deadline::state::Engine::from_app(&app)?;
    let x = crate::deadline::state::explain_reg_no(&app, &eng, &doc.reg_no).await?;
    println!("  {}", super::deadline::registration_line(&x));
    match &doc.restriction {
        Some(r) => println!(
            "  access      AK — ASUTUSESISESEKS KASUTAMISEKS; ground {}; holder {}; {} … {}; marked {}",
            r.ground, r.holder, r.begins, r.ends, r.marked
        ),
        None => println!("  access      Avalik"),
    }
    if doc.needs_review {
        println!("  review      ootab asjaajaja kinnitust (unclassified)");
    }
    if let Some(r) = &doc.responsible {
        println!("  responsible {r}");
    }
    if thread.len() > 1 {
        println!(
            "  thread      {}",
            thread
                .iter()
                .map(|d| d.reg_no.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for f in &doc.files {
        println!(
            "  file        {} ({}, {} bytes, sha256 {})",
            f.name, f.media_type, f.size, f.sha256
        );
    }
    for o in &outbox {
        println!(
            "  outbox      {} to {}: {}{}",
            o.channel,
            o.recipient,
            o.state,
            o.last_error
                .as_ref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        );
    }
    println!("  audit:");
    for e in &events {
        println!(
            "    #{} {} {} by {} {}",
            e.seq, e.at, e.kind, e.actor, e.detail
        );
    }
    Ok(EXIT_OK)
}

async fn list(cfg: Config, a: ListArgs) -> anyhow::Result<i32> {
    let app = open(cfg).await?;
    if let Some(s) = &a.series {
        app.series.resolve(Some(s))?;
    }
    let docs = app
        .register
        .list(&ListFilter {
            series: a.series.clone(),
            ..Default::default()
        })
        .await?;
    if a.json {
        let kinds = &app.register.vocab().kinds;
        let out: Vec<DocSummary> = docs
            .iter()
            .map(|d| DocSummary::with_kind(d, kinds))
            .collect();
        print_json(&out)?;
    } else {
        for d in &docs {
            let ak = if d.restriction.is_some() { "AK" } else { "  " };
            println!(
                "{}\t{}\t{}\t{}\t{}",
                d.reg_no,
                d.registered,
                d.direction.as_str(),
                ak,
                d.title
            );
        }
    }
    Ok(EXIT_OK)
}

async fn verify(cfg: Config, a: VerifyArgs) -> anyhow::Result<i32> {
    let app = open(cfg).await?;
    let mut report = crate::audit::verify(&app.register).await?;
    // The search indexes are projections: report documents missing from them or
    // present there but absent from the database.
    match crate::search::verify(&app).await {
        Ok(s) => {
            for id in &s.missing {
                report
                    .problems
                    .push(format!("document {id} is missing from the search index"));
            }
            for id in &s.orphaned {
                report.problems.push(format!(
                    "document {id} is in the search index but not in the database"
                ));
            }
            report.ok = report.problems.is_empty();
        }
        Err(e) => tracing::warn!("search index not verified: {e}"),
    }
    if a.json {
        print_json(&report)?;
    } else if report.ok {
        println!(
            "ok: {} events, {} documents, {} files verified",
            report.events, report.documents, report.files
        );
    } else {
        for p in &report.problems {
            println!("{p}");
        }
        if let Some(e) = report.first_broken_event {
            println!("first broken event: {e}");
        }
    }
    Ok(if report.ok { EXIT_OK } else { EXIT_VERIFY })
}

async fn serve(cfg: Config, a: ServeArgs) -> anyhow::Result<i32> {
    // The configuration was validated as it was loaded (`Config::load`); what
    // the flags add is checked here, before anything binds or starts.
    let listen = a.listen.unwrap_or(cfg.web.listen);
    // The DHX endpoint has its own listener; the demo ignores dhx.listen (only
    // an explicit --dhx-listen opens it there).
    let dhx_listen = a.dhx_listen.or(if a.demo { None } else { cfg.dhx.listen });
    if dhx_listen.is_some() {
        cfg.dhx.validate_listener()?;
    }
    let app = open(cfg).await?;
    // `--demo` loads the demo register into an empty data directory; a data
    // directory that already holds a register is served as it is.
    let demo = if a.demo {
        match crate::web::load_demo(&app).await {
            Ok(d) => Some(d),
            Err(Error::Conflict(why)) => {
                eprintln!("docgate: demo not loaded: {why}; serving the register as it is");
                None
            }
            Err(e) => return Err(anyhow::Error::new(e).context("cannot load the demo register")),
        }
    } else {
        None
    };
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let dhx = match dhx_listen {
        Some(d) => {
            let l = tokio::net::TcpListener::bind(d)
                .await
                .with_context(|| format!("cannot listen on {d} (dhx.listen)"))?;
            eprintln!(
                "docgate: DHX endpoint {}://{}/dhx",
                if app.config.dhx.tls.is_some() {
                    "https"
                } else {
                    "http"
                },
                l.local_addr()?
            );
            Some(l)
        }
        None => None,
    };
    eprintln!(
        "docgate: serving http://{addr}/ (data {})",
        app.config.data_dir.display()
    );
    if let Some(d) = &demo {
        println!("{}", d.describe(&format!("http://{addr}/")));
    }
    let shutdown = tokio_util::sync::CancellationToken::new();
    let sd = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        sd.cancel();
    });
    crate::serve::serve_with(
        app,
        crate::serve::Listeners {
            web: Some(listener),
            dhx,
        },
        shutdown,
    )
    .await?;
    Ok(EXIT_OK)
}

/// Waits for SIGTERM or Ctrl-C.
pub async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

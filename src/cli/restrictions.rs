//! `docgate restrictions …`: access restrictions (AvTS §§ 35-42) at the
//! command line: set, extend (the lead, with a decision), lift, and the list of
//! restrictions about to expire.

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::app::App;
use crate::config::Config;
use crate::error::Error;
use crate::model::{parse_date, Document, NewRestriction};
use crate::restriction::EndBy;
use crate::web::Role;

use super::{print_json, EXIT_OK};

#[derive(Debug, Subcommand)]
pub enum RestrictionsCommand {
    /// Restrictions ending within N days (soonest first).
    Expiring(ExpiringArgs),
    /// Restrict a document (a ground of config/restriction-grounds.toml).
    Set(SetArgs),
    /// Extend a restriction by up to 5 years (AvTS § 40 lg 1): the lead, with a decision.
    Extend(ExtendArgs),
    /// Lift a restriction (AvTS § 42), with a reason.
    Lift(LiftArgs),
}

#[derive(Debug, Args)]
pub struct ExpiringArgs {
    /// How many days ahead (0-36600).
    #[arg(long, value_name = "N")]
    pub within_days: u32,
    #[arg(long)]
    pub json: bool,
}

/// How a restriction set at the command line ends.
#[derive(Debug, Args, Clone)]
pub struct EndArgs {
    /// The end date (default: the legal term of AvTS § 40 from the receipt date).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Until the decision in the document's case is registered (AvTS § 40 lg 2).
    #[arg(long, conflicts_with_all = ["death_year", "birth_year"])]
    pub until_decision: bool,
    /// 30 years after the person's death (AvTS § 40 lg 3).
    #[arg(long, value_name = "YEAR", conflicts_with_all = ["until", "birth_year"])]
    pub death_year: Option<i16>,
    /// 110 years from the person's birth, the death not known (AvTS § 40 lg 3).
    #[arg(long, value_name = "YEAR", conflicts_with = "until")]
    pub birth_year: Option<i16>,
}

impl EndArgs {
    pub fn end_by(&self) -> EndBy {
        match (self.until_decision, self.death_year, self.birth_year) {
            (true, _, _) => EndBy::UntilDecision,
            (_, Some(y), _) => EndBy::DeathYear(y),
            (_, _, Some(y)) => EndBy::BirthYear(y),
            _ => EndBy::Date,
        }
    }
}

#[derive(Debug, Args)]
pub struct SetArgs {
    pub reg_no: String,
    /// The ground, e.g. "AvTS § 35 lg 1 p 12".
    #[arg(long, value_name = "GROUND")]
    pub ground: String,
    #[command(flatten)]
    pub end: EndArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExtendArgs {
    pub reg_no: String,
    /// The new end date (at most 5 years after the current one).
    #[arg(long, value_name = "DATE")]
    pub until: String,
    /// The reference of the head's (lead's) decision.
    #[arg(long, value_name = "REF")]
    pub decision: String,
    #[arg(long)]
    pub reason: String,
    /// Who extends: a user of the web users table with the lead's role
    /// (default: the CLI user `cli:$USER`).
    #[arg(long, value_name = "NAME")]
    pub actor: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LiftArgs {
    pub reg_no: String,
    #[arg(long)]
    pub reason: String,
    #[arg(long)]
    pub json: bool,
}

/// One line of `restrictions expiring` (a contract).
#[derive(Debug, Serialize, PartialEq)]
pub struct Expiring {
    pub reg_no: String,
    pub title: String,
    pub ground: String,
    pub ends: jiff::civil::Date,
    pub days_left: i64,
    pub responsible: Option<String>,
}

/// The expiring list as the CLI and the dashboard show it.
pub fn expiring_rows(docs: &[Document], today: jiff::civil::Date) -> Vec<Expiring> {
    docs.iter()
        .filter_map(|d| {
            let r = d.restriction.as_ref()?;
            Some(Expiring {
                reg_no: d.reg_no.clone(),
                title: d.title.clone(),
                ground: r.ground.clone(),
                ends: r.ends,
                days_left: (r.ends - today).get_days().into(),
                responsible: d.responsible.clone(),
            })
        })
        .collect()
}

pub async fn run(cmd: RestrictionsCommand, cfg: Config) -> anyhow::Result<i32> {
    let app = App::open(cfg).await?;
    match cmd {
        RestrictionsCommand::Expiring(a) => {
            let today = app.register.today();
            let docs = app.register.expiring(today, a.within_days, 10_000).await?;
            let rows = expiring_rows(&docs, today);
            if a.json {
                print_json(&rows)?;
            } else if rows.is_empty() {
                println!(
                    "{} päeva jooksul ei lõpe ühtki juurdepääsupiirangut",
                    a.within_days
                );
            } else {
                println!("Reg. nr\tLõpeb\tPäevi\tAlus\tVastutaja\tPealkiri");
                for r in &rows {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        r.reg_no,
                        r.ends.strftime("%d.%m.%Y"),
                        r.days_left,
                        r.ground,
                        r.responsible.as_deref().unwrap_or("–"),
                        r.title
                    );
                }
            }
        }
        RestrictionsCommand::Set(a) => {
            let doc = app.register.get_by_reg_no(&a.reg_no).await?;
            let end_by = a.end.end_by();
            let ends = match &a.end.until {
                Some(u) => parse_date("until", u)?,
                None => default_end(&app, &doc, &a.ground, end_by)?,
            };
            let r = NewRestriction {
                ground: a.ground.clone(),
                ends,
                holder: None,
                begins: None,
                end_by,
            };
            let d = app
                .register
                .restrict(doc.id, r, &super::core::actor())
                .await?;
            print_restriction(&d, a.json)?;
        }
        RestrictionsCommand::Extend(a) => {
            let doc = app.register.get_by_reg_no(&a.reg_no).await?;
            let actor = a.actor.clone().unwrap_or_else(super::core::actor);
            let role = actor_role(&app, &actor).await?;
            let ext = crate::register::Extension {
                new_end: parse_date("until", &a.until)?,
                decision: a.decision.clone(),
                reason: a.reason.clone(),
                role,
            };
            let d = app
                .register
                .extend_restriction(doc.id, &ext, &actor)
                .await?;
            print_restriction(&d, a.json)?;
        }
        RestrictionsCommand::Lift(a) => {
            let doc = app.register.get_by_reg_no(&a.reg_no).await?;
            let d = app
                .register
                .lift_restriction(doc.id, &a.reason, &super::core::actor())
                .await?;
            print_restriction(&d, a.json)?;
        }
    }
    Ok(EXIT_OK)
}

/// The legal end for a restriction set without `--until` (the register checks it again).
fn default_end(
    app: &App,
    doc: &Document,
    ground: &str,
    end_by: EndBy,
) -> Result<jiff::civil::Date, Error> {
    let g = app.register.vocab().grounds.require("ground", ground)?;
    let personal = doc.contains_personal_data
        || crate::personal_data::has_person_party(&doc.parties)
        || app.series.get(&doc.series).is_some_and(|s| s.personal_data);
    let from = doc.received.unwrap_or(doc.registered);
    Ok(crate::restriction::term(g, personal, from, end_by, None)?.ends)
}

/// The role of the CLI actor: from the users table when it has users (the
/// actor must be one of them, not disabled); with no users at all, the
/// operator of the command line acts as the head of the agency.
/// The acting user (`--actor`, else the login) and their role, refused unless
/// the role is one of `allowed`.
pub(super) async fn authorise(
    app: &App,
    actor: Option<String>,
    allowed: &[Role],
    what: &str,
) -> Result<(String, Role), Error> {
    let actor = actor.unwrap_or_else(super::core::actor);
    let role = actor_role(app, &actor).await?;
    crate::lifecycle::disposal::require_role(role, allowed, what)?;
    Ok((actor, role))
}

pub async fn actor_role(app: &App, actor: &str) -> Result<Role, Error> {
    if crate::web::auth::count_users(&app.store).await? == 0 {
        return Ok(Role::Lead);
    }
    match crate::web::auth::find_user(&app.store, actor).await? {
        Some(u) if !u.disabled => Ok(u.role),
        Some(_) => Err(Error::Forbidden(format!(
            "kasutaja {actor} on keelatud (the user is disabled)"
        ))),
        None => Err(Error::Forbidden(format!(
            "tundmatu kasutaja {actor} (--actor): pikendada saab ainult juht (unknown user: only the lead may extend)"
        ))),
    }
}

fn print_restriction(d: &Document, json: bool) -> anyhow::Result<()> {
    if json {
        print_json(&serde_json::json!({"reg_no": d.reg_no, "restriction": d.restriction}))?;
    } else {
        match &d.restriction {
            Some(r) => println!(
                "{}\tAK\t{}\tkuni {}{}",
                d.reg_no,
                r.ground,
                r.ends.strftime("%d.%m.%Y"),
                if r.until_decision.is_some() {
                    " (või otsuse vastuvõtmiseni)"
                } else {
                    ""
                }
            ),
            None => println!("{}\tavalik", d.reg_no),
        }
    }
    Ok(())
}

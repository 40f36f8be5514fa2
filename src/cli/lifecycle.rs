//! `docgate file-unit|retention|disposal|hold …`: the records lifecycle at the
//! command line (src/lifecycle). Roles are checked as `restrictions extend`
//! checks them: `--actor` in the users table (with no users at all, the
//! command line acts as the head).

use clap::Subcommand;

use crate::app::App;
use crate::config::Config;
use crate::lifecycle::file_unit::NewCaseFile;
use crate::lifecycle::{DisposalList, Scope};
use crate::model::parse_date;

use super::restrictions::actor_role;
use super::{print_json, EXIT_OK};

#[derive(Debug, Subcommand)]
pub enum LifecycleCommand {
    /// File units (toimikud): list, show, open a case file, close, move a document.
    #[command(subcommand, name = "file-unit")]
    FileUnit(FileUnitCommand),
    /// Retention (säilitustähtajad): the file units whose period has ended.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Disposal (hävitamine): propose a list, show, approve (the destruction act), list.
    #[command(subcommand)]
    Disposal(DisposalCommand),
    /// Legal holds: a document, thread, file unit or person is never destroyed while held.
    #[command(subcommand)]
    Hold(HoldCommand),
}

#[derive(Debug, Subcommand)]
pub enum FileUnitCommand {
    /// Every file unit (or a series').
    List {
        #[arg(long)]
        series: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A file unit and its documents (held or destroyed).
    Show {
        code: String,
        #[arg(long)]
        json: bool,
    },
    /// Open a case file in a series (`{series}/{year}-{n}`).
    Open {
        #[arg(long)]
        series: String,
        #[arg(long)]
        title: String,
        /// The file unit's own access restriction ground (with --ground-until).
        #[arg(long, requires = "ground_until")]
        ground: Option<String>,
        #[arg(long, value_name = "DATE")]
        ground_until: Option<String>,
        /// The file unit's own retention period in years (default: the series').
        #[arg(long, value_name = "N")]
        retention_years: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// Close a file unit.
    Close {
        code: String,
        #[arg(long)]
        json: bool,
    },
    /// Move a document into another open file unit of its series.
    Move {
        reg_no: String,
        #[arg(long, value_name = "CODE")]
        to: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// File units whose retention period has ended, by series, with the trigger that started each.
    Due {
        /// The day to judge on (default today).
        #[arg(long, value_name = "DATE")]
        as_of: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DisposalCommand {
    /// Propose a disposal list: every unit due for destruction, not held (clerk or lead).
    Propose {
        #[arg(long, value_name = "DATE")]
        as_of: Option<String>,
        /// Who proposes: a user of the users table (default `cli:$USER`).
        #[arg(long, value_name = "NAME")]
        actor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A disposal list with its documents.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Approve a list (the lead): registers the destruction act and destroys the documents.
    Approve {
        id: i64,
        #[arg(long, value_name = "NAME")]
        actor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Every disposal list.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum HoldCommand {
    /// Put a scope on hold: document:REG_NO, thread:REG_NO, file-unit:CODE or person:PERSONAL_CODE.
    Add {
        scope: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// Lift the holds of a scope.
    Remove {
        scope: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// Active holds (--all: lifted ones too).
    List {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
}

fn as_of(app: &App, a: &Option<String>) -> anyhow::Result<jiff::civil::Date> {
    Ok(match a {
        Some(d) => parse_date("as_of", d)?,
        None => app.register.today(),
    })
}

pub async fn run(cmd: LifecycleCommand, cfg: Config) -> anyhow::Result<i32> {
    let app = App::open(cfg).await?;
    let reg = &app.register;
    match cmd {
        LifecycleCommand::FileUnit(c) => match c {
            FileUnitCommand::List { series, json } => {
                let units = reg.file_units(series.as_deref()).await?;
                if json {
                    print_json(&units)?;
                } else {
                    println!("Toimik\tSari\tAvatud\tSuletud\tPealkiri");
                    for u in &units {
                        println!(
                            "{}\t{}\t{}\t{}\t{}",
                            u.code,
                            u.series,
                            u.opened,
                            u.closed
                                .map(|d| d.to_string())
                                .unwrap_or_else(|| "–".into()),
                            u.title
                        );
                    }
                }
            }
            FileUnitCommand::Show { code, json } => {
                let unit = reg.file_unit(&code).await?;
                let mut docs = Vec::new();
                for id in reg.file_unit_documents(unit.id).await? {
                    let d = reg.get(id).await?;
                    docs.push(serde_json::json!({
                        "reg_no": d.reg_no, "registered": d.registered, "title": d.title,
                        "held": reg.holds_on(id).await?,
                        "destroyed_by": reg.destroyed_by(id).await?,
                    }));
                }
                if json {
                    print_json(&serde_json::json!({"file_unit": unit, "documents": docs}))?;
                } else {
                    println!("{}\t{}\t{}", unit.code, unit.series, unit.title);
                    for d in &docs {
                        let mut note = String::new();
                        if let Some(a) = d["destroyed_by"].as_str() {
                            note = format!("\thävitatud {a}");
                        } else if let Some(h) = d["held"].as_array().filter(|h| !h.is_empty()) {
                            note = format!(
                                "\tpeatatud: {}",
                                h.iter()
                                    .filter_map(|x| x.as_str())
                                    .collect::<Vec<_>>()
                                    .join("; ")
                            );
                        }
                        println!(
                            "{}\t{}\t{}{note}",
                            d["reg_no"].as_str().unwrap_or_default(),
                            d["registered"].as_str().unwrap_or_default(),
                            d["title"].as_str().unwrap_or_default()
                        );
                    }
                }
            }
            FileUnitCommand::Open {
                series,
                title,
                ground,
                ground_until,
                retention_years,
                json,
            } => {
                let new = NewCaseFile {
                    series,
                    title,
                    ground,
                    ground_until: ground_until
                        .map(|d| parse_date("ground_until", &d))
                        .transpose()?,
                    retention_years,
                };
                let u = reg.open_case_file(&new, &super::core::actor()).await?;
                if json {
                    print_json(&u)?;
                } else {
                    println!("{}\tavatud (opened)\t{}", u.code, u.title);
                }
            }
            FileUnitCommand::Close { code, json } => {
                let u = reg.close_file_unit(&code, &super::core::actor()).await?;
                if json {
                    print_json(&u)?;
                } else {
                    println!(
                        "{}\tsuletud (closed)\t{}",
                        u.code,
                        u.closed.unwrap_or_default()
                    );
                }
            }
            FileUnitCommand::Move {
                reg_no,
                to,
                reason,
                json,
            } => {
                let u = reg
                    .move_to_file_unit(&reg_no, &to, &reason, &super::core::actor())
                    .await?;
                if json {
                    print_json(&serde_json::json!({"reg_no": reg_no, "file_unit": u.code}))?;
                } else {
                    println!("{reg_no}\t→ {}", u.code);
                }
            }
        },
        LifecycleCommand::Retention(RetentionCommand::Due { as_of: d, json }) => {
            let day = as_of(&app, &d)?;
            let due = reg.retention_due(day).await?;
            if json {
                // Grouped by series.
                let mut groups: Vec<serde_json::Value> = Vec::new();
                for u in &due {
                    if groups.last().and_then(|g| g["series"].as_str()) != Some(u.series.as_str()) {
                        groups.push(serde_json::json!({"series": u.series, "title": u.series_title, "file_units": []}));
                    }
                    if let Some(list) = groups
                        .last_mut()
                        .and_then(|g| g["file_units"].as_array_mut())
                    {
                        list.push(serde_json::to_value(u)?);
                    }
                }
                print_json(&serde_json::json!({"as_of": day, "series": groups}))?;
            } else if due.is_empty() {
                println!("{day} seisuga pole ühegi toimiku säilitustähtaeg lõppenud (no retention period has ended)");
            } else {
                let mut last = "";
                for u in &due {
                    if u.series != last {
                        println!("{} {}", u.series, u.series_title);
                        last = &u.series;
                    }
                    println!(
                        "  {}\t{}\t{}, algus {} ({}), lõppes {}\t{} dok.{}{}",
                        u.file_unit,
                        u.appraisal.as_str(),
                        u.period,
                        u.started,
                        u.trigger_label,
                        u.ends,
                        u.documents,
                        u.on_list
                            .map(|l| format!("\thävitamisloendis {l}"))
                            .unwrap_or_default(),
                        if u.held.is_empty() {
                            String::new()
                        } else {
                            format!("\tpeatatud: {}", u.held.join("; "))
                        }
                    );
                }
            }
        }
        LifecycleCommand::Disposal(c) => match c {
            DisposalCommand::Propose {
                as_of: d,
                actor,
                json,
            } => {
                let day = as_of(&app, &d)?;
                let actor = actor.unwrap_or_else(super::core::actor);
                let role = actor_role(&app, &actor).await?;
                let list = reg.propose_disposal(day, &actor, role).await?;
                print_list(&list, json)?;
            }
            DisposalCommand::Show { id, json } => {
                print_list(&reg.disposal_list(id).await?, json)?;
            }
            DisposalCommand::Approve { id, actor, json } => {
                let actor = actor.unwrap_or_else(super::core::actor);
                let role = actor_role(&app, &actor).await?;
                let done = reg.approve_disposal(id, &actor, role).await?;
                if json {
                    print_json(&done)?;
                } else {
                    println!(
                        "hävitamisakt {}: hävitatud {} dokumenti, kustutatud {} faili (destroyed documents, deleted files)",
                        done.act, done.destroyed, done.files_deleted
                    );
                    for l in &done.left_out {
                        println!("jäeti välja (left out): {l}");
                    }
                }
            }
            DisposalCommand::List { json } => {
                let lists = reg.disposal_lists().await?;
                if json {
                    print_json(&lists)?;
                } else {
                    println!("Nr\tSeis\tSeisuga\tKoostas\tAkt\tToimikud");
                    for l in &lists {
                        println!(
                            "{}\t{}\t{}\t{}\t{}\t{}",
                            l.id,
                            l.status,
                            l.as_of,
                            l.proposed_by,
                            l.act.as_deref().unwrap_or("–"),
                            l.units
                                .iter()
                                .map(|u| u.file_unit.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                    }
                }
            }
        },
        LifecycleCommand::Hold(c) => match c {
            HoldCommand::Add {
                scope,
                reason,
                json,
            } => {
                let scope = Scope::parse(&scope)?;
                let h = reg.add_hold(&scope, &reason, &super::core::actor()).await?;
                if json {
                    print_json(&h)?;
                } else {
                    println!("{}\tpeatatud (on hold)\t{}", h.scope, h.reason);
                }
            }
            HoldCommand::Remove {
                scope,
                reason,
                json,
            } => {
                let scope = Scope::parse(&scope)?;
                let n = reg
                    .remove_hold(&scope, &reason, &super::core::actor())
                    .await?;
                if json {
                    print_json(&serde_json::json!({"scope": scope.to_string(), "removed": n}))?;
                } else {
                    println!("{scope}\tpeatamine lõpetatud (hold removed): {n}");
                }
            }
            HoldCommand::List { all, json } => {
                let holds = reg.holds(all).await?;
                if json {
                    print_json(&holds)?;
                } else {
                    for h in &holds {
                        println!(
                            "{}\t{}\t{}\t{}{}",
                            h.id,
                            h.scope,
                            h.added_by,
                            h.reason,
                            h.removed_at
                                .as_deref()
                                .map(|r| format!("\tlõpetatud {r}"))
                                .unwrap_or_default()
                        );
                    }
                }
            }
        },
    }
    Ok(EXIT_OK)
}

fn print_list(list: &DisposalList, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(list);
    }
    println!(
        "Hävitamisloend {} ({}), seisuga {}, koostas {}{}",
        list.id,
        list.status,
        list.as_of,
        list.proposed_by,
        list.act
            .as_deref()
            .map(|a| format!(", akt {a}"))
            .unwrap_or_default()
    );
    for u in &list.units {
        println!(
            "  {}\t{}: {} → {}",
            u.file_unit, u.trigger, u.started, u.ends
        );
        for d in &u.documents {
            println!(
                "    {}\t{}\t{}\t{}{}",
                d.reg_no,
                d.registered,
                d.title,
                d.parties.join(", "),
                match (&d.destroyed_by, d.held.is_empty()) {
                    (Some(a), _) => format!("\thävitatud {a}"),
                    (None, false) => format!("\tpeatatud: {}", d.held.join("; ")),
                    _ => String::new(),
                }
            );
        }
    }
    Ok(())
}

//! `docgate transfer export|receipt|list` (archival transfer as an E-ARK SIP)
//! and `docgate subject-export` (a person's data, GDPR Art. 15):
//! src/lifecycle/{transfer,subject}.rs at the command line. Roles are checked
//! as `disposal` checks them (`--actor` in the users table; with no users the
//! command line acts as the head).

use std::path::PathBuf;

use clap::Subcommand;

use crate::app::App;
use crate::config::Config;
use crate::web::Role;

use super::restrictions::authorise;
use super::{print_json, EXIT_OK};

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Archival transfer (üleandmine Rahvusarhiivile): export an E-ARK SIP, register the archive's receipt.
    #[command(subcommand)]
    Transfer(TransferCommand),
    /// Everything held about a person (IKÜM art 15) as one ZIP with an index; the release is audited.
    #[command(name = "subject-export")]
    SubjectExport {
        /// The person's personal identification code (isikukood).
        personal_code: String,
        /// The ZIP file to write.
        #[arg(long, value_name = "FILE.zip")]
        out: PathBuf,
        /// Largest content to put into the ZIP, in MiB.
        #[arg(long, value_name = "MIB", default_value_t = 256)]
        max_mib: u64,
        #[arg(long, value_name = "NAME")]
        actor: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TransferCommand {
    /// Write the E-ARK SIP of a series (9-13) or file unit (9-13/2026) to DIR/<package>/METS.xml.
    /// A scope appraised for transfer is transferred (a handover-acceptance act) unless --copy.
    Export {
        scope: String,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Only a copy (a test package): no act, no transfer.
        #[arg(long)]
        copy: bool,
        #[arg(long, value_name = "NAME")]
        actor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Register the archive's receipt of a transfer: its documents become transferred.
    Receipt {
        package: String,
        /// The archive's reference of the acceptance.
        #[arg(long, value_name = "REF")]
        archive_ref: String,
        #[arg(long, value_name = "NAME")]
        actor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Every transfer.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cmd: ArchiveCommand, cfg: Config) -> anyhow::Result<i32> {
    let app = App::open(cfg).await?;
    let reg = &app.register;
    match cmd {
        ArchiveCommand::Transfer(TransferCommand::Export {
            scope,
            out,
            copy,
            actor,
            json,
        }) => {
            let (actor, _) = authorise(
                &app,
                actor,
                &[Role::Clerk, Role::Lead],
                "arhiivipaketi koostamine (exporting a package)",
            )
            .await?;
            let (series, _) = reg.transfer_scope(&scope).await?;
            let appraised = reg.series().get(&series).map(|s| s.retention.appraisal)
                == Some(crate::lifecycle::Appraisal::Transfer);
            let x = reg
                .export_sip(&scope, &out, appraised && !copy, &actor)
                .await?;
            if json {
                print_json(&x)?;
            } else {
                println!(
                    "{}/METS.xml\t{} dokumenti, {} faili, {} baiti (documents, files, bytes)",
                    x.path.display(),
                    x.documents,
                    x.files,
                    x.bytes
                );
                match &x.act {
                    Some(a) => println!(
                        "üleandmise-vastuvõtmise akt {a}; originaalid jäävad kuni arhiivi kinnituseni: \
                         docgate transfer receipt {} --archive-ref … (handover act registered; originals stay until the receipt)",
                        x.package
                    ),
                    None => println!("koopia: üleandmist ei registreeritud (a copy: no transfer recorded)"),
                }
                if x.restricted > 0 {
                    println!(
                        "pakett sisaldab {} piiratud dokumenti (AK): käsitle seda asutusesiseseks kasutamiseks \
                         (the package holds restricted documents)",
                        x.restricted
                    );
                }
                for l in &x.left_out {
                    println!("jäeti välja (left out): {l}");
                }
            }
        }
        ArchiveCommand::Transfer(TransferCommand::Receipt {
            package,
            archive_ref,
            actor,
            json,
        }) => {
            let (actor, _) = authorise(
                &app,
                actor,
                &[Role::Lead],
                "arhiivi vastuvõtu registreerimine (registering the archive's receipt)",
            )
            .await?;
            let t = reg.receive_transfer(&package, &archive_ref, &actor).await?;
            if json {
                print_json(&t)?;
            } else {
                println!(
                    "{}\tvastu võetud (received)\t{}\t{} dokumenti üle antud (documents transferred)",
                    t.package,
                    t.archive_ref.as_deref().unwrap_or_default(),
                    t.documents
                );
            }
        }
        ArchiveCommand::Transfer(TransferCommand::List { json }) => {
            let all = reg.transfers().await?;
            if json {
                print_json(&all)?;
            } else {
                println!("Pakett\tUlatus\tSeis\tAkt\tDokumente\tArhiivi viide");
                for t in &all {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        t.package,
                        t.scope,
                        t.status,
                        t.act,
                        t.documents,
                        t.archive_ref.as_deref().unwrap_or("–")
                    );
                }
            }
        }
        ArchiveCommand::SubjectExport {
            personal_code,
            out,
            max_mib,
            actor,
            json,
        } => {
            let (actor, _) = authorise(
                &app,
                actor,
                &[Role::Clerk, Role::Lead],
                "isikuandmete väljavõte (a person's data export)",
            )
            .await?;
            let x = reg
                .subject_export(
                    &personal_code,
                    &out,
                    max_mib.saturating_mul(1024 * 1024),
                    &actor,
                )
                .await?;
            if json {
                print_json(&serde_json::json!({
                    "out": out, "documents": x.documents.iter().map(|d| &d.reg_no).collect::<Vec<_>>(),
                    "bytes": x.bytes,
                }))?;
            } else {
                println!(
                    "{}\t{} dokumenti (documents)\tväljastamine auditeeritud (release recorded)",
                    out.display(),
                    x.documents.len()
                );
            }
        }
    }
    Ok(EXIT_OK)
}

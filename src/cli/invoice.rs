//! `docgate invoice list|show|approve|reject|link` and `docgate referrals`:
//! src/invoice/ at the command line. Approving and rejecting is the lead's
//! (`--actor` in the users table; with no users the command line acts as the
//! lead), as `disposal approve` checks it.

use clap::Subcommand;

use crate::app::App;
use crate::config::Config;
use crate::invoice::InvoiceView;
use crate::web::Role;

use super::restrictions::authorise;
use super::{print_json, EXIT_OK};

#[derive(Debug, Subcommand)]
pub enum InvoiceCommand {
    /// Referrals and invoices: list, show, approve, reject, link to a referral.
    #[command(subcommand)]
    Invoice(InvoiceSub),
    /// Every referral with its units used and remaining.
    Referrals {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum InvoiceSub {
    /// Invoices by state: open (not yet due), overdue (open past the payment term), approved, rejected.
    List {
        #[arg(long, value_name = "STATE")]
        state: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// One invoice: its figures, referral, checks and errors.
    Show {
        reg_no: String,
        #[arg(long)]
        json: bool,
    },
    /// Approve an open invoice (the lead); ends its payment deadline.
    Approve {
        reg_no: String,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long, value_name = "NAME")]
        actor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Reject an open invoice with a reason (the lead): a letter to the provider is queued.
    Reject {
        reg_no: String,
        #[arg(long)]
        reason: Option<String>,
        /// The provider's e-mail address (default: the invoice's sender).
        #[arg(long, value_name = "ADDRESS")]
        to: Option<String>,
        #[arg(long, value_name = "NAME")]
        actor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Link an invoice to a referral by hand (when the candidates were ambiguous) and check it again.
    Link {
        reg_no: String,
        referral: String,
        #[arg(long, value_name = "NAME")]
        actor: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

fn money(d: Option<rust_decimal::Decimal>) -> String {
    d.map(|d| format!("{:.2}", d.round_dp(2)))
        .unwrap_or_else(|| "–".into())
}

fn print_line(v: &InvoiceView) {
    println!(
        "{}\t{}\t{}\t{} {}\t{}\t{}\t{}",
        v.reg_no,
        v.number.as_deref().unwrap_or("–"),
        v.seller.name,
        money(v.total),
        v.currency.as_deref().unwrap_or(""),
        v.payment_due
            .map(|d| d.strftime("%d.%m.%Y").to_string())
            .unwrap_or_else(|| "–".into()),
        v.referral.as_deref().unwrap_or("–"),
        v.state
    );
}

fn print_view(v: &InvoiceView) {
    println!("Arve (invoice)\t{}\t{}", v.reg_no, v.title);
    println!("Number\t{}", v.number.as_deref().unwrap_or("–"));
    println!(
        "Müüja (seller)\t{} ({})",
        v.seller.name,
        v.seller.code.as_deref().unwrap_or("registrikoodita")
    );
    println!("Vorming (syntax)\t{}", v.syntax);
    let d = |d: Option<jiff::civil::Date>| {
        d.map(|d| d.strftime("%d.%m.%Y").to_string())
            .unwrap_or_else(|| "–".into())
    };
    println!("Kuupäev (issued)\t{}", d(v.issue_date));
    println!("Maksetähtaeg (payment due)\t{}", d(v.payment_due));
    println!(
        "Summa (total)\t{} {}",
        money(v.total),
        v.currency.as_deref().unwrap_or("")
    );
    println!(
        "Suunamine (referral)\t{}",
        v.referral.as_deref().unwrap_or("–")
    );
    if !v.candidates.is_empty() {
        println!(
            "Sobivad suunamised (candidates)\t{}",
            v.candidates.join(", ")
        );
    }
    let state = match v.state.as_str() {
        "open" => "avatud (open)",
        "overdue" => "maksetähtaeg möödas (overdue)",
        "approved" => "kinnitatud (approved)",
        "rejected" => "tagasi lükatud (rejected)",
        s => s,
    };
    println!("Seis (state)\t{state}");
    for c in &v.checks {
        println!("{}\t{}\t{}", if c.ok { "✓" } else { "✗" }, c.name, c.reason);
    }
    for e in &v.errors {
        println!("viga (error)\t{e}");
    }
    if let Some(r) = &v.reason {
        println!("Põhjus (reason)\t{r}");
    }
}

/// `invoice approve|reject`: the lead's, with the letter of a rejection.
async fn decide(
    app: &App,
    reg_no: &str,
    approve: bool,
    reason: Option<String>,
    to: Option<String>,
    actor: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let what = if approve {
        "arve kinnitamine (approving an invoice)"
    } else {
        "arve tagasilükkamine (rejecting an invoice)"
    };
    let (actor, _) = authorise(app, actor, &[Role::Lead], what).await?;
    let d = crate::invoice::process::decide(app, reg_no, approve, reason.as_deref(), to, &actor)
        .await?;
    if json {
        print_json(&d.invoice)?;
    } else if approve {
        println!("{}\tkinnitatud (approved)", d.invoice.reg_no);
    } else {
        println!("{}\ttagasi lükatud (rejected)", d.invoice.reg_no);
        if let Some(l) = &d.letter {
            println!(
                "kiri {} saatjale {} on väljuvas postis (letter queued in the outbox)",
                l.reg_no, l.to
            );
        }
    }
    Ok(())
}

pub async fn run(cmd: InvoiceCommand, cfg: Config) -> anyhow::Result<i32> {
    let app = App::open(cfg).await?;
    let reg = &app.register;
    match cmd {
        InvoiceCommand::Referrals { json } => {
            let all = reg.referrals(10_000).await?;
            if json {
                print_json(&all)?;
            } else {
                println!("Number\tReg. nr\tTeenuseosutaja\tTeenus\tKasutatud\tAlles\tKehtib");
                for r in &all {
                    println!(
                        "{}\t{}\t{}\t{}\t{} {u}\t{} {u}\t{}–{}",
                        r.number,
                        r.reg_no,
                        r.provider.name,
                        r.service,
                        r.units_used.normalize(),
                        r.units_remaining.normalize(),
                        r.valid_from.strftime("%d.%m.%Y"),
                        r.valid_to.strftime("%d.%m.%Y"),
                        u = r.unit.et()
                    );
                }
            }
        }
        InvoiceCommand::Invoice(InvoiceSub::List { state, json }) => {
            let all = reg.invoices(state.as_deref(), 10_000).await?;
            if json {
                print_json(&all)?;
            } else {
                for v in &all {
                    print_line(v);
                }
            }
        }
        InvoiceCommand::Invoice(InvoiceSub::Show { reg_no, json }) => {
            let v = reg.invoice(&reg_no).await?;
            if json {
                print_json(&v)?;
            } else {
                print_view(&v);
            }
        }
        InvoiceCommand::Invoice(InvoiceSub::Approve {
            reg_no,
            reason,
            actor,
            json,
        }) => decide(&app, &reg_no, true, reason, None, actor, json).await?,
        InvoiceCommand::Invoice(InvoiceSub::Reject {
            reg_no,
            reason,
            to,
            actor,
            json,
        }) => decide(&app, &reg_no, false, reason, to, actor, json).await?,
        InvoiceCommand::Invoice(InvoiceSub::Link {
            reg_no,
            referral,
            actor,
            json,
        }) => {
            let (actor, _) = authorise(
                &app,
                actor,
                &[Role::Clerk, Role::Lead],
                "arve sidumine suunamisega (linking an invoice)",
            )
            .await?;
            let v = reg.link_invoice(&reg_no, &referral, &actor).await?;
            if json {
                print_json(&v)?;
            } else {
                print_view(&v);
            }
        }
    }
    Ok(EXIT_OK)
}

//! `docgate search` and `docgate reindex`.

use anyhow::Context;
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::app::App;
use crate::config::Config;
use crate::error::Error;
use crate::model::parse_date;
use crate::search::{self, Caller, SearchRequest, Sort};

use super::{print_json, EXIT_OK};

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum SearchCommand {
    /// Full-text search (catches the index up with the register first).
    Search(SearchArgs),
    /// Rebuild the search index from the database (resumable; swapped in when complete).
    Reindex(ReindexArgs),
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words, "phrases", prefix*, AND / OR / NOT (or -word), parentheses.
    #[arg(value_name = "QUERY", default_value = "")]
    pub query: String,
    #[arg(long)]
    pub series: Option<String>,
    /// Document type (a rule id of the deadline rules, config/deadlines.toml).
    #[arg(long = "type", value_name = "TYPE")]
    pub doc_type: Option<String>,
    /// incoming, outgoing or internal.
    #[arg(long)]
    pub direction: Option<String>,
    /// Words of a party's name.
    #[arg(long)]
    pub party: Option<String>,
    /// Registered on or after this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Registered on or before this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Only restricted (AK) documents.
    #[arg(long, conflicts_with = "unrestricted")]
    pub restricted: bool,
    /// Only public documents.
    #[arg(long)]
    pub unrestricted: bool,
    /// relevance, newest or oldest.
    #[arg(long, default_value = "relevance")]
    pub sort: String,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// Only documents whose reply deadline is open, due_soon, overdue, answered or stopped.
    #[arg(long, value_name = "STATE")]
    pub deadline: Option<String>,
    /// Search the public register (what anyone may see).
    #[arg(long)]
    pub public: bool,
    /// Also count hits per series, type and direction.
    #[arg(long)]
    pub facets: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReindexArgs {
    #[arg(long)]
    pub json: bool,
}

pub async fn run(cmd: SearchCommand, cfg: Config) -> anyhow::Result<i32> {
    match cmd {
        SearchCommand::Search(a) => search_cmd(cfg, a).await,
        SearchCommand::Reindex(a) => reindex_cmd(cfg, a).await,
    }
}

/// Builds the request from the flags, naming the bad input on error.
pub fn request(a: &SearchArgs) -> Result<SearchRequest, Error> {
    let from = a
        .from
        .as_deref()
        .map(|s| parse_date("from", s))
        .transpose()?;
    let to = a.to.as_deref().map(|s| parse_date("to", s)).transpose()?;
    let direction = a
        .direction
        .as_deref()
        .map(|d| {
            d.parse().map_err(|_| {
                Error::invalid(format!(
                    "invalid --direction {d:?}: expected incoming, outgoing or internal"
                ))
            })
        })
        .transpose()?;
    let sort: Sort = a.sort.parse().map_err(|_| {
        Error::invalid(format!(
            "invalid --sort {:?}: expected relevance, newest or oldest",
            a.sort
        ))
    })?;
    if a.limit > search::query::MAX_LIMIT {
        return Err(Error::invalid(format!(
            "invalid --limit {}: at most {}",
            a.limit,
            search::query::MAX_LIMIT
        )));
    }
    let deadline = a
        .deadline
        .as_deref()
        .map(|d| {
            d.parse().map_err(|_| {
                Error::invalid(format!(
                    "invalid --deadline {d:?}: expected open, due_soon, overdue, answered or stopped"
                ))
            })
        })
        .transpose()?;
    Ok(SearchRequest {
        deadline,
        query: a.query.clone(),
        series: a.series.clone(),
        doc_type: a.doc_type.clone(),
        direction,
        party: a.party.clone(),
        from,
        to,
        restricted: if a.restricted {
            Some(true)
        } else if a.unrestricted {
            Some(false)
        } else {
            None
        },
        sort,
        limit: a.limit,
        offset: a.offset,
        facets: a.facets,
        only_docs: None,
    })
}

#[derive(Serialize)]
struct JsonHit<'a> {
    reg_no: &'a str,
    title: &'a str,
    score: f32,
    snippet: &'a str,
    registered: Option<String>,
    restricted: bool,
    /// "all", or "some" when relaxed matching filled the page.
    matched: crate::search::query::Matched,
}

async fn search_cmd(cfg: Config, a: SearchArgs) -> anyhow::Result<i32> {
    let req = request(&a)?;
    let app = App::open(cfg).await.context("cannot open the register")?;
    // The command line is an operator's tool: it sees everything, unless --public.
    let caller = if a.public {
        Caller::Public
    } else {
        Caller::All
    };
    let res = search::search(&app, &req, &caller).await?;
    if a.json {
        let hits: Vec<JsonHit> = res
            .hits
            .iter()
            .map(|h| JsonHit {
                reg_no: &h.reg_no,
                title: &h.title,
                score: h.score,
                snippet: &h.snippet,
                registered: h.registered.map(|d| d.to_string()),
                restricted: h.restricted,
                matched: h.matched,
            })
            .collect();
        let mut v = serde_json::json!({"total": res.total, "relaxed": res.relaxed, "hits": hits});
        if a.facets {
            v["facets"] = serde_json::to_value(&res.facets)?;
        }
        print_json(&v)?;
    } else {
        if res.relaxed > 0 {
            println!(
                "Leitud {} (found); osa sõnadega veel {} (matching some words)",
                res.total, res.relaxed
            );
        } else {
            println!("Leitud {} (found)", res.total);
        }
        for h in &res.hits {
            let date = h.registered.map(|d| d.to_string()).unwrap_or_default();
            let some = if h.matched == crate::search::query::Matched::Some {
                "  (osa sõnu / some words)"
            } else {
                ""
            };
            println!("{:<16} {date}  {}{some}", h.reg_no, h.title);
            if !h.snippet.is_empty() {
                let plain = h
                    .snippet
                    .replace("<b>", "[")
                    .replace("</b>", "]")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&#39;", "'")
                    .replace("&#x27;", "'")
                    .replace("&amp;", "&");
                println!("    {}", plain.replace('\n', " "));
            }
        }
        for (k, m) in &res.facets {
            let parts: Vec<String> = m.iter().map(|(v, n)| format!("{v}={n}")).collect();
            println!("{k}: {}", parts.join(", "));
        }
    }
    Ok(EXIT_OK)
}

async fn reindex_cmd(cfg: Config, a: ReindexArgs) -> anyhow::Result<i32> {
    let app = App::open(cfg).await.context("cannot open the register")?;
    let quiet = a.json;
    let progress = move |n: u64| {
        if !quiet && n % 10_000 < 500 {
            eprintln!("reindex: {n} documents");
        }
        true
    };
    let r = search::reindex(&app, &progress).await?;
    if a.json {
        print_json(&r)?;
    } else {
        println!(
            "reindexed {} documents into {} in {:.1} s ({} bytes){}",
            r.documents,
            r.generation,
            r.seconds,
            r.bytes,
            if r.resumed_after_id > 0 {
                format!(", resumed after document {}", r.resumed_after_id)
            } else {
                String::new()
            }
        );
    }
    Ok(EXIT_OK)
}

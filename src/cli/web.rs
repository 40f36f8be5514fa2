//! Commands of the web application: users (add, list, disable, enable) and API
//! tokens (create, list, revoke).

use std::io::Read;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::app::App;
use crate::config::Config;
use crate::web::auth::{self, NewUser, Role};

use super::{print_json, EXIT_OK};

#[derive(Debug, Subcommand)]
pub enum WebCommand {
    /// Users of the web application.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens (stored hashed; shown once).
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input.
    Add(UserAddArgs),
    /// List the users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable user NAME: their sessions and API tokens stop at once, and they cannot log in.
    Disable {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Enable user NAME again (their old sessions stay ended; unrevoked tokens work again).
    Enable {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// Login name (letters, digits, '.', '-', '_'); documents name their responsible official by it.
    pub name: String,
    /// admin, clerk, lead or staff.
    #[arg(long)]
    pub role: String,
    /// Read the password from standard input (its first line).
    #[arg(long, required = true)]
    pub password_stdin: bool,
    #[arg(long)]
    pub full_name: Option<String>,
    #[arg(long)]
    pub unit: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for user NAME and print it (it cannot be shown again).
    Create {
        /// The user the token acts as.
        name: String,
        /// What the token is for.
        #[arg(long, default_value = "")]
        label: String,
        /// Days until the token expires (1 to 3650).
        #[arg(long, default_value_t = auth::TOKEN_DAYS, value_name = "N")]
        expires_in_days: u32,
        #[arg(long)]
        json: bool,
    },
    /// List the API tokens: id, user, label, created, expires, state (never the token).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke token ID (see `token list`): it is refused from the next request on.
    Revoke {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

async fn open(cfg: Config) -> anyhow::Result<App> {
    App::open(cfg).await.context("cannot open the register")
}

pub async fn run(cmd: WebCommand, cfg: Config) -> anyhow::Result<i32> {
    match cmd {
        WebCommand::User(UserCommand::Add(a)) => {
            let role: Role = a.role.parse()?;
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .context("cannot read the password from standard input")?;
            let password = input.lines().next().unwrap_or("").to_string();
            let app = open(cfg).await?;
            let u = auth::create_user(
                &app.store,
                &NewUser {
                    name: a.name.clone(),
                    full_name: a.full_name.unwrap_or_default(),
                    role,
                    unit: a.unit,
                    email: a.email,
                    password,
                },
            )
            .await?;
            if a.json {
                print_json(&u)?;
            } else {
                println!("user {} added ({})", u.name, u.role.as_str());
            }
            Ok(EXIT_OK)
        }
        WebCommand::User(UserCommand::List { json }) => {
            let app = open(cfg).await?;
            let users = auth::list_users(&app.store).await?;
            if json {
                print_json(&users)?;
            } else {
                for u in users {
                    println!(
                        "{}\t{}\t{}\t{}{}",
                        u.name,
                        u.role.as_str(),
                        u.full_name,
                        u.unit.unwrap_or_default(),
                        if u.disabled { "\tdisabled" } else { "" }
                    );
                }
            }
            Ok(EXIT_OK)
        }
        WebCommand::User(UserCommand::Disable { name, json }) => {
            set_disabled(cfg, &name, true, json).await
        }
        WebCommand::User(UserCommand::Enable { name, json }) => {
            set_disabled(cfg, &name, false, json).await
        }
        WebCommand::Token(TokenCommand::Create {
            name,
            label,
            expires_in_days,
            json,
        }) => {
            let app = open(cfg).await?;
            let t = auth::issue_token(&app.store, &name, &label, expires_in_days).await?;
            if json {
                print_json(&t)?;
            } else {
                // stdout holds the token alone (for scripts); the rest goes to stderr
                println!("{}", t.token);
                eprintln!(
                    "token id {} for {}, expires {} (shown once: only its hash is stored)",
                    t.id, t.user, t.expires_at
                );
            }
            Ok(EXIT_OK)
        }
        WebCommand::Token(TokenCommand::List { json }) => {
            let app = open(cfg).await?;
            let tokens = auth::list_tokens(&app.store).await?;
            if json {
                print_json(&tokens)?;
            } else {
                for t in tokens {
                    let state = if t.revoked {
                        "revoked"
                    } else if t.expired {
                        "expired"
                    } else {
                        "active"
                    };
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{state}",
                        t.id, t.user, t.label, t.created_at, t.expires_at
                    );
                }
            }
            Ok(EXIT_OK)
        }
        WebCommand::Token(TokenCommand::Revoke { id, json }) => {
            let app = open(cfg).await?;
            let newly = auth::revoke_token(&app.store, id).await?;
            if json {
                print_json(
                    &serde_json::json!({ "id": id, "revoked": true, "already_revoked": !newly }),
                )?;
            } else if newly {
                println!("token {id} revoked");
            } else {
                println!("token {id} was already revoked");
            }
            Ok(EXIT_OK)
        }
    }
}

async fn set_disabled(cfg: Config, name: &str, disabled: bool, json: bool) -> anyhow::Result<i32> {
    let app = open(cfg).await?;
    let u = auth::set_user_disabled(&app.store, name, disabled).await?;
    if json {
        print_json(&u)?;
    } else if disabled {
        println!("user {} disabled: sessions ended, tokens refused", u.name);
    } else {
        println!("user {} enabled", u.name);
    }
    Ok(EXIT_OK)
}

//! Commands of the web application: users and API tokens.

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
                        "{}\t{}\t{}\t{}",
                        u.name,
                        u.role.as_str(),
                        u.full_name,
                        u.unit.unwrap_or_default()
                    );
                }
            }
            Ok(EXIT_OK)
        }
        WebCommand::Token(TokenCommand::Create { name, label, json }) => {
            let app = open(cfg).await?;
            let token = auth::create_token(&app.store, &name, &label).await?;
            if json {
                print_json(&serde_json::json!({ "user": name, "token": token }))?;
            } else {
                println!("{token}");
            }
            Ok(EXIT_OK)
        }
    }
}

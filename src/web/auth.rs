//! Users, roles, passwords, sessions, API tokens, CSRF, login throttling, client
//! addresses behind trusted proxies, and the rule of who sees a restricted document.
//!
//! Secrets are stored only as hashes: passwords as argon2id PHC strings, session
//! ids and API tokens as sha256 hex (they are 256-bit random values, so a fast
//! hash is enough). A session cookie is HttpOnly and SameSite=Strict (and Secure
//! when `web.cookie_secure` is set or a trusted proxy says the request came over
//! TLS); every form carries the session's CSRF token. Sessions end after
//! `web.session` or `web.session_idle` idle, tokens at their expiry
//! or revocation, and both at once when their user is disabled: all checked on
//! the server at every request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::HeaderMap;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::error::{Error, Result};
use crate::store::Store;

/// The roles of the web application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages users and tokens; sees restricted documents only as staff would.
    Admin,
    /// Registers, completes metadata, sends: sees every restricted document.
    Clerk,
    /// The unit's lead: dashboard, reports, reassigning; sees every restricted document.
    Lead,
    /// Officials: see restricted documents of their own, their unit's and their cases'.
    Staff,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Clerk, Role::Lead, Role::Staff];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Clerk => "clerk",
            Role::Lead => "lead",
            Role::Staff => "staff",
        }
    }

    /// Clerks and leads see every restricted document.
    pub fn sees_all_restricted(self) -> bool {
        matches!(self, Role::Clerk | Role::Lead)
    }
    /// May register, complete and restrict documents.
    pub fn can_edit(self) -> bool {
        matches!(self, Role::Clerk | Role::Lead)
    }
    /// May see the dashboard and the reports.
    pub fn can_report(self) -> bool {
        matches!(self, Role::Clerk | Role::Lead | Role::Admin)
    }
    pub fn can_manage_users(self) -> bool {
        matches!(self, Role::Admin)
    }
}

impl std::str::FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "clerk" | "asjaajaja" => Ok(Role::Clerk),
            "lead" | "juht" => Ok(Role::Lead),
            "staff" | "ametnik" => Ok(Role::Staff),
            _ => Err(Error::invalid_field(
                "role",
                format!("{s:?}: expected admin, clerk, lead or staff"),
            )),
        }
    }
}

/// A user of the web application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    /// Login name; documents name their responsible official by it.
    pub name: String,
    pub full_name: String,
    pub role: Role,
    pub unit: Option<String>,
    pub email: Option<String>,
    pub disabled: bool,
}

// ---------------------------------------------------------------- secrets

/// 32 random bytes as lowercase hex.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < 8 {
        return Err(Error::invalid_field(
            "password",
            "it must be at least 8 characters long",
        ));
    }
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("password hashing failed: {e}")))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// A valid login name: 1-64 of letters, digits, `.`, `-`, `_`.
pub fn validate_user_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "invalid user name {name:?}: use 1-64 letters, digits, '.', '-' or '_'"
        )))
    }
}

/// A time as stored: UTC RFC 3339 to the second, so that stored times compare as text.
pub fn format_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn now_rfc3339() -> String {
    format_time(jiff::Timestamp::now())
}

/// A stored time; an empty or unreadable one is the distant past, so whatever it
/// bounds counts as expired.
fn parse_time(s: &str) -> jiff::Timestamp {
    s.parse().unwrap_or(jiff::Timestamp::MIN)
}

/// `t + d`, the far future when that overflows.
fn plus(t: jiff::Timestamp, d: Duration) -> jiff::Timestamp {
    t.checked_add(d).unwrap_or(jiff::Timestamp::MAX)
}

// ---------------------------------------------------------------- storage

const USER_COLS: &str = "id, name, full_name, role, unit, email, disabled";

fn user_cols(prefix: &str) -> String {
    USER_COLS
        .split(", ")
        .map(|c| format!("{prefix}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn user_from_row(r: &sqlx::any::AnyRow) -> Result<User> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        full_name: r.try_get("full_name")?,
        role: role.parse()?,
        unit: r.try_get("unit")?,
        email: r.try_get("email")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
    })
}

/// What `docgate user add` and the users API create.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NewUser {
    pub name: String,
    #[serde(default)]
    pub full_name: String,
    pub role: Role,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    pub password: String,
}

pub async fn create_user(store: &Store, new: &NewUser) -> Result<User> {
    validate_user_name(&new.name)?;
    let hash = hash_password(&new.password)?;
    let mut tx = store.begin_write().await?;
    let exists = sqlx::query("SELECT id FROM web_users WHERE name = $1")
        .bind(&new.name)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_some() {
        return Err(Error::Conflict(format!(
            "user {:?} already exists",
            new.name
        )));
    }
    let full = if new.full_name.trim().is_empty() {
        new.name.clone()
    } else {
        new.full_name.trim().to_string()
    };
    sqlx::query(
        "INSERT INTO web_users (name, full_name, role, unit, email, password_hash, disabled, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
    )
    .bind(&new.name)
    .bind(&full)
    .bind(new.role.as_str())
    .bind(new.unit.clone().filter(|s| !s.trim().is_empty()))
    .bind(new.email.clone().filter(|s| !s.trim().is_empty()))
    .bind(&hash)
    .bind(now_rfc3339())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    find_user(store, &new.name)
        .await?
        .ok_or_else(|| Error::internal("user vanished after insert"))
}

pub async fn find_user(store: &Store, name: &str) -> Result<Option<User>> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLS} FROM web_users WHERE name = $1"
    ))
    .bind(name)
    .fetch_optional(&store.pool)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn list_users(store: &Store) -> Result<Vec<User>> {
    let rows = sqlx::query(&format!("SELECT {USER_COLS} FROM web_users ORDER BY name"))
        .fetch_all(&store.pool)
        .await?;
    rows.iter().map(user_from_row).collect()
}

pub async fn count_users(store: &Store) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM web_users")
        .fetch_one(&store.pool)
        .await?;
    Ok(row.try_get("n")?)
}

/// `docgate user disable|enable NAME`. A disabled user cannot log in, and their
/// sessions and tokens are refused on the very next request: every request reads
/// the flag (sessions and tokens are looked up joined with the user, never
/// cached). Disabling also deletes the user's sessions, so enabling them again
/// does not revive an old login; their API tokens work again unless revoked.
pub async fn set_user_disabled(store: &Store, name: &str, disabled: bool) -> Result<User> {
    let mut tx = store.begin_write().await?;
    let row = sqlx::query("SELECT id FROM web_users WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        return Err(Error::not_found(format!("unknown user {name:?}")));
    };
    let id: i64 = row.try_get("id")?;
    sqlx::query("UPDATE web_users SET disabled = $1 WHERE id = $2")
        .bind(i64::from(disabled))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if disabled {
        sqlx::query("DELETE FROM web_sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    find_user(store, name)
        .await?
        .ok_or_else(|| Error::internal("user vanished after update"))
}

/// Checks a name and password; the same error whether the name or the password
/// is wrong, or the user is disabled.
pub async fn authenticate(store: &Store, name: &str, password: &str) -> Result<User> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLS}, password_hash FROM web_users WHERE name = $1"
    ))
    .bind(name)
    .fetch_optional(&store.pool)
    .await?;
    let bad = || Error::Unauthorized("wrong user name or password".into());
    let Some(row) = row else {
        // Spend the same time as a real check so that names cannot be probed.
        let pw = password.to_string();
        tokio::task::spawn_blocking(move || verify_password(&pw, dummy_hash()))
            .await
            .ok();
        return Err(bad());
    };
    let hash: String = row.try_get("password_hash")?;
    let user = user_from_row(&row)?;
    let pw = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
        .await
        .map_err(|e| Error::internal(format!("password check failed: {e}")))?;
    if !ok || user.disabled {
        return Err(bad());
    }
    Ok(user)
}

/// An argon2id hash of a random string: makes unknown names as slow as known ones.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

// ---------------------------------------------------------------- sessions

/// How long a session lives: `web.session` from login at most, and
/// `web.session_idle` between two requests at most. Enforced on the
/// server at every lookup; the cookie's Max-Age is only a hint to the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Absolute lifetime, from login.
    pub lifetime: Duration,
    /// Longest pause between two requests.
    pub idle: Duration,
}

impl SessionPolicy {
    /// A session's last request is written at most this often (so that a busy
    /// session does not write on every request); the idle timeout may thus end a
    /// session up to this much early, never late.
    pub const TOUCH_EVERY: Duration = Duration::from_secs(60);

    /// At least a second each (`web.session`, `web.session_idle`).
    pub fn new(lifetime: Duration, idle: Duration) -> SessionPolicy {
        let second = Duration::from_secs(1);
        SessionPolicy {
            lifetime: lifetime.max(second),
            idle: idle.max(second),
        }
    }

    /// Whether a session created at `created`, last used at `last_seen` and stored
    /// with the end `expires` is still live at `now`. The lifetime is checked
    /// against the current configuration too, so shortening it takes effect at once.
    pub fn live(
        &self,
        created: jiff::Timestamp,
        last_seen: jiff::Timestamp,
        expires: jiff::Timestamp,
        now: jiff::Timestamp,
    ) -> bool {
        now < expires && now < plus(created, self.lifetime) && now < plus(last_seen, self.idle)
    }
}

/// A logged-in session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf: String,
}

/// Creates a session; returns the raw session id for the cookie and the CSRF
/// token. Sessions whose absolute end has passed are deleted on the way.
pub async fn create_session(
    store: &Store,
    user: &User,
    policy: &SessionPolicy,
) -> Result<(String, String)> {
    let sid = random_token();
    let csrf = random_token();
    let now = jiff::Timestamp::now();
    let expires = plus(now, policy.lifetime);
    let mut tx = store.begin_write().await?;
    sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
        .bind(format_time(now))
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO web_sessions (id_hash, user_id, csrf, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $4, $4, $5)",
    )
    .bind(sha256_hex(&sid))
    .bind(user.id)
    .bind(&csrf)
    .bind(format_time(now))
    .bind(format_time(expires))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((sid, csrf))
}

/// The live session `sid`, if any (see [`SessionPolicy`]); an expired one is
/// deleted, a disabled user's refused.
pub async fn session_user(
    store: &Store,
    sid: &str,
    policy: &SessionPolicy,
) -> Result<Option<Session>> {
    session_user_at(store, sid, policy, jiff::Timestamp::now()).await
}

/// [`session_user`] with the clock given.
pub async fn session_user_at(
    store: &Store,
    sid: &str,
    policy: &SessionPolicy,
    now: jiff::Timestamp,
) -> Result<Option<Session>> {
    let id_hash = sha256_hex(sid);
    let row = sqlx::query(&format!(
        "SELECT {}, s.csrf, s.created_at, s.last_seen_at, s.expires_at \
         FROM web_sessions s JOIN web_users u ON u.id = s.user_id WHERE s.id_hash = $1",
        user_cols("u")
    ))
    .bind(&id_hash)
    .fetch_optional(&store.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let created = parse_time(&row.try_get::<String, _>("created_at")?);
    let last_seen = parse_time(&row.try_get::<String, _>("last_seen_at")?);
    let expires = parse_time(&row.try_get::<String, _>("expires_at")?);
    if !policy.live(created, last_seen, expires, now) {
        let mut tx = store.begin_write().await?;
        sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
            .bind(&id_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return Ok(None);
    }
    let user = user_from_row(&row)?;
    if user.disabled {
        return Ok(None);
    }
    if now >= plus(last_seen, SessionPolicy::TOUCH_EVERY) {
        let mut tx = store.begin_write().await?;
        sqlx::query("UPDATE web_sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(format_time(now))
            .bind(&id_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(Some(Session {
        user,
        csrf: row.try_get("csrf")?,
    }))
}

pub async fn delete_session(store: &Store, sid: &str) -> Result<()> {
    let mut tx = store.begin_write().await?;
    sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
        .bind(sha256_hex(sid))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- API tokens

/// Days an API token lives unless `--expires-in-days` says otherwise.
pub const TOKEN_DAYS: u32 = 90;
/// The longest lifetime a token may be given, in days.
pub const TOKEN_MAX_DAYS: u32 = 3650;
/// The longest token label, in characters.
pub const TOKEN_LABEL_MAX: usize = 200;

/// A token just created: the only time the token itself is known.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    pub id: i64,
    pub user: String,
    pub label: String,
    pub token: String,
    pub expires_at: String,
}

/// A stored token as `docgate token list` shows it (never the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub user: String,
    pub label: String,
    pub created_at: String,
    pub expires_at: String,
    pub expired: bool,
    pub revoked: bool,
    pub revoked_at: Option<String>,
}

/// A new API token for `user_name` with the default lifetime ([`TOKEN_DAYS`]):
/// returns the token itself (shown once).
pub async fn create_token(store: &Store, user_name: &str, label: &str) -> Result<String> {
    Ok(issue_token(store, user_name, label, TOKEN_DAYS)
        .await?
        .token)
}

/// A new API token for `user_name` that ends after `days` days (1..=[`TOKEN_MAX_DAYS`]).
pub async fn issue_token(
    store: &Store,
    user_name: &str,
    label: &str,
    days: u32,
) -> Result<IssuedToken> {
    if !(1..=TOKEN_MAX_DAYS).contains(&days) {
        return Err(Error::invalid(format!(
            "invalid token lifetime {days} days: expected 1 to {TOKEN_MAX_DAYS}"
        )));
    }
    if label.chars().count() > TOKEN_LABEL_MAX {
        return Err(Error::invalid(format!(
            "invalid token label: at most {TOKEN_LABEL_MAX} characters"
        )));
    }
    let user = find_user(store, user_name)
        .await?
        .ok_or_else(|| Error::not_found(format!("unknown user {user_name:?}")))?;
    let token = format!("dg_{}", random_token());
    let now = jiff::Timestamp::now();
    let expires = format_time(plus(now, Duration::from_secs(u64::from(days) * 24 * 3600)));
    let mut tx = store.begin_write().await?;
    let row = sqlx::query(
        "INSERT INTO web_tokens (user_id, label, token_hash, created_at, expires_at, revoked) \
         VALUES ($1, $2, $3, $4, $5, 0) RETURNING id",
    )
    .bind(user.id)
    .bind(label)
    .bind(sha256_hex(&token))
    .bind(format_time(now))
    .bind(&expires)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get("id")?;
    tx.commit().await?;
    Ok(IssuedToken {
        id,
        user: user.name,
        label: label.to_string(),
        token,
        expires_at: expires,
    })
}

/// Every stored token, newest first.
pub async fn list_tokens(store: &Store) -> Result<Vec<TokenInfo>> {
    let now = now_rfc3339();
    let rows = sqlx::query(
        "SELECT t.id, u.name, t.label, t.created_at, t.expires_at, t.revoked, t.revoked_at \
         FROM web_tokens t JOIN web_users u ON u.id = t.user_id ORDER BY t.id DESC",
    )
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let expires_at: String = r.try_get("expires_at")?;
            Ok(TokenInfo {
                id: r.try_get("id")?,
                user: r.try_get("name")?,
                label: r.try_get("label")?,
                created_at: r.try_get("created_at")?,
                expired: expires_at <= now,
                expires_at,
                revoked: r.try_get::<i64, _>("revoked")? != 0,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect()
}

/// Revokes token `id`: refused from the next request on. Ok(false) when it was
/// already revoked; an unknown id is NotFound.
pub async fn revoke_token(store: &Store, id: i64) -> Result<bool> {
    let mut tx = store.begin_write().await?;
    let row = sqlx::query("SELECT revoked FROM web_tokens WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        return Err(Error::not_found(format!("unknown token id {id}")));
    };
    if row.try_get::<i64, _>("revoked")? != 0 {
        return Ok(false);
    }
    sqlx::query("UPDATE web_tokens SET revoked = 1, revoked_at = $1 WHERE id = $2")
        .bind(now_rfc3339())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// The user of a live token: not revoked, not expired, user not disabled.
pub async fn token_user(store: &Store, token: &str) -> Result<Option<User>> {
    token_user_at(store, token, jiff::Timestamp::now()).await
}

/// [`token_user`] with the clock given.
pub async fn token_user_at(
    store: &Store,
    token: &str,
    now: jiff::Timestamp,
) -> Result<Option<User>> {
    let row = sqlx::query(&format!(
        "SELECT {} FROM web_tokens t JOIN web_users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked = 0 AND t.expires_at > $2",
        user_cols("u")
    ))
    .bind(sha256_hex(token.trim()))
    .bind(format_time(now))
    .fetch_optional(&store.pool)
    .await?;
    let user = row.as_ref().map(user_from_row).transpose()?;
    Ok(user.filter(|u| !u.disabled))
}

// ---------------------------------------------------------------- client addresses

/// Where a request came from: the client's address and whether it reached us
/// over TLS (as a trusted proxy says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub ip: IpAddr,
    pub https: bool,
}

/// `web.trusted_proxies`: the reverse proxies whose forwarding headers are
/// believed. A request from any other peer is its own client, whatever its
/// `Forwarded` or `X-Forwarded-*` headers say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    /// Parses the list: IP addresses and CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`).
    pub fn parse(list: &[String]) -> Result<TrustedProxies> {
        let mut nets = Vec::with_capacity(list.len());
        for s in list {
            let t = s.trim();
            let net = match t.parse::<ipnet::IpNet>() {
                Ok(n) => n.trunc(),
                Err(_) => match t.parse::<IpAddr>() {
                    Ok(ip) => ipnet::IpNet::from(ip.to_canonical()),
                    Err(_) => {
                        return Err(Error::invalid(format!(
                            "invalid web.trusted_proxies entry {s:?}: expected an IP address \
                             or a CIDR block such as 10.0.0.0/8"
                        )))
                    }
                },
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request from `peer`. Only when `peer` is a trusted proxy:
    /// the `Forwarded` header (RFC 7239) when present, else `X-Forwarded-For`,
    /// read from the right, gives the first address that is not itself a trusted
    /// proxy (an obfuscated or unreadable one leaves the peer as the client);
    /// TLS is the chosen `Forwarded` element's `proto=https`, or the right-most
    /// `X-Forwarded-Proto` being `https`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> Client {
        let peer = peer.to_canonical();
        let direct = Client {
            ip: peer,
            https: false,
        };
        if !self.contains(peer) {
            return direct;
        }
        let forwarded: Vec<&str> = header_values(headers, "forwarded");
        if !forwarded.is_empty() {
            let elements: Vec<(Option<String>, Option<String>)> = forwarded
                .iter()
                .flat_map(|v| split_unquoted(v, ','))
                .map(forwarded_element)
                .collect();
            return self
                .pick(
                    peer,
                    elements.iter().map(|(f, p)| (f.as_deref(), p.as_deref())),
                )
                .unwrap_or(direct);
        }
        let https = header_values(headers, "x-forwarded-proto")
            .iter()
            .flat_map(|v| v.split(','))
            .next_back()
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
        let proto = if https { "https" } else { "http" };
        let chain: Vec<&str> = header_values(headers, "x-forwarded-for")
            .into_iter()
            .flat_map(|v| v.split(','))
            .collect();
        self.pick(peer, chain.into_iter().map(|f| (Some(f), Some(proto))))
            .unwrap_or(Client { ip: peer, https })
    }

    /// The client among forwarding elements `(for, proto)`, in the order the
    /// proxies appended them; None for an empty list.
    fn pick<'a>(
        &self,
        peer: IpAddr,
        elements: impl DoubleEndedIterator<Item = (Option<&'a str>, Option<&'a str>)>,
    ) -> Option<Client> {
        let mut last = None;
        for (node, proto) in elements.rev() {
            let https = proto.is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
            match node.and_then(parse_node) {
                Some(ip) if self.contains(ip) => last = Some(Client { ip, https }),
                Some(ip) => return Some(Client { ip, https }),
                None => return Some(Client { ip: peer, https }),
            }
        }
        // every hop is a trusted proxy: the left-most is the client
        last
    }
}

fn header_values<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

/// Splits at `sep` outside double quotes (quoted strings may hold `\"`).
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut out = vec![];
    let (mut quoted, mut escaped, mut start) = (false, false, 0);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&s[start..]);
    out
}

/// One `Forwarded` element: its `for` and `proto` parameters.
fn forwarded_element(element: &str) -> (Option<String>, Option<String>) {
    let (mut node, mut proto) = (None, None);
    for pair in split_unquoted(element, ';') {
        let Some((k, v)) = pair.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .map(|v| v.replace("\\\"", "\"").replace("\\\\", "\\"))
            .unwrap_or_else(|| v.to_string());
        match k.trim().to_ascii_lowercase().as_str() {
            "for" => node = Some(v),
            "proto" => proto = Some(v),
            _ => {}
        }
    }
    (node, proto)
}

/// An address as forwarding headers write it: `192.0.2.1`, `192.0.2.1:4711`,
/// `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:4711`. None for `unknown`,
/// obfuscated names (`_hidden`) and anything else.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let ip = if let Some(rest) = s.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        IpAddr::V6(inside.parse().ok()?)
    } else if let Ok(ip) = s.parse::<IpAddr>() {
        ip
    } else {
        let (host, port) = s.rsplit_once(':')?;
        if !is_port(port) {
            return None;
        }
        IpAddr::V4(host.parse().ok()?)
    };
    Some(ip.to_canonical())
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit())
}

// ---------------------------------------------------------------- throttling

/// Failures counted per key: after `max_failures` within `window` the key is
/// locked for `lockout`. A key's count decays only with time unless cleared.
/// Attempts still in flight count against the limit too, so that parallel
/// requests cannot make more guesses than sequential ones.
pub struct Throttle {
    max_failures: u32,
    window: Duration,
    lockout: Duration,
    map: Mutex<HashMap<String, Failures>>,
}

struct Failures {
    count: u32,
    first: Instant,
    locked_until: Option<Instant>,
    in_flight: u32,
}

impl Failures {
    fn new(now: Instant) -> Failures {
        Failures {
            count: 0,
            first: now,
            locked_until: None,
            in_flight: 0,
        }
    }

    /// Err(seconds) while locked.
    fn locked(&self, now: Instant) -> std::result::Result<(), u64> {
        match self.locked_until {
            Some(until) if until > now => Err((until - now).as_secs().max(1)),
            _ => Ok(()),
        }
    }

    /// Failures still counted at `now` (none once the window has passed).
    fn counted(&self, now: Instant, window: Duration) -> u32 {
        if now.saturating_duration_since(self.first) > window {
            0
        } else {
            self.count
        }
    }
}

impl Throttle {
    pub fn new(max_failures: u32, window: Duration, lockout: Duration) -> Throttle {
        Throttle {
            max_failures: max_failures.max(1),
            window,
            lockout,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts an attempt on every key at once: Err(seconds to wait) while one is
    /// locked, or while its failures and attempts in flight reach the limit.
    fn begin_at(&self, keys: &[&str], now: Instant) -> std::result::Result<(), u64> {
        let mut map = self.map();
        for k in keys {
            if let Some(f) = map.get(*k) {
                f.locked(now)?;
                if f.counted(now, self.window) + f.in_flight >= self.max_failures {
                    return Err(1);
                }
            }
        }
        if map.len() > 100_000 {
            map.retain(|_, f| {
                f.in_flight > 0
                    || now.saturating_duration_since(f.first) < self.window
                    || f.locked_until.is_some_and(|u| u > now)
            });
        }
        for k in keys {
            map.entry(k.to_string())
                .or_insert_with(|| Failures::new(now))
                .in_flight += 1;
        }
        Ok(())
    }

    /// Ends an attempt begun by `begin_at`, counting it as a failure or not.
    fn end_at(&self, key: &str, failed: bool, now: Instant) {
        let mut map = self.map();
        let f = map
            .entry(key.to_string())
            .or_insert_with(|| Failures::new(now));
        f.in_flight = f.in_flight.saturating_sub(1);
        if failed {
            self.count_failure(f, now);
        }
    }

    fn count_failure(&self, f: &mut Failures, now: Instant) {
        if now.saturating_duration_since(f.first) > self.window && f.locked(now).is_ok() {
            f.count = 0;
            f.first = now;
            f.locked_until = None;
        }
        f.count += 1;
        if f.count >= self.max_failures {
            f.locked_until = Some(now + self.lockout);
            f.count = 0;
            f.first = now;
        }
    }

    /// Forgets the key's failures (not its attempts in flight).
    pub fn clear(&self, key: &str) {
        let mut map = self.map();
        if let Some(f) = map.get_mut(key) {
            if f.in_flight == 0 {
                map.remove(key);
            } else {
                f.count = 0;
                f.locked_until = None;
            }
        }
    }
}

/// Login throttling, per user name and per client address (`web.login_*`). A
/// successful login clears only its own user name's count: the address's count
/// decays with time alone, so nobody's success (the attacker's own account, a
/// colleague behind the same NAT) hides an attacker's failures from that address.
pub struct LoginThrottle(Throttle);

/// A login attempt under way: end it with [`LoginAttempt::failed`] or
/// [`LoginAttempt::succeeded`]; dropped unended (an internal error), it counts as neither.
pub struct LoginAttempt<'a> {
    throttle: &'a Throttle,
    ip_key: String,
    user_key: String,
    ended: bool,
}

impl LoginThrottle {
    pub fn new(max_failures: u32, window: Duration, lockout: Duration) -> LoginThrottle {
        LoginThrottle(Throttle::new(max_failures, window, lockout))
    }

    fn user_key(name: &str) -> String {
        // no login name is longer than 64 characters: longer input shares a key
        let name: String = name.trim().chars().take(65).collect();
        format!("u:{}", name.to_lowercase())
    }

    fn ip_key(ip: IpAddr) -> String {
        format!("ip:{}", address_key(ip))
    }

    /// Starts a login as `name` from `ip`: Err(seconds to wait) while the
    /// address or the name is locked, or has as many attempts in flight as
    /// failures left.
    pub fn begin(&self, ip: IpAddr, name: &str) -> std::result::Result<LoginAttempt<'_>, u64> {
        self.begin_at(ip, name, Instant::now())
    }

    fn begin_at(
        &self,
        ip: IpAddr,
        name: &str,
        now: Instant,
    ) -> std::result::Result<LoginAttempt<'_>, u64> {
        let (ip_key, user_key) = (Self::ip_key(ip), Self::user_key(name));
        self.0.begin_at(&[&ip_key, &user_key], now)?;
        Ok(LoginAttempt {
            throttle: &self.0,
            ip_key,
            user_key,
            ended: false,
        })
    }
}

impl LoginAttempt<'_> {
    /// A failed login counts against both the address and the name.
    pub fn failed(self) {
        self.failed_at(Instant::now())
    }

    fn failed_at(mut self, now: Instant) {
        self.throttle.end_at(&self.ip_key, true, now);
        self.throttle.end_at(&self.user_key, true, now);
        self.ended = true;
    }

    /// A successful login clears its own name's count and nothing else.
    pub fn succeeded(mut self) {
        let now = Instant::now();
        self.throttle.end_at(&self.ip_key, false, now);
        self.throttle.end_at(&self.user_key, false, now);
        self.throttle.clear(&self.user_key);
        self.ended = true;
    }
}

impl Drop for LoginAttempt<'_> {
    fn drop(&mut self) {
        if !self.ended {
            let now = Instant::now();
            self.throttle.end_at(&self.ip_key, false, now);
            self.throttle.end_at(&self.user_key, false, now);
        }
    }
}

/// The key of a client address in the login throttle and the rate limit: an
/// IPv4 address itself, an IPv6 address's /64 (one subscriber's network, which
/// hands its hosts any number of addresses).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
        }
        v4 => v4,
    }
}

/// A token bucket per client address (the public register's rate limit).
pub struct RateLimiter {
    per_minute: u32,
    burst: f64,
    map: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            burst: f64::from(burst.max(1)),
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token; Err(seconds to wait) when the bucket is empty. 0 per minute = unlimited.
    pub fn take(&self, ip: IpAddr) -> std::result::Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let ip = address_key(ip);
        let rate = f64::from(self.per_minute) / 60.0;
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            let burst = self.burst;
            map.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
        }
        let e = map.entry(ip).or_insert((self.burst, now));
        let tokens = (e.0 + now.duration_since(e.1).as_secs_f64() * rate).min(self.burst);
        if tokens >= 1.0 {
            *e = (tokens - 1.0, now);
            Ok(())
        } else {
            *e = (tokens, now);
            Err(((1.0 - tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_roundtrip_and_short_password_rejected() {
        let h = hash_password("õige parool 1").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("õige parool 1", &h));
        assert!(!verify_password("vale parool 1", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(hash_password("short")
            .unwrap_err()
            .to_string()
            .contains("at least 8"));
    }

    #[test]
    fn roles_parse() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("boss"
            .parse::<Role>()
            .unwrap_err()
            .to_string()
            .contains("boss"));
    }

    #[test]
    fn throttle_locks_after_failures_and_own_success_clears_the_name() {
        let t = LoginThrottle::new(3, Duration::from_secs(60), Duration::from_secs(30));
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        for _ in 0..2 {
            t.begin(ip, "kati").unwrap().failed();
        }
        t.begin(other, "Kati").unwrap().failed();
        // the name is locked from any address (names compare case-insensitively)
        let wait = t.begin(other, "kati").err().unwrap();
        assert!((1..=30).contains(&wait));
        assert!(t.begin(other, "jaan").is_ok());
        // kati's own success (say, after the lockout) clears her name's count
        // (each attempt from a fresh address, so that only the name counts)
        t.0.clear("u:kati");
        let fresh = |i: u8| IpAddr::from([203, 0, 113, i]);
        t.begin(fresh(1), "kati").unwrap().failed();
        t.begin(fresh(2), "kati").unwrap().succeeded();
        t.begin(fresh(3), "kati").unwrap().failed();
        t.begin(fresh(4), "kati").unwrap().failed();
        assert!(
            t.begin(fresh(5), "kati").is_ok(),
            "two failures since the success"
        );
        t.begin(fresh(6), "kati").unwrap().failed();
        assert!(t.begin(fresh(7), "kati").is_err(), "three lock the name");
    }

    #[test]
    fn login_success_by_anyone_does_not_reset_the_address_count() {
        let t = LoginThrottle::new(3, Duration::from_secs(60), Duration::from_secs(30));
        let a: IpAddr = "198.51.100.1".parse().unwrap();
        let t0 = Instant::now();
        t.begin_at(a, "guess1", t0).unwrap().failed_at(t0);
        t.begin_at(a, "guess2", t0).unwrap().failed_at(t0);
        // a legitimate user (and the attacker's own account) log in from A
        t.begin_at(a, "jaan", t0).unwrap().succeeded();
        t.begin_at(a, "guess2", t0).unwrap().succeeded();
        t.begin_at(a, "guess3", t0).unwrap().failed_at(t0);
        assert!(
            t.begin_at(a, "jaan", t0).is_err(),
            "address A must be locked"
        );
        // the lockout ends with time
        assert!(t.begin_at(a, "jaan", t0 + Duration::from_secs(31)).is_ok());
    }

    #[test]
    fn address_failures_decay_only_with_the_window() {
        let t = LoginThrottle::new(3, Duration::from_secs(60), Duration::from_secs(30));
        let a: IpAddr = "198.51.100.1".parse().unwrap();
        let t0 = Instant::now();
        t.begin_at(a, "x1", t0).unwrap().failed_at(t0);
        t.begin_at(a, "x2", t0).unwrap().failed_at(t0);
        // outside the window the old failures no longer count
        let later = t0 + Duration::from_secs(61);
        t.begin_at(a, "x3", later).unwrap().failed_at(later);
        t.begin_at(a, "x4", later).unwrap().failed_at(later);
        assert!(t.begin_at(a, "x5", later).is_ok());
        t.begin_at(a, "x5", later).unwrap().failed_at(later);
        assert!(t.begin_at(a, "x6", later).is_err());
    }

    #[test]
    fn ipv6_clients_are_limited_per_64_and_ipv4_per_address() {
        let r = RateLimiter::new(60, 2);
        let a1: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let a2: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert!(r.take(a1).is_ok() && r.take(a2).is_ok());
        assert!(r.take(a1).is_err(), "the same /64 shares one bucket");
        assert!(r.take("2001:db8:1:3::1".parse().unwrap()).is_ok());
        assert!(r.take("192.0.2.1".parse().unwrap()).is_ok());
        assert!(r.take("192.0.2.2".parse().unwrap()).is_ok());
        let t = LoginThrottle::new(2, Duration::from_secs(60), Duration::from_secs(30));
        t.begin(a1, "x1").unwrap().failed();
        t.begin(a2, "x2").unwrap().failed();
        assert!(t.begin("2001:db8:1:2::77".parse().unwrap(), "x3").is_err());
        assert_eq!(
            address_key("::ffff:192.0.2.1".parse().unwrap()),
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn parallel_login_attempts_count_before_they_end() {
        let t = LoginThrottle::new(3, Duration::from_secs(60), Duration::from_secs(30));
        let a: IpAddr = "198.51.100.1".parse().unwrap();
        // three guesses in flight at once from one address: a fourth must wait
        let in_flight: Vec<_> = ["p1", "p2", "p3"]
            .iter()
            .map(|n| t.begin(a, n).unwrap())
            .collect();
        assert!(t.begin(a, "p4").is_err());
        // an attempt ended by an internal error counts as neither
        drop(in_flight);
        let b: Vec<_> = (0..3)
            .map(|i| t.begin(a, &format!("q{i}")).unwrap())
            .collect();
        for x in b {
            x.failed();
        }
        assert!(t.begin(a, "q9").is_err(), "three failures lock the address");
    }

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn session_policy_enforces_lifetime_and_idle_timeout() {
        let p = SessionPolicy::new(Duration::from_secs(12 * 3600), Duration::from_secs(30 * 60));
        let created = ts("2026-12-03T07:00:00Z");
        let expires = ts("2026-12-03T19:00:00Z");
        // used 10 minutes ago: live
        assert!(p.live(
            created,
            ts("2026-12-03T08:00:00Z"),
            expires,
            ts("2026-12-03T08:10:00Z")
        ));
        // idle 30 minutes: over
        assert!(!p.live(
            created,
            ts("2026-12-03T08:00:00Z"),
            expires,
            ts("2026-12-03T08:30:00Z")
        ));
        // busy but past the stored end
        assert!(!p.live(
            created,
            ts("2026-12-03T18:59:00Z"),
            expires,
            ts("2026-12-03T19:00:00Z")
        ));
        // a shorter configured lifetime ends older sessions at once
        let short = SessionPolicy::new(Duration::from_secs(3600), Duration::from_secs(30 * 60));
        assert!(!short.live(
            created,
            ts("2026-12-03T07:59:00Z"),
            expires,
            ts("2026-12-03T08:00:00Z")
        ));
        // an unreadable stored time counts as long past
        assert!(!p.live(created, parse_time(""), expires, ts("2026-12-03T07:01:00Z")));
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn trusted_proxies_parse_addresses_and_cidrs_and_name_the_key() {
        let p = proxies(&["10.0.0.0/8", "192.0.2.1", "2001:db8::/32"]);
        assert!(p.contains(ip("10.1.2.3")));
        assert!(p.contains(ip("::ffff:10.1.2.3")));
        assert!(p.contains(ip("192.0.2.1")));
        assert!(!p.contains(ip("192.0.2.2")));
        assert!(p.contains(ip("2001:db8::5")));
        for bad in ["10.0.0.0/33", "proxy.example", "10.0.0", ""] {
            let e = TrustedProxies::parse(&[bad.to_string()])
                .unwrap_err()
                .to_string();
            assert!(e.contains("web.trusted_proxies") && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn client_address_table() {
        let p = proxies(&["10.0.0.0/8"]);
        // (peer, headers, expected client, expected https)
        type Headers<'a> = &'a [(&'a str, &'a str)];
        let cases: &[(&str, Headers, &str, bool)] = &[
            // untrusted peer: headers ignored
            (
                "203.0.113.9",
                &[("x-forwarded-for", "198.51.100.1")],
                "203.0.113.9",
                false,
            ),
            (
                "203.0.113.9",
                &[("forwarded", "for=198.51.100.1;proto=https")],
                "203.0.113.9",
                false,
            ),
            (
                "203.0.113.9",
                &[("x-forwarded-proto", "https")],
                "203.0.113.9",
                false,
            ),
            // trusted peer, no headers
            ("10.0.0.2", &[], "10.0.0.2", false),
            // X-Forwarded-For: the right-most address that is not a trusted proxy
            (
                "10.0.0.2",
                &[("x-forwarded-for", "6.6.6.6, 198.51.100.1")],
                "198.51.100.1",
                false,
            ),
            (
                "10.0.0.2",
                &[("x-forwarded-for", "6.6.6.6, 198.51.100.1, 10.0.0.3")],
                "198.51.100.1",
                false,
            ),
            (
                "10.0.0.2",
                &[
                    ("x-forwarded-for", "6.6.6.6"),
                    ("x-forwarded-for", "198.51.100.1"),
                ],
                "198.51.100.1",
                false,
            ),
            (
                "10.0.0.2",
                &[
                    ("x-forwarded-for", "198.51.100.1"),
                    ("x-forwarded-proto", "https"),
                ],
                "198.51.100.1",
                true,
            ),
            (
                "10.0.0.2",
                &[
                    ("x-forwarded-for", "198.51.100.1"),
                    ("x-forwarded-proto", "http"),
                ],
                "198.51.100.1",
                false,
            ),
            (
                "10.0.0.2",
                &[("x-forwarded-for", "[2001:db8::7]:443")],
                "2001:db8::7",
                false,
            ),
            (
                "10.0.0.2",
                &[("x-forwarded-for", "198.51.100.1:5555")],
                "198.51.100.1",
                false,
            ),
            // an unreadable hop leaves the proxy as the client
            (
                "10.0.0.2",
                &[("x-forwarded-for", "6.6.6.6, garbage")],
                "10.0.0.2",
                false,
            ),
            // every hop trusted: the left-most
            (
                "10.0.0.2",
                &[("x-forwarded-for", "10.0.0.9, 10.0.0.3")],
                "10.0.0.9",
                false,
            ),
            // Forwarded wins over X-Forwarded-For
            (
                "10.0.0.2",
                &[
                    ("forwarded", "for=198.51.100.1;proto=https"),
                    ("x-forwarded-for", "6.6.6.6"),
                ],
                "198.51.100.1",
                true,
            ),
            (
                "10.0.0.2",
                &[(
                    "forwarded",
                    "for=6.6.6.6, for=\"198.51.100.1:4711\";proto=http",
                )],
                "198.51.100.1",
                false,
            ),
            (
                "10.0.0.2",
                &[(
                    "forwarded",
                    "For=\"[2001:db8:cafe::17]:4711\";Proto=HTTPS;by=10.0.0.2",
                )],
                "2001:db8:cafe::17",
                true,
            ),
            (
                "10.0.0.2",
                &[(
                    "forwarded",
                    "for=198.51.100.1;proto=https, for=10.0.0.3;proto=http",
                )],
                "198.51.100.1",
                true,
            ),
            (
                "10.0.0.2",
                &[("forwarded", "for=_hidden;proto=https")],
                "10.0.0.2",
                true,
            ),
            (
                "10.0.0.2",
                &[("forwarded", "for=unknown")],
                "10.0.0.2",
                false,
            ),
            // a mapped IPv4 peer is the IPv4 address
            (
                "::ffff:10.0.0.2",
                &[("x-forwarded-for", "198.51.100.1")],
                "198.51.100.1",
                false,
            ),
        ];
        for (peer, hs, want, https) in cases {
            let c = p.client(ip(peer), &headers(hs));
            assert_eq!(
                c,
                Client {
                    ip: ip(want),
                    https: *https
                },
                "{peer} {hs:?}"
            );
        }
        // no trusted proxies: the peer, always
        let none = TrustedProxies::default();
        let c = none.client(
            ip("10.0.0.2"),
            &headers(&[("x-forwarded-for", "198.51.100.1")]),
        );
        assert_eq!(c.ip, ip("10.0.0.2"));
    }

    #[test]
    fn rate_limiter_allows_burst_then_refuses() {
        let r = RateLimiter::new(60, 5);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..5 {
            assert!(r.take(ip).is_ok());
        }
        assert!(r.take(ip).unwrap_err() >= 1);
        assert!(r.take("127.0.0.2".parse().unwrap()).is_ok());
        let unlimited = RateLimiter::new(0, 1);
        for _ in 0..100 {
            assert!(unlimited.take(ip).is_ok());
        }
    }

    #[test]
    fn user_names_validated_and_tokens_random() {
        assert!(validate_user_name("kati.kask").is_ok());
        assert!(validate_user_name("../x").is_err());
        assert!(validate_user_name("").is_err());
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 64);
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}

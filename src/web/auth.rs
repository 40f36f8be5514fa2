//! Users, roles, passwords, sessions, API tokens, CSRF, login throttling and the
//! rule of who sees a restricted document.
//!
//! Secrets are stored only as hashes: passwords as argon2id PHC strings, session
//! ids and API tokens as sha256 hex (they are 256-bit random values, so a fast
//! hash is enough). A session cookie is HttpOnly and SameSite=Strict (and Secure
//! when `web.cookie_secure` is set); every form carries the session's CSRF token.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
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
            _ => Err(Error::invalid(format!(
                "invalid role {s:?}: expected admin, clerk, lead or staff"
            ))),
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
        return Err(Error::invalid(
            "invalid password: it must be at least 8 characters long",
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

fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

// ---------------------------------------------------------------- storage

const USER_COLS: &str = "id, name, full_name, role, unit, email, disabled";

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

/// Checks a name and password; the same error whether the name or the password is wrong.
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

/// A logged-in session.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf: String,
}

/// Creates a session; returns the raw session id for the cookie and the CSRF token.
pub async fn create_session(store: &Store, user: &User, ttl: Duration) -> Result<(String, String)> {
    let sid = random_token();
    let csrf = random_token();
    let now = jiff::Timestamp::now();
    let expires = now
        .checked_add(jiff::SignedDuration::from_secs(ttl.as_secs() as i64))
        .map_err(|e| Error::internal(format!("session expiry: {e}")))?;
    let mut tx = store.begin_write().await?;
    sqlx::query(
        "INSERT INTO web_sessions (id_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(sha256_hex(&sid))
    .bind(user.id)
    .bind(&csrf)
    .bind(now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
    .bind(expires.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((sid, csrf))
}

pub async fn session_user(store: &Store, sid: &str) -> Result<Option<Session>> {
    let cols = USER_COLS
        .split(", ")
        .map(|c| format!("u.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let row = sqlx::query(&format!(
        "SELECT {cols}, s.csrf, s.expires_at FROM web_sessions s JOIN web_users u ON u.id = s.user_id WHERE s.id_hash = $1"
    ))
    .bind(sha256_hex(sid))
    .fetch_optional(&store.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let expires: String = row.try_get("expires_at")?;
    if expires < now_rfc3339() {
        return Ok(None);
    }
    let user = user_from_row(&row)?;
    if user.disabled {
        return Ok(None);
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

/// A new API token for `user_name`: returns the token itself (shown once).
pub async fn create_token(store: &Store, user_name: &str, label: &str) -> Result<String> {
    let user = find_user(store, user_name)
        .await?
        .ok_or_else(|| Error::not_found(format!("unknown user {user_name:?}")))?;
    let token = format!("dg_{}", random_token());
    let mut tx = store.begin_write().await?;
    sqlx::query(
        "INSERT INTO web_tokens (user_id, label, token_hash, created_at, revoked) VALUES ($1, $2, $3, $4, 0)",
    )
    .bind(user.id)
    .bind(label)
    .bind(sha256_hex(&token))
    .bind(now_rfc3339())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(token)
}

pub async fn token_user(store: &Store, token: &str) -> Result<Option<User>> {
    let cols = USER_COLS
        .split(", ")
        .map(|c| format!("u.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let row = sqlx::query(&format!(
        "SELECT {cols} FROM web_tokens t JOIN web_users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.revoked = 0"
    ))
    .bind(sha256_hex(token.trim()))
    .fetch_optional(&store.pool)
    .await?;
    let user = row.as_ref().map(user_from_row).transpose()?;
    Ok(user.filter(|u| !u.disabled))
}

// ---------------------------------------------------------------- throttling

/// Login throttling: after `max_failures` failed logins for one key (user name or
/// client address) within `window`, the key is locked for `lockout`.
pub struct Throttle {
    max_failures: u32,
    window: Duration,
    lockout: Duration,
    map: Mutex<HashMap<String, (u32, Instant, Option<Instant>)>>,
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

    /// Err(seconds to wait) while the key is locked.
    pub fn check(&self, key: &str) -> std::result::Result<(), u64> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, Some(until))) = map.get(key) {
            let now = Instant::now();
            if *until > now {
                return Err((*until - now).as_secs().max(1));
            }
        }
        Ok(())
    }

    pub fn fail(&self, key: &str) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if map.len() > 100_000 {
            map.retain(|_, (_, first, until)| {
                now.duration_since(*first) < self.window || until.is_some_and(|u| u > now)
            });
        }
        let e = map.entry(key.to_string()).or_insert((0, now, None));
        if now.duration_since(e.1) > self.window && e.2.is_none_or(|u| u <= now) {
            *e = (0, now, None);
        }
        e.0 += 1;
        if e.0 >= self.max_failures {
            e.2 = Some(now + self.lockout);
            e.0 = 0;
            e.1 = now;
        }
    }

    pub fn succeed(&self, key: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
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
    fn throttle_locks_after_failures_and_success_clears() {
        let t = Throttle::new(3, Duration::from_secs(60), Duration::from_secs(30));
        for _ in 0..2 {
            t.fail("u:kati");
        }
        assert!(t.check("u:kati").is_ok());
        t.fail("u:kati");
        let wait = t.check("u:kati").unwrap_err();
        assert!((1..=30).contains(&wait));
        assert!(t.check("u:other").is_ok());
        t.succeed("u:kati");
        assert!(t.check("u:kati").is_ok());
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

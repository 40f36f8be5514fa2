//! IMAP accounts: TLS (plain only to a loopback host), UIDVALIDITY + last UID per
//! folder, acknowledge (flag \Seen or move) only after the commit, IDLE when the
//! server offers it, and a lease row so that two docgate processes sharing a
//! database never fetch the same mailbox at once.
//!
//! An unchanged mailbox costs no download: SELECT reports UIDNEXT, and when it is
//! not past the last UID we handled there is nothing to search or fetch.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::error::{Error, Result};
use crate::model::Channel;
use crate::periodic::{Backoff, Every, Next};
use crate::store::Store;

use super::fault::{self, Attempts, Fault};
use super::mail::{self, Outcome};
use super::quarantine;
use super::ImapAccount;
use crate::extract::mail::sha256_hex;

/// Lease length; renewed at least every third of it.
pub const LEASE: Duration = Duration::from_secs(60);

/// The connection: plain (left, loopback only) or TLS (right).
pub type Conn = Either<TcpStream, Box<tokio_rustls::client::TlsStream<TcpStream>>>;

pub type Session = async_imap::Session<Conn>;

fn imap_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("imap {what}: {e}"))
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks an account's settings; names the account in the error.
/// Called for every account by `IngestConfig::validate` (so by `Config::validate`, at start).
pub fn validate(acc: &ImapAccount) -> Result<()> {
    let bad = |key: &str, why: String| {
        Err(Error::invalid(format!(
            "invalid ingest.imap.{key} of account {:?}: {why}",
            acc.name
        )))
    };
    if acc.name.trim().is_empty() {
        return bad("name", "empty (a name for logs and the lease)".into());
    }
    let host = acc.host.trim();
    if host.is_empty() {
        return bad("host", "empty".into());
    }
    if host.contains(|c: char| c.is_whitespace() || c == '/' || c == '@') {
        return bad("host", format!("{host:?} is not a host name or address"));
    }
    if acc.port == 0 {
        return bad("port", "0".into());
    }
    if acc.security == super::ImapSecurity::Plain && !is_loopback(&acc.host) {
        return bad(
            "security",
            format!(
                "\"plain\" is allowed only to a loopback host, not {:?}",
                acc.host
            ),
        );
    }
    if acc.folders.is_empty() || acc.folders.iter().any(|f| f.trim().is_empty()) {
        return bad("folders", "no folders, or an empty folder name".into());
    }
    crate::config::check_duration(
        "ingest.imap.poll",
        acc.poll,
        Duration::from_secs(1),
        Duration::from_secs(86_400),
    )
    .map_err(|e| Error::invalid(format!("{e} (account {:?})", acc.name)))?;
    Ok(())
}

fn password(acc: &ImapAccount) -> Result<String> {
    if !acc.password_env.is_empty() {
        return std::env::var(&acc.password_env).map_err(|_| {
            Error::invalid(format!(
                "invalid ingest.imap.password_env of account {:?}: environment variable {} is not set",
                acc.name, acc.password_env
            ))
        });
    }
    Ok(acc.password.clone())
}

/// Connects and logs in.
pub async fn connect(acc: &ImapAccount) -> Result<Session> {
    validate(acc)?;
    let tcp = tokio::time::timeout(
        Duration::from_secs(30),
        TcpStream::connect((acc.host.as_str(), acc.port)),
    )
    .await
    .map_err(|_| imap_err("connect", format!("{}:{} timed out", acc.host, acc.port)))?
    .map_err(|e| imap_err("connect", format!("{}:{}: {e}", acc.host, acc.port)))?;
    let conn = if acc.security == super::ImapSecurity::Tls {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if !acc.ca_file.as_os_str().is_empty() {
            use rustls::pki_types::pem::PemObject;
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(&acc.ca_file)
                .map_err(|e| imap_err("ca file", e))?;
            for c in certs {
                let c = c.map_err(|e| imap_err("ca file", e))?;
                roots.add(c).map_err(|e| imap_err("ca file", e))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| imap_err("tls", e))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(acc.host.clone())
            .map_err(|e| imap_err("tls server name", e))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| imap_err("tls handshake", e))?;
        Either::Right(Box::new(tls))
    } else {
        Either::Left(tcp)
    };
    let mut client = async_imap::Client::new(conn);
    match client.read_response().await {
        Some(Ok(_)) => {}
        Some(Err(e)) => return Err(imap_err("greeting", e)),
        None => return Err(imap_err("greeting", "connection closed")),
    }
    let pw = password(acc)?;
    client
        .login(&acc.username, &pw)
        .await
        .map_err(|(e, _)| imap_err(&format!("login as {}", acc.username), e))
}

/// Takes or renews the lease `name` for `holder`; false when another holds it.
pub async fn acquire_lease(store: &Store, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
    let now = jiff::Timestamp::now();
    let until = crate::store::ts_text(now + jiff::SignedDuration::from_secs(ttl.as_secs() as i64));
    let mut tx = store.begin_write().await?;
    let res = sqlx::query(
        "INSERT INTO ingest_lease (name, holder, until) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
         WHERE ingest_lease.holder = excluded.holder OR ingest_lease.until < $4",
    )
    .bind(name)
    .bind(holder)
    .bind(&until)
    .bind(crate::store::ts_text(now))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(res.rows_affected() == 1)
}

pub async fn release_lease(store: &Store, name: &str, holder: &str) -> Result<()> {
    let mut tx = store.begin_write().await?;
    sqlx::query("DELETE FROM ingest_lease WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

async fn load_state(store: &Store, account: &str, folder: &str) -> Result<Option<(i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT uidvalidity, last_uid FROM ingest_imap_state WHERE account = $1 AND folder = $2",
    )
    .bind(account)
    .bind(folder)
    .fetch_optional(&store.pool)
    .await?)
}

async fn save_state(store: &Store, account: &str, folder: &str, uv: i64, last: i64) -> Result<()> {
    let mut tx = store.begin_write().await?;
    sqlx::query(
        "INSERT INTO ingest_imap_state (account, folder, uidvalidity, last_uid) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (account, folder) DO UPDATE SET uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid",
    )
    .bind(account)
    .bind(folder)
    .bind(uv)
    .bind(last)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What one pass over a folder did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FolderPass {
    /// Messages downloaded.
    pub fetched: usize,
    pub registered: usize,
    pub duplicates: usize,
    pub quarantined: usize,
}

/// Reads the new messages of one folder, registers them and acknowledges each
/// after its commit.
pub async fn sync_folder(
    app: &App,
    acc: &ImapAccount,
    session: &mut Session,
    folder: &str,
    lease: Option<(&str, &str)>,
    shutdown: &CancellationToken,
) -> Result<FolderPass> {
    let mut attempts = Attempts::default();
    sync_folder_with(app, acc, session, folder, lease, shutdown, &mut attempts).await
}

/// [`sync_folder`] counting transient failures per message across passes. A
/// message over `max_message_size` is never downloaded: it is quarantined by
/// metadata (size, UID, reason) and left on the server; one that fails for a
/// reason of its own is quarantined and acknowledged; a transient fault ends the
/// pass without acknowledging (the caller reconnects after a pause).
pub async fn sync_folder_with(
    app: &App,
    acc: &ImapAccount,
    session: &mut Session,
    folder: &str,
    lease: Option<(&str, &str)>,
    shutdown: &CancellationToken,
    attempts: &mut Attempts,
) -> Result<FolderPass> {
    let mb = session
        .select(folder)
        .await
        .map_err(|e| imap_err(&format!("select {folder}"), e))?;
    let uv = i64::from(mb.uid_validity.unwrap_or(0));
    let mut last = match load_state(&app.store, &acc.name, folder).await? {
        Some((suv, l)) if suv == uv => l,
        Some(_) => {
            tracing::warn!(
                "imap {}/{folder}: UIDVALIDITY changed to {uv}: reading the folder again (duplicates are recognised)",
                acc.name
            );
            0
        }
        None => 0,
    };
    let mut pass = FolderPass::default();
    if let Some(next) = mb.uid_next {
        if i64::from(next) <= last + 1 {
            return Ok(pass); // unchanged: nothing to search or download
        }
    }
    if mb.exists == 0 {
        save_state(&app.store, &acc.name, folder, uv, last).await?;
        return Ok(pass);
    }
    // The new messages' UIDs with their sizes (no body yet): the size is checked
    // before anything is downloaded.
    let mut sized: Vec<(u32, u64)> = {
        let mut stream = session
            .uid_fetch(format!("{}:*", last + 1), "(UID RFC822.SIZE)")
            .await
            .map_err(|e| imap_err("fetch sizes", e))?;
        let mut v = Vec::new();
        while let Some(f) = stream.next().await {
            let f = f.map_err(|e| imap_err("fetch sizes", e))?;
            if let Some(uid) = f.uid {
                v.push((uid, u64::from(f.size.unwrap_or(0))));
            }
        }
        v
    };
    sized.retain(|&(u, _)| i64::from(u) > last);
    sized.sort_unstable();
    sized.dedup_by_key(|(u, _)| *u);
    let limit = app.config.ingest.max_message_size;
    for (uid, size) in sized {
        if shutdown.is_cancelled() {
            break;
        }
        if let Some((name, holder)) = lease {
            if !acquire_lease(&app.store, name, holder, LEASE).await? {
                return Err(imap_err("lease", format!("lost the lease {name}")));
            }
        }
        let source = format!("imap:{}/{folder}/{uv}/{uid}", acc.name);
        let kept_at = format!(
            "IMAP {}:{} {folder} UIDVALIDITY {uv} UID {uid} (serveris / on the server{})",
            acc.host,
            acc.port,
            acc.after
                .move_to()
                .map(|t| format!(", moved to {t}"))
                .unwrap_or_default()
        );
        if size > limit {
            // Never downloaded: kept by metadata, the message left on the server.
            let reason = format!(
                "kiri on liiga suur (message too large): {size} baiti/bytes, piir/limit {limit} (max_message_size)"
            );
            quarantine::put_aside(
                &app.store,
                &source,
                &format!("unread:{source}"),
                size,
                &reason,
                &kept_at,
            )
            .await?;
            pass.quarantined += 1;
            acknowledge(session, acc, uid).await?;
            last = i64::from(uid);
            save_state(&app.store, &acc.name, folder, uv, last).await?;
            continue;
        }
        // INTERNALDATE: when the server accepted the message (its arrival).
        let (raw, arrival) = {
            let mut stream = session
                .uid_fetch(uid.to_string(), "(UID INTERNALDATE BODY.PEEK[])")
                .await
                .map_err(|e| imap_err("fetch", e))?;
            let mut raw: Option<Vec<u8>> = None;
            let mut arrival: Option<jiff::Timestamp> = None;
            while let Some(f) = stream.next().await {
                let f = f.map_err(|e| imap_err("fetch", e))?;
                if f.uid == Some(uid) || raw.is_none() {
                    if let Some(b) = f.body() {
                        raw = Some(b.to_vec());
                    }
                    if let Some(d) = f.internal_date() {
                        arrival = jiff::Timestamp::from_second(d.timestamp()).ok();
                    }
                }
            }
            (raw, arrival)
        };
        let Some(raw) = raw else {
            // Expunged meanwhile.
            last = i64::from(uid);
            save_state(&app.store, &acc.name, folder, uv, last).await?;
            continue;
        };
        pass.fetched += 1;
        // The bytes for the quarantine, should ingest fail (small ones only).
        let keep = (raw.len() <= mail::QUARANTINE_ROW_MAX).then(|| raw.clone());
        let (size, sha) = (raw.len() as u64, sha256_hex(&raw));
        // In a task of its own: a panic while ingesting one message is that
        // message's fault, not the account's end.
        let (a, src) = (app.clone(), source.clone());
        let o = tokio::spawn(async move {
            mail::ingest_message_at(&a, raw, &src, Channel::Email, arrival).await
        })
        .await
        .unwrap_or_else(|e| Err(fault::panic_error(&source, e)));
        match o {
            Ok(Outcome::Registered { .. }) => pass.registered += 1,
            Ok(Outcome::Duplicate { .. }) => pass.duplicates += 1,
            Ok(Outcome::Quarantined { .. }) => pass.quarantined += 1,
            Err(e) => {
                if fault::classify(&e) == Fault::Transient && !attempts.failed(&source) {
                    // Not acknowledged: read again after the pause.
                    return Err(e);
                }
                tracing::error!("imap {source}: quarantined: {e}");
                let reason = fault::reason_of(&e);
                match keep {
                    Some(raw) => quarantine::put(&app.store, &source, raw, &reason).await?,
                    None => {
                        quarantine::put_aside(&app.store, &source, &sha, size, &reason, &kept_at)
                            .await?
                    }
                };
                pass.quarantined += 1;
            }
        }
        attempts.done(&source);
        // Acknowledge only after the commit.
        acknowledge(session, acc, uid).await?;
        last = i64::from(uid);
        save_state(&app.store, &acc.name, folder, uv, last).await?;
    }
    Ok(pass)
}

/// Acknowledges a message handled: moved to the `after` folder, or flagged \Seen.
async fn acknowledge(session: &mut Session, acc: &ImapAccount, uid: u32) -> Result<()> {
    if let Some(target) = acc.after.move_to() {
        session
            .uid_mv(uid.to_string(), target)
            .await
            .map_err(|e| imap_err(&format!("move to {target}"), e))?;
    } else {
        let s = session
            .uid_store(uid.to_string(), "+FLAGS.SILENT (\\Seen)")
            .await
            .map_err(|e| imap_err("store \\Seen", e))?;
        let _: Vec<_> = s.collect().await;
    }
    Ok(())
}

/// Runs one account until shutdown: lease, connect, sync every folder, then IDLE
/// (or sleep) and again. Errors reconnect after a pause.
pub async fn run(app: App, acc: ImapAccount, shutdown: CancellationToken) -> Result<()> {
    validate(&acc)?;
    let lease_name = format!("imap:{}", acc.name);
    let holder = format!("{}:{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let mut attempts = Attempts::default();
    // Without the lease (another process reads the account) look again at a
    // third of it; after an error reconnect after 2 s, doubling to 2 minutes.
    let mut every = Every::new(format!("imap {}", acc.name), LEASE / 3).backoff(Backoff {
        first: Duration::from_secs(2),
        max: Duration::from_secs(120),
    });
    while every.tick(&shutdown).await {
        let round = match acquire_lease(&app.store, &lease_name, &holder, LEASE).await {
            Ok(false) => Ok(Next::Wait),
            Ok(true) => {
                // Returns Ok only once shutdown has fired.
                account_loop(&app, &acc, &lease_name, &holder, &shutdown, &mut attempts)
                    .await
                    .map(|()| Next::Again)
            }
            Err(e) => Err(e),
        };
        every.done(round);
    }
    let _ = release_lease(&app.store, &lease_name, &holder).await;
    Ok(())
}

async fn account_loop(
    app: &App,
    acc: &ImapAccount,
    lease_name: &str,
    holder: &str,
    shutdown: &CancellationToken,
    attempts: &mut Attempts,
) -> Result<()> {
    let mut session = connect(acc).await?;
    let idle_ok = acc.idle
        && acc.folders.len() == 1
        && session
            .capabilities()
            .await
            .map(|c| c.has_str("IDLE"))
            .unwrap_or(false);
    let wait = acc.poll.max(Duration::from_secs(1)).min(LEASE / 3);
    loop {
        if !acquire_lease(&app.store, lease_name, holder, LEASE).await? {
            return Err(imap_err("lease", format!("lost the lease {lease_name}")));
        }
        for folder in &acc.folders {
            let p = sync_folder_with(
                app,
                acc,
                &mut session,
                folder,
                Some((lease_name, holder)),
                shutdown,
                attempts,
            )
            .await?;
            if p.fetched > 0 {
                tracing::info!("imap {}/{folder}: {p:?}", acc.name);
            }
        }
        if shutdown.is_cancelled() {
            let _ = session.logout().await;
            return Ok(());
        }
        if idle_ok {
            let mut idle = session.idle();
            idle.init().await.map_err(|e| imap_err("idle", e))?;
            let (fut, stop) = idle.wait_with_timeout(wait);
            let stopped = tokio::select! {
                r = fut => { r.map_err(|e| imap_err("idle", e))?; false }
                _ = shutdown.cancelled() => true,
            };
            drop(stop);
            session = idle.done().await.map_err(|e| imap_err("idle done", e))?;
            if stopped {
                let _ = session.logout().await;
                return Ok(());
            }
        } else {
            if crate::periodic::sleep_or_shutdown(wait, shutdown).await {
                let _ = session.logout().await;
                return Ok(());
            }
            session.noop().await.map_err(|e| imap_err("noop", e))?;
        }
    }
}

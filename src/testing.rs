//! Helpers for tests (used by the integration tests of every area): a fresh
//! register on SQLite in a temporary directory, or on a fresh PostgreSQL database
//! when `DOCGATE_TEST_POSTGRES_URL` is set.

use crate::config::Config;

/// The PostgreSQL server tests may use, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("DOCGATE_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// Whether a test must fail, not skip, when a service it needs is missing:
/// `DOCGATE_REQUIRE_SERVICES=1` (`.ci/run` exports it) or `CI` set.
pub fn services_required() -> bool {
    std::env::var("DOCGATE_REQUIRE_SERVICES")
        .map(|v| !v.is_empty() && v != "0")
        .unwrap_or(false)
        || std::env::var_os("CI").is_some()
}

/// The one place a test reports a missing service (PostgreSQL, Dovecot, an SMTP
/// server, Chromium, schemathesis, pdftotext, …). When services are required it
/// panics, naming the service and how to provide it; otherwise it prints a loud
/// SKIPPED line and the caller returns.
#[track_caller]
pub fn missing_service(what: &str, how: &str) {
    if services_required() {
        panic!("{what} is missing and DOCGATE_REQUIRE_SERVICES/CI is set: {how}");
    }
    eprintln!(
        "\n*** SKIPPED at {}: {what} is missing ({how}) ***\n",
        std::panic::Location::caller()
    );
}

/// The backends to run a store test against: always SQLite, PostgreSQL when configured.
pub fn backends() -> Vec<&'static str> {
    let mut v = vec!["sqlite"];
    if postgres_url().is_some() {
        v.push("postgres");
    } else {
        missing_service(
            "PostgreSQL (DOCGATE_TEST_POSTGRES_URL)",
            "start PostgreSQL and set DOCGATE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test",
        );
    }
    v
}

/// A temporary register. The directory is removed when dropped; a PostgreSQL test
/// database is left for inspection (its name is in `database`).
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub config: Config,
    pub database: Option<String>,
}

/// Creates a fresh database named uniquely on the test server and returns its URL:
/// the one "fresh PostgreSQL database" helper of the tests. None (after
/// [`missing_service`], which panics when services are required) without a server.
pub async fn fresh_postgres_database() -> Option<String> {
    use sqlx::{Connection, Executor};
    let Some(base) = postgres_url() else {
        missing_service(
            "PostgreSQL (DOCGATE_TEST_POSTGRES_URL)",
            "start PostgreSQL and set DOCGATE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test",
        );
        return None;
    };
    let name = format!("dgt_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&base)
        .await
        .expect("connect to DOCGATE_TEST_POSTGRES_URL");
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    let _ = conn.close().await;
    let url = match base.rfind('/') {
        Some(i) if base[..i].contains("://") && i > base.find("://").unwrap() + 2 => {
            let rest = &base[i + 1..];
            let query = rest.find('?').map(|q| &rest[q..]).unwrap_or("");
            format!("{}/{name}{query}", &base[..i])
        }
        _ => format!("{base}/{name}"),
    };
    Some(url)
}

impl TestEnv {
    /// A fresh register on the named backend ("sqlite" or "postgres").
    pub async fn new(backend: &str) -> TestEnv {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config {
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        let mut database = None;
        if backend == "postgres" {
            let url = fresh_postgres_database()
                .await
                .expect("DOCGATE_TEST_POSTGRES_URL is set");
            config.database_url = url.clone();
            database = Some(url);
        }
        TestEnv {
            dir,
            config,
            database,
        }
    }

    pub async fn app(&self) -> crate::App {
        crate::App::open(self.config.clone())
            .await
            .expect("open app")
    }

    /// Environment variables that point a `docgate` process at this register.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut v = vec![(
            "DOCGATE_DATA_DIR".to_string(),
            self.config.data_dir.display().to_string(),
        )];
        v.push((
            "DOCGATE_DATABASE_URL".to_string(),
            self.config.database_url.clone(),
        ));
        v
    }
}

/// A free TCP port on the loopback address (for a server a test starts).
///
/// The port is taken below the kernel's ephemeral range (32768 and up on
/// Linux), never from it: a port the kernel hands out for `bind(0)` can be
/// handed to another test at the same moment, and a test that keeps
/// connecting to an ephemeral port nothing listens on can be answered by
/// its own socket (a TCP self-connect, when the kernel picks that port as
/// the source). Each call in a process gives a different port; processes
/// start at different places by their id, and a port something holds is
/// passed over.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        (std::process::id().wrapping_mul(7919)) % SPAN,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..SPAN {
        let port = (LOW + NEXT.fetch_add(1, Ordering::SeqCst) % SPAN) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {LOW}..{}", LOW + SPAN)
}

/// The password [`add_user`] gives every test user.
pub const TEST_PASSWORD: &str = "parool-12345";

/// Creates a web user (password [`TEST_PASSWORD`], full name "{name} full").
pub async fn add_user(
    app: &crate::app::App,
    name: &str,
    role: crate::web::Role,
    unit: Option<&str>,
) -> crate::web::User {
    crate::web::auth::create_user(
        &app.store,
        &crate::web::auth::NewUser {
            name: name.into(),
            full_name: format!("{name} full"),
            role,
            unit: unit.map(Into::into),
            email: None,
            password: TEST_PASSWORD.into(),
        },
    )
    .await
    .expect("create a test user")
}

/// Creates a web user as [`add_user`] does and returns an API token of theirs.
pub async fn user_with_token(
    app: &crate::app::App,
    name: &str,
    role: crate::web::Role,
    unit: Option<&str>,
) -> String {
    add_user(app, name, role, unit).await;
    crate::web::auth::create_token(&app.store, name, "test")
        .await
        .expect("create a test token")
}

/// A connection pool of its own on `app`'s database, outside the register (whose
/// pool is crate-private): for tests and benchmarks that read rows as they are
/// stored, or tamper with them as an intruder with database access would.
pub async fn raw_pool(app: &crate::app::App) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new()
        .max_connections(2)
        .connect(&app.config.database_url())
        .await
        .expect("a raw connection to the test database")
}

#[cfg(test)]
mod tests {
    use super::free_port;

    /// Guards the config-start test that once saw "something listened" on a
    /// port it only watched: ports come from below the ephemeral range (no
    /// self-connect), and threads asking at once never get the same one.
    #[test]
    fn free_ports_are_below_the_ephemeral_range_and_never_given_twice() {
        let ports: Vec<u16> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|_| s.spawn(|| (0..50).map(|_| free_port()).collect::<Vec<_>>()))
                .collect();
            hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        let mut seen = std::collections::HashSet::new();
        for p in &ports {
            assert!(
                (20_000..32_000).contains(p),
                "port {p} outside 20000..32000"
            );
            assert!(seen.insert(*p), "port {p} given twice");
        }
        assert_eq!(seen.len(), 400);
    }
}

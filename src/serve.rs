//! `docgate serve`: the daemon. One process runs the HTTP server (web app, JSON API,
//! public register), the DHX endpoint on its own listener (`dhx.listen`, only
//! for the X-Road security server), the ingest sources, the search indexer, the
//! deadline scheduler and the outbox workers, until the shutdown token fires.

use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::error::{Error, Result};

/// The sockets `serve` answers on, bound by the caller (tests bind `127.0.0.1:0`).
#[derive(Debug, Default)]
pub struct Listeners {
    /// The web application, the API, the public register and `/healthz`.
    pub web: Option<tokio::net::TcpListener>,
    /// `POST /dhx` (see [`crate::dhx::listen`]): allowed peers or mutual TLS only.
    pub dhx: Option<tokio::net::TcpListener>,
}

/// Runs everything until `shutdown` is cancelled, the web on `listener` (`None`
/// runs without HTTP) and no DHX listener.
pub async fn serve(
    app: App,
    listener: Option<tokio::net::TcpListener>,
    shutdown: CancellationToken,
) -> Result<()> {
    serve_with(
        app,
        Listeners {
            web: listener,
            dhx: None,
        },
        shutdown,
    )
    .await
}

/// Runs everything until `shutdown` is cancelled, on the listeners given.
pub async fn serve_with(app: App, listeners: Listeners, shutdown: CancellationToken) -> Result<()> {
    bound_malloc();
    let mut tasks: tokio::task::JoinSet<(&'static str, Result<()>)> = tokio::task::JoinSet::new();
    if let Some(listener) = listeners.dhx {
        tasks.spawn(named(
            "dhx listener",
            crate::dhx::listen::serve(app.clone(), listener, shutdown.clone()),
        ));
    }
    if let Some(listener) = listeners.web {
        let router = http_router(app.clone());
        let sd = shutdown.clone();
        tasks.spawn(async move {
            let r = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async move { sd.cancelled().await })
            .await
            .map_err(|e| Error::io("http server failed", e));
            ("http", r)
        });
    }
    // The background parts, each stopped by the same token.
    tasks.spawn(named(
        "ingest",
        crate::ingest::run(app.clone(), shutdown.clone()),
    ));
    tasks.spawn(named(
        "search indexer",
        crate::search::run(app.clone(), shutdown.clone()),
    ));
    tasks.spawn(named(
        "deadline scheduler",
        crate::reminder::run(app.clone(), shutdown.clone()),
    ));
    tasks.spawn(named(
        "e-mail outbox",
        crate::outbox::smtp::run(app.clone(), shutdown.clone()),
    ));
    tasks.spawn(named(
        "dhx outbox",
        crate::dhx::send::run(app.clone(), shutdown.clone()),
    ));
    tasks.spawn(named(
        "dhx adapter poller",
        crate::dhx::poll::run(app.clone(), shutdown.clone()),
    ));
    tasks.spawn(named(
        "ocr worker",
        crate::ocr::run(app.clone(), shutdown.clone()),
    ));
    let mut first_error = None;
    while let Some(res) = tasks.join_next().await {
        match res {
            Ok((name, Err(e))) => {
                tracing::error!("{name} stopped: {e}");
                if first_error.is_none() {
                    first_error = Some(e);
                }
                shutdown.cancel();
            }
            Ok((name, Ok(()))) => tracing::info!("{name} stopped"),
            Err(e) => {
                tracing::error!("a task panicked: {e}");
                shutdown.cancel();
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The HTTP router of the web port: the web application, the API, the public
/// register and `/healthz`. `POST /dhx` is not on it (see [`Listeners::dhx`]).
pub fn http_router(app: App) -> axum::Router {
    crate::web::router(app).route("/healthz", axum::routing::get(|| async { "ok" }))
}

/// glibc's allocator keeps freed memory in per-thread arenas and, after a large
/// buffer is freed, raises its mmap threshold (up to 32 MB) so that later
/// buffers of that size come from the arenas too and are never given back: a
/// daemon that once handled large requests stays large. A fixed threshold
/// (buffers of 128 KB and more are mapped, and unmapped when freed) and at most
/// four arenas keep the resident size near what is in use.
fn bound_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is safe to call at
    // any time, and a refused setting (return 0) changes nothing.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 4);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 4 * 1024 * 1024);
    }
}

async fn named<F>(name: &'static str, f: F) -> (&'static str, Result<()>)
where
    F: std::future::Future<Output = Result<()>>,
{
    (name, f.await)
}

//! `docgate serve`: the daemon. One process runs the HTTP server (web app, JSON API,
//! public register, DHX endpoint), the ingest sources, the search indexer, the
//! deadline scheduler and the outbox workers, until the shutdown token fires.

use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::error::{Error, Result};

/// Runs everything until `shutdown` is cancelled. `listener` is injectable so tests
/// can bind `127.0.0.1:0`; `None` runs without HTTP.
pub async fn serve(
    app: App,
    listener: Option<tokio::net::TcpListener>,
    shutdown: CancellationToken,
) -> Result<()> {
    let mut tasks: tokio::task::JoinSet<(&'static str, Result<()>)> = tokio::task::JoinSet::new();
    if let Some(listener) = listener {
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

/// The HTTP router: the web application and API, and the DHX endpoint.
pub fn http_router(app: App) -> axum::Router {
    // web: the application, the API and the public register (crate::web::router).
    crate::web::router(app.clone())
        .merge(crate::dhx::endpoint::routes(app))
        .route("/healthz", axum::routing::get(|| async { "ok" }))
}

async fn named<F>(name: &'static str, f: F) -> (&'static str, Result<()>)
where
    F: std::future::Future<Output = Result<()>>,
{
    (name, f.await)
}

//! The DHX listener: `POST /dhx` on its own address (`dhx.listen`), never on the
//! public web port, answered only to the X-Road security server: a peer address
//! in `dhx.allowed_clients` (addresses or CIDR blocks), or — when `dhx.tls` is
//! set — a client certificate verified against `dhx.tls.client_ca` (mutual TLS).
//! Anyone else gets 403 before a byte of the body is read.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;

use super::{DhxConfig, DhxTls};
use crate::app::App;
use crate::error::{Error, Result};

/// An address or a CIDR block of allowed DHX clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientNet {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for ClientNet {
    type Err = Error;
    fn from_str(s: &str) -> Result<ClientNet> {
        let bad = || {
            Error::invalid(format!(
                "invalid dhx.allowed_clients entry {s:?}: expected an IP address or CIDR block (192.0.2.10, 10.1.0.0/16, 2001:db8::/32)"
            ))
        };
        let (a, p) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(ClientNet { addr, prefix })
    }
}

impl ClientNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Who may call the DHX endpoint.
#[derive(Debug, Clone, Default)]
pub struct Access {
    pub clients: Vec<ClientNet>,
}

impl Access {
    pub fn from_config(c: &DhxConfig) -> Result<Access> {
        Ok(Access {
            clients: c
                .allowed_clients
                .iter()
                .map(|s| s.parse())
                .collect::<Result<_>>()?,
        })
    }

    /// Whether `peer` may send: an allowed address, or a verified client certificate.
    pub fn allows(&self, peer: &DhxPeer) -> bool {
        peer.client_cert || self.clients.iter().any(|n| n.contains(peer.addr.ip()))
    }
}

/// The peer of a DHX connection, as the listener saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DhxPeer {
    pub addr: SocketAddr,
    /// The peer presented a client certificate that chains to `dhx.tls.client_ca`.
    pub client_cert: bool,
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, DhxListener>>
    for DhxPeer
{
    fn connect_info(s: axum::serve::IncomingStream<'_, DhxListener>) -> Self {
        *s.remote_addr()
    }
}

/// The middleware of the DHX routes: 403 (before the body is read) unless the
/// peer is allowed. A request without peer information (not from a
/// [`DhxListener`]) is refused too.
pub async fn check_access(State(access): State<Arc<Access>>, req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<DhxPeer>>().copied();
    match peer {
        Some(ConnectInfo(p)) if access.allows(&p) => next.run(req).await,
        other => {
            tracing::warn!(
                "dhx: refused a request from {:?} (not in dhx.allowed_clients, no verified client certificate)",
                other.map(|ConnectInfo(p)| p.addr)
            );
            (
                StatusCode::FORBIDDEN,
                [
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                    (header::CONNECTION, "close"),
                ],
                "keelatud: DHX päringuid võetakse vastu ainult X-tee turvaserverilt\nforbidden: DHX requests are accepted from the X-Road security server only\n",
            )
                .into_response()
        }
    }
}

/// A connection of the DHX listener: plain TCP (left) or TLS (right).
pub type DhxIo = Either<TcpStream, Box<tokio_rustls::server::TlsStream<TcpStream>>>;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The DHX listener: plain TCP, or TLS with optional client certificates
/// verified against a CA. TLS handshakes run in their own tasks (with a time
/// limit), so a slow client cannot hold up the others.
pub struct DhxListener {
    local: SocketAddr,
    inner: Inner,
}

enum Inner {
    Plain(TcpListener),
    Tls(tokio::sync::mpsc::Receiver<(DhxIo, DhxPeer)>),
}

impl DhxListener {
    /// Wraps `listener`; with `tls`, every connection is a TLS server connection
    /// that asks for (but does not require) a client certificate.
    pub fn new(listener: TcpListener, tls: Option<&DhxTls>) -> Result<DhxListener> {
        let local = listener
            .local_addr()
            .map_err(|e| Error::io("dhx listener has no address", e))?;
        let Some(tls) = tls else {
            return Ok(DhxListener {
                local,
                inner: Inner::Plain(listener),
            });
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config(tls)?));
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (tcp, addr) = tokio::select! {
                    _ = tx.closed() => return,
                    r = listener.accept() => match r {
                        Ok(x) => x,
                        Err(e) => {
                            tracing::warn!("dhx: accept failed: {e}");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(s)) => {
                            let client_cert = s
                                .get_ref()
                                .1
                                .peer_certificates()
                                .is_some_and(|c| !c.is_empty());
                            let _ = tx
                                .send((Either::Right(Box::new(s)), DhxPeer { addr, client_cert }))
                                .await;
                        }
                        Ok(Err(e)) => tracing::info!("dhx: TLS handshake with {addr} failed: {e}"),
                        Err(_) => tracing::info!("dhx: TLS handshake with {addr} timed out"),
                    }
                });
            }
        });
        Ok(DhxListener {
            local,
            inner: Inner::Tls(rx),
        })
    }
}

impl axum::serve::Listener for DhxListener {
    type Io = DhxIo;
    type Addr = DhxPeer;

    async fn accept(&mut self) -> (DhxIo, DhxPeer) {
        match &mut self.inner {
            Inner::Plain(l) => {
                // TcpListener's own accept loop (it logs and retries errors).
                let (s, addr) = axum::serve::Listener::accept(l).await;
                (
                    Either::Left(s),
                    DhxPeer {
                        addr,
                        client_cert: false,
                    },
                )
            }
            Inner::Tls(rx) => match rx.recv().await {
                Some(x) => x,
                // The acceptor task ended: nothing more will come.
                None => std::future::pending().await,
            },
        }
    }

    fn local_addr(&self) -> std::io::Result<DhxPeer> {
        Ok(DhxPeer {
            addr: self.local,
            client_cert: false,
        })
    }
}

fn read_pem(what: &str, path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::invalid(format!(
            "invalid dhx.tls.{what}: cannot read {}: {e}",
            path.display()
        ))
    })
}

fn certs(what: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let pem = read_pem(what, path)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::invalid(format!("invalid dhx.tls.{what} {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::invalid(format!(
            "invalid dhx.tls.{what} {}: no certificate in it",
            path.display()
        )));
    }
    Ok(certs)
}

/// The TLS server configuration of `dhx.tls`: our certificate chain and key,
/// and client certificates verified against `client_ca` (optional at the TLS
/// level, so that an allowed address may still call without one; the access
/// check decides).
pub fn server_config(tls: &DhxTls) -> Result<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certs("cert", &tls.cert)?;
    let key = PrivateKeyDer::from_pem_slice(&read_pem("key", &tls.key)?)
        .map_err(|e| Error::invalid(format!("invalid dhx.tls.key {}: {e}", tls.key.display())))?;
    let mut roots = rustls::RootCertStore::empty();
    for c in certs("client_ca", &tls.client_ca)? {
        roots.add(c).map_err(|e| {
            Error::invalid(format!(
                "invalid dhx.tls.client_ca {}: {e}",
                tls.client_ca.display()
            ))
        })?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .allow_unauthenticated()
    .build()
    .map_err(|e| Error::invalid(format!("invalid dhx.tls.client_ca: {e}")))?;
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal(format!("dhx TLS: {e}")))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| Error::invalid(format!("invalid dhx.tls.cert/key: {e}")))
}

/// Serves the DHX routes on `listener` (with `dhx.tls` when configured) until
/// `shutdown`.
pub async fn serve(app: App, listener: TcpListener, shutdown: CancellationToken) -> Result<()> {
    let l = DhxListener::new(listener, app.config.dhx.tls.as_ref())?;
    let router = super::endpoint::routes(app);
    axum::serve(l, router.into_make_service_with_connect_info::<DhxPeer>())
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .map_err(|e| Error::io("dhx listener failed", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_nets_match_addresses_and_blocks() {
        let n: ClientNet = "10.1.0.0/16".parse().unwrap();
        assert!(n.contains("10.1.200.3".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.0.9".parse().unwrap()));
        let one: ClientNet = "127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let v6: ClientNet = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("2001:db9::5".parse().unwrap()));
        let all: ClientNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("192.0.2.1".parse().unwrap()));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "x",
            "10.0.0.0/a",
            "evil.example",
        ] {
            assert!(bad.parse::<ClientNet>().is_err(), "{bad}");
        }
        let a = Access { clients: vec![one] };
        let peer = |ip: &str, cert| DhxPeer {
            addr: SocketAddr::new(ip.parse().unwrap(), 5000),
            client_cert: cert,
        };
        assert!(a.allows(&peer("127.0.0.1", false)));
        assert!(!a.allows(&peer("192.0.2.1", false)));
        assert!(a.allows(&peer("192.0.2.1", true)));
    }
}

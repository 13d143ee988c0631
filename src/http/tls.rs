//! HTTPS: a certificate from files (`--tls-cert`/`--tls-key`), or one
//! generated at start for `localhost` and `127.0.0.1` (`--tls-self-signed
//! PEM_OUT`, written out for clients to trust, as `ssl_ca_cert` in the
//! Python SDK).
//!
//! TLS sits above the fault listener, so connection faults work over HTTPS
//! too. Handshakes run in their own tasks, so a slow or silent client cannot
//! hold up the accept loop; each must finish within the read timeout, and
//! takes its place under the connection cap before it starts (a flood of
//! handshakes cannot exhaust descriptors either).

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::http::conn::{ConnHandle, FaultListener, FaultStream};
use crate::http::passthrough::{Hooks, Passthrough};
use crate::http::serve::{Connections, FaultIo, Slot};

/// Where the certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// PEM files: the certificate chain and its private key.
    Files {
        /// Certificate chain (PEM).
        cert: PathBuf,
        /// Private key (PEM, PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
    /// A certificate generated at start for `localhost` and `127.0.0.1`,
    /// whose PEM is written to this path.
    SelfSigned(PathBuf),
}

/// Builds the server's TLS configuration (HTTP/1.1 over TLS 1.2 and 1.3).
pub(crate) fn config(source: &TlsSource) -> Result<Arc<ServerConfig>, String> {
    let (chain, key) = match source {
        TlsSource::Files { cert, key } => (read_chain(cert)?, read_key(key)?),
        TlsSource::SelfSigned(pem_out) => self_signed(pem_out)?,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the TLS certificate and key do not form a usable pair: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read the TLS certificate {}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("bad PEM in {}: {e}", path.display()))?;
    if chain.is_empty() {
        return Err(format!("no certificate in {}", path.display()));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| format!("cannot read a private key from {}: {e}", path.display()))
}

/// Generates a certificate for `localhost` and `127.0.0.1` and writes its PEM.
fn self_signed(
    pem_out: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("cannot generate a certificate: {e}"))?;
    std::fs::write(pem_out, certified.cert.pem())
        .map_err(|e| format!("cannot write the certificate to {}: {e}", pem_out.display()))?;
    let key = PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    Ok((vec![certified.cert.der().clone()], key))
}

/// A TLS connection, with its place under the connection cap (until the
/// accept loop takes it).
pub(crate) type TlsConn = Passthrough<TlsStream<FaultStream>, Option<Slot>>;

impl FaultIo for TlsConn {
    fn conn_handle(&self) -> ConnHandle {
        self.io.get_ref().0.handle()
    }

    fn take_slot(&mut self) -> Option<Slot> {
        self.hooks.take()
    }
}

/// A connection's slot adds nothing to its writes.
impl<S> Hooks<S> for Option<Slot> {}

/// A listener that yields TLS connections, handshaken in the background.
#[derive(Debug)]
pub(crate) struct TlsListener {
    ready: mpsc::Receiver<(TlsConn, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `inner` with `config`. Each connection takes a
    /// place in `connections` before its handshake, which must finish
    /// within `handshake_timeout`.
    pub(crate) fn new(
        mut inner: FaultListener,
        config: Arc<ServerConfig>,
        connections: Arc<Connections>,
        handshake_timeout: Duration,
    ) -> io::Result<Self> {
        let local = inner.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let (stream, addr) = inner.accept().await;
                if tx.is_closed() {
                    break;
                }
                let Some(slot) = connections.admit() else {
                    continue; // at the cap, every connection busy: closed at once
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    tokio::select! {
                        done = acceptor.accept(stream) => match done {
                            Ok(stream) => {
                                slot.touch();
                                let conn = Passthrough { io: stream, hooks: Some(slot) };
                                let _ = tx.send((conn, addr)).await;
                            }
                            Err(e) => tracing::debug!(%addr, "TLS handshake failed: {e}"),
                        },
                        () = slot.watch(handshake_timeout) => {
                            tracing::debug!(%addr, "TLS handshake timed out");
                        }
                    }
                });
            }
        });
        Ok(Self { ready, local })
    }
}

impl Listener for TlsListener {
    type Io = TlsConn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept task only ends when this listener is gone.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

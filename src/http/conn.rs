//! Connection faults at the socket: a listener whose streams can be told to
//! reset (TCP RST, via `SO_LINGER` 0) or to close without a byte.
//!
//! The fault middleware flags the request's connection through the
//! [`ConnHandle`] in its `ConnectInfo`; the next write hyper attempts then
//! fails, hyper drops the connection, and the client sees a reset or an empty
//! reply, never a partial HTTP answer. Everything else passes straight through.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use axum::serve::Listener;
use tokio::net::{TcpListener, TcpStream};

use crate::http::passthrough::{Hooks, Passthrough, VectoredWrite};

use serde::{Deserialize, Serialize};

const NONE: u8 = 0;
const RESET: u8 = 1;
const EMPTY: u8 = 2;

/// A connection-level fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionFault {
    /// Reset the connection (TCP RST) without answering.
    Reset,
    /// Close the connection without sending a byte.
    Empty,
    /// Answer 200 with a truncated body that does not parse as JSON.
    Malformed,
}

/// A TCP listener whose connections can be broken on purpose.
#[derive(Debug)]
pub(crate) struct FaultListener {
    inner: TcpListener,
}

impl FaultListener {
    /// Wraps a bound listener.
    pub(crate) fn new(inner: TcpListener) -> Self {
        Self { inner }
    }
}

impl Listener for FaultListener {
    type Io = FaultStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    let hooks = ConnHandle(Arc::new(AtomicU8::new(NONE)));
                    return (Passthrough { io: stream, hooks }, addr);
                }
                // Per-connection errors (the peer gave up) need no pause; others
                // (such as running out of file descriptors) do, as axum does.
                Err(e) if is_connection_error(&e) => {}
                Err(e) => {
                    tracing::error!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// An accepted connection; its [`ConnHandle`] fails its writes once a
/// fault broke it.
pub(crate) type FaultStream = Passthrough<TcpStream, ConnHandle>;

/// Lets a request break its own connection. Reach it as
/// `ConnectInfo<ConnHandle>` in request extensions.
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle(Arc<AtomicU8>);

impl ConnHandle {
    /// Breaks the connection instead of answering.
    pub(crate) fn break_with(&self, fault: ConnectionFault) {
        let code = match fault {
            ConnectionFault::Reset => RESET,
            ConnectionFault::Empty | ConnectionFault::Malformed => EMPTY,
        };
        self.0.store(code, Ordering::SeqCst);
    }
}

impl FaultStream {
    /// The handle that breaks this connection.
    pub(crate) fn handle(&self) -> ConnHandle {
        self.hooks.clone()
    }
}

impl Hooks<TcpStream> for ConnHandle {
    /// `Some(error)` once the connection is to be broken; arms the RST first.
    fn before_write(&self, io: &TcpStream) -> Option<io::Error> {
        match self.0.load(Ordering::SeqCst) {
            NONE => None,
            RESET => {
                // Linger 0: closing sends RST instead of FIN. It never blocks.
                let _ = socket2::SockRef::from(io).set_linger(Some(Duration::ZERO));
                Some(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "fault: reset",
                ))
            }
            _ => Some(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "fault: empty",
            )),
        }
    }

    const WRITE_VECTORED: Option<VectoredWrite<TcpStream>> =
        Some(crate::http::zerocopy::poll_write_vectored);
}

//! Connection faults at the socket: a listener whose streams can be told to
//! reset (TCP RST, via `SO_LINGER` 0) or to close without a byte.
//!
//! The fault middleware flags the request's connection through the
//! [`ConnHandle`] in its `ConnectInfo`; the next write hyper attempts then
//! fails, hyper drops the connection, and the client sees a reset or an empty
//! reply, never a partial HTTP answer. Everything else passes straight through.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

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
                    let state = Arc::new(AtomicU8::new(NONE));
                    return (
                        FaultStream {
                            inner: stream,
                            state,
                        },
                        addr,
                    );
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

/// An accepted connection.
#[derive(Debug)]
pub(crate) struct FaultStream {
    inner: TcpStream,
    state: Arc<AtomicU8>,
}

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
        ConnHandle(self.state.clone())
    }

    /// `Some(error)` once the connection is to be broken; arms the RST first.
    fn broken(&self) -> Option<io::Error> {
        match self.state.load(Ordering::SeqCst) {
            NONE => None,
            RESET => {
                // Linger 0: closing sends RST instead of FIN. It never blocks.
                let _ = socket2::SockRef::from(&self.inner).set_linger(Some(Duration::ZERO));
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
}

impl AsyncRead for FaultStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for FaultStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(e) = this.broken() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(e) = this.broken() {
            return Poll::Ready(Err(e));
        }
        if let Some(sent) = crate::http::zerocopy::poll_write_vectored(&this.inner, cx, bufs) {
            return sent;
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

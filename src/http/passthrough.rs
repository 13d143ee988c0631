//! The one stream wrapper of this layer. Each of its streams passes reads
//! and writes straight to the stream inside and adds a little to writes:
//!
//! - the fault stream ([`conn`](crate::http::conn)) fails a write once a
//!   fault rule broke its connection, and sends large answers zero-copy;
//! - the TLS connection ([`tls`](crate::http::tls)) adds nothing to writes,
//!   it only carries its place under the connection cap;
//! - the tracked stream ([`serve`](crate::http::serve)) counts written
//!   bytes as progress while an answer is being sent.
//!
//! What a stream adds is its [`Hooks`]; [`Passthrough`] does the rest, once.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A vectored write on a stream `S`, or `None` when it leaves the write to
/// the stream.
pub(crate) type VectoredWrite<S> =
    fn(&S, &mut Context<'_>, &[io::IoSlice<'_>]) -> Option<Poll<io::Result<usize>>>;

/// What a [`Passthrough`] adds to the writes on its stream `S`; every
/// method does nothing by default.
pub(crate) trait Hooks<S> {
    /// Before each write: an error fails the write instead.
    fn before_write(&self, _io: &S) -> Option<io::Error> {
        None
    }

    /// A vectored write done another way (zero-copy), tried before the
    /// stream's own; it answers `None` to leave a write to the stream.
    const WRITE_VECTORED: Option<VectoredWrite<S>> = None;

    /// After each write that was attempted, with its outcome.
    fn after_write(&self, _result: &Poll<io::Result<usize>>) {}
}

/// A stream `io` whose reads pass through untouched and whose writes pass
/// through `hooks`.
#[derive(Debug)]
pub(crate) struct Passthrough<S, H> {
    /// The stream inside.
    pub(crate) io: S,
    /// What this stream adds to writes.
    pub(crate) hooks: H,
}

impl<S, H: Hooks<S>> Passthrough<S, H> {
    /// Runs one write between the hooks.
    fn write(
        &mut self,
        op: impl FnOnce(&mut S) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.hooks.before_write(&self.io) {
            return Poll::Ready(Err(e));
        }
        let result = op(&mut self.io);
        self.hooks.after_write(&result);
        result
    }
}

impl<S: AsyncRead + Unpin, H: Unpin> AsyncRead for Passthrough<S, H> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin, H: Hooks<S> + Unpin> AsyncWrite for Passthrough<S, H> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().write(|io| Pin::new(io).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().write(
            |io| match H::WRITE_VECTORED.and_then(|write| write(io, cx, bufs)) {
                Some(sent) => sent,
                None => Pin::new(io).poll_write_vectored(cx, bufs),
            },
        )
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

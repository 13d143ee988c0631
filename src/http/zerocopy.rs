//! Zero-copy sending of large cached answers (Linux; elsewhere a no-op).
//!
//! Writing a 50 KB answer to a socket copies it into the kernel, and on
//! loopback that copy was the largest single cost of a cached page (a quarter
//! of the CPU time in a profile). nginx avoids it with `sendfile(2)`, and so
//! does this module:
//!
//! - [`share`] copies a large, immutable body once into an anonymous in-memory
//!   file (`memfd_create(2)`) and returns the same bytes, now registered:
//!   their address range maps to that file while the returned `Bytes` (or any
//!   clone of it) is alive.
//! - [`poll_write_vectored`], called by the plain-TCP stream under hyper,
//!   looks up each slice hyper hands it. A slice inside a registered range is
//!   sent with `sendfile(2)` from the file, at the same offset (the file holds
//!   the very same bytes); the slices before it (the response head) go first
//!   with `MSG_MORE`, so the head and the body leave in the same segments.
//!
//! Nothing else changes: TLS streams never see registered memory (they write
//! ciphertext), and when anything fails (no `memfd_create`, a seccomp filter)
//! the bytes are written as usual.

use std::io;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::net::TcpStream;

/// Bodies at least this large are shared.
pub const MIN_SHARED: usize = 16 * 1024;

/// Most bodies shared at once: each holds a file descriptor, and the process
/// may run under a low `ulimit -n`. Beyond it, bodies are written as usual.
pub(crate) const MAX_SHARED: usize = 64;

/// Shares `body` for zero-copy sending (see the module docs), or returns it
/// as is when it is small or sharing fails.
pub(crate) fn share(body: Bytes) -> Bytes {
    imp::share(body)
}

/// Writes `bufs` to `tcp` with `sendfile(2)` when one of them is shared
/// memory; `None` when none is (the caller then writes as usual).
pub(crate) fn poll_write_vectored(
    tcp: &TcpStream,
    cx: &mut Context<'_>,
    bufs: &[io::IoSlice<'_>],
) -> Option<Poll<io::Result<usize>>> {
    imp::poll_write_vectored(tcp, cx, bufs)
}

/// How many bodies are shared now (for tests and diagnostics).
pub fn shared_count() -> usize {
    imp::shared_count()
}

#[cfg(target_os = "linux")]
mod imp {
    use std::collections::BTreeMap;
    use std::fs::File;
    use std::io::{self, Write as _};
    use std::os::fd::OwnedFd;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, PoisonError, RwLock};
    use std::task::{Context, Poll, ready};

    use bytes::Bytes;
    use rustix::fs::{MemfdFlags, SealFlags};
    use rustix::net::{SendAncillaryBuffer, SendFlags};
    use tokio::io::Interest;
    use tokio::net::TcpStream;

    use super::{MAX_SHARED, MIN_SHARED};

    /// Slices shorter than this are written as usual (the end of a body
    /// after a partial send, say): a syscall of their own would cost more.
    const MIN_SENDFILE: usize = 4096;

    /// A shared address range: `[start, end)` holds the bytes of `file`.
    #[derive(Debug)]
    struct Region {
        end: usize,
        file: Arc<OwnedFd>,
    }

    /// Registered ranges by start address.
    static REGIONS: RwLock<BTreeMap<usize, Region>> = RwLock::new(BTreeMap::new());
    static COUNT: AtomicUsize = AtomicUsize::new(0);

    /// Owns a shared body: keeps its memory alive while registered, and
    /// unregisters it before the memory can be freed.
    struct Shared {
        bytes: Bytes,
        start: usize,
    }

    impl AsRef<[u8]> for Shared {
        fn as_ref(&self) -> &[u8] {
            &self.bytes
        }
    }

    impl Drop for Shared {
        fn drop(&mut self) {
            let removed = REGIONS
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&self.start);
            if removed.is_some() {
                COUNT.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// A sealed in-memory file holding `bytes`.
    fn file_of(bytes: &[u8]) -> io::Result<OwnedFd> {
        let fd = rustix::fs::memfd_create(
            "ims-swr-mock-answer",
            MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
        )?;
        let mut file = File::from(fd);
        file.write_all(bytes)?;
        let fd = OwnedFd::from(file);
        // The file can never change: what sendfile reads is what was written.
        rustix::fs::fcntl_add_seals(
            &fd,
            SealFlags::WRITE | SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL,
        )?;
        Ok(fd)
    }

    pub(super) fn share(body: Bytes) -> Bytes {
        if body.len() < MIN_SHARED {
            return body;
        }
        // Take a slot first, so the cap holds under concurrent calls.
        let slot = COUNT.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            (n < MAX_SHARED).then_some(n + 1)
        });
        if slot.is_err() {
            return body;
        }
        let file = match file_of(&body) {
            Ok(file) => Arc::new(file),
            Err(e) => {
                COUNT.fetch_sub(1, Ordering::Relaxed);
                tracing::debug!("zero-copy sending unavailable: {e}");
                return body;
            }
        };
        let start = body.as_ptr() as usize;
        let end = start + body.len();
        let previous = REGIONS
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(start, Region { end, file });
        if previous.is_some() {
            // Replaced, not added: one region fewer than the slots taken.
            COUNT.fetch_sub(1, Ordering::Relaxed);
        }
        // `from_owner` points at the owner's bytes: the same addresses.
        Bytes::from_owner(Shared { bytes: body, start })
    }

    pub(super) fn shared_count() -> usize {
        COUNT.load(Ordering::Relaxed)
    }

    #[cfg(test)]
    pub(super) fn is_registered(start: usize) -> bool {
        REGIONS
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(&start)
    }

    /// The first slice inside a registered range: its index, the file, and
    /// the slice's offset in the file.
    fn find(bufs: &[io::IoSlice<'_>]) -> Option<(usize, Arc<OwnedFd>, u64)> {
        let regions = REGIONS.read().unwrap_or_else(PoisonError::into_inner);
        bufs.iter().enumerate().find_map(|(i, buf)| {
            if buf.len() < MIN_SENDFILE {
                return None;
            }
            let at = buf.as_ptr() as usize;
            let (start, region) = regions.range(..=at).next_back()?;
            // A slice of live memory that starts in a registered range lies
            // in that allocation; still, check that it ends inside it too.
            (at + buf.len() <= region.end).then(|| (i, region.file.clone(), (at - start) as u64))
        })
    }

    pub(super) fn poll_write_vectored(
        tcp: &TcpStream,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Option<Poll<io::Result<usize>>> {
        if COUNT.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let (index, file, offset) = find(bufs)?;
        Some(if index > 0 {
            // The head: held back (MSG_MORE) to leave with the body.
            poll_io(tcp, cx, || {
                let mut control = SendAncillaryBuffer::default();
                rustix::net::sendmsg(tcp, &bufs[..index], &mut control, SendFlags::MORE)
            })
        } else {
            let len = bufs[0].len();
            poll_io(tcp, cx, || {
                let mut offset = offset;
                rustix::fs::sendfile(tcp, &*file, Some(&mut offset), len)
            })
        })
    }

    /// Runs a non-blocking socket operation when the socket is writable.
    fn poll_io(
        tcp: &TcpStream,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> rustix::io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(tcp.poll_write_ready(cx))?;
            match tcp.try_io(Interest::WRITABLE, || op().map_err(io::Error::from)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::io;
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use tokio::net::TcpStream;

    pub(super) fn share(body: Bytes) -> Bytes {
        body
    }

    pub(super) fn shared_count() -> usize {
        0
    }

    pub(super) fn poll_write_vectored(
        _tcp: &TcpStream,
        _cx: &mut Context<'_>,
        _bufs: &[io::IoSlice<'_>],
    ) -> Option<Poll<io::Result<usize>>> {
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::future::poll_fn;
    use std::io::IoSlice;
    use std::pin::Pin;
    use std::time::Duration;

    use bytes::Bytes;
    use tokio::io::{AsyncReadExt, AsyncWrite};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    /// The registry is process-wide and capped: these tests take turns, so
    /// one filling it cannot starve another.
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    fn turn() -> tokio::sync::MutexGuard<'static, ()> {
        TURN.blocking_lock()
    }

    fn pattern(len: usize) -> Bytes {
        (0..len)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect::<Vec<u8>>()
            .into()
    }

    #[test]
    fn small_bodies_are_left_alone_and_shared_ones_keep_their_bytes() {
        let _turn = turn();
        let small = pattern(MIN_SHARED - 1);
        let same = share(small.clone());
        assert_eq!(same.as_ptr(), small.as_ptr());
        let big = pattern(MIN_SHARED * 3);
        let shared = share(big.clone());
        assert_eq!(shared, big);
        assert_eq!(shared.as_ptr(), big.as_ptr(), "the same memory, registered");
    }

    /// A tiny send buffer and a slow reader force many partial sends: the
    /// head (with `MSG_MORE`), then the body in pieces from the file, and
    /// finally a short tail written as usual.
    #[tokio::test]
    async fn partial_sends_deliver_every_byte_in_order() {
        let _turn = TURN.lock().await;
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 300000\r\n\r\n".to_vec();
        let body = share(pattern(300_000));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        socket2::SockRef::from(&server)
            .set_send_buffer_size(4096)
            .unwrap();
        let total = head.len() + body.len();
        let reader = tokio::spawn(async move {
            let mut received = Vec::new();
            let mut chunk = [0u8; 3000];
            while received.len() < total {
                let n = client.read(&mut chunk).await.unwrap();
                assert!(n > 0);
                received.extend_from_slice(&chunk[..n]);
                tokio::time::sleep(Duration::from_micros(50)).await;
            }
            received
        });
        let (mut head_at, mut body_at, mut zero_copy, mut calls) = (0, 0, 0, 0);
        while body_at < body.len() {
            let bufs = [
                IoSlice::new(&head[head_at..]),
                IoSlice::new(&body[body_at..]),
            ];
            let bufs = if head_at < head.len() {
                &bufs[..]
            } else {
                &bufs[1..]
            };
            let n = poll_fn(|cx| match poll_write_vectored(&server, cx, bufs) {
                Some(sent) => {
                    zero_copy += 1;
                    sent
                }
                None => Pin::new(&mut server).poll_write_vectored(cx, bufs),
            })
            .await
            .unwrap();
            calls += 1;
            let to_head = n.min(head.len() - head_at);
            head_at += to_head;
            body_at += n - to_head;
        }
        assert!(calls > 3, "{calls} writes: the sends were not partial");
        assert!(zero_copy > 1, "{zero_copy} zero-copy writes");
        let received = reader.await.unwrap();
        assert_eq!(&received[..head.len()], &head[..]);
        assert!(received[head.len()..] == body[..], "body differs");
    }

    #[test]
    fn at_most_max_shared_bodies_hold_a_file() {
        let _turn = turn();
        let bodies: Vec<Bytes> = (0..MAX_SHARED + 16)
            .map(|i| {
                let mut body = pattern(MIN_SHARED).to_vec();
                body[0] = i.to_le_bytes()[0]; // distinct first bytes, wrapping at 256
                Bytes::from(body)
            })
            .collect();
        let shared: Vec<Bytes> = bodies.iter().cloned().map(share).collect();
        assert!(shared_count() <= MAX_SHARED, "{}", shared_count());
        assert_eq!(shared, bodies, "shared or not, the bytes are the same");
        drop(shared);
        drop(bodies);
        assert!(share(pattern(MIN_SHARED)).len() == MIN_SHARED);
    }

    #[test]
    fn a_dropped_body_is_unregistered() {
        let _turn = turn();
        let body = share(pattern(MIN_SHARED * 2));
        let start = body.as_ptr() as usize;
        let registered = || imp::is_registered(start);
        assert!(registered());
        let clone = body.clone();
        drop(body);
        assert!(registered(), "a clone keeps it registered");
        drop(clone);
        assert!(!registered());
    }
}

//! What the core asks of a connection's byte stream beyond reading and writing: sending file bytes
//! straight from the page cache (`sendfile.rs`), holding a head back for the file that follows it,
//! and waiting until the client sends more without reading it (a parked connection, see
//! `connection/lifecycle.rs`). Plain TCP and Unix sockets can do all three; TLS can wait; in-memory
//! streams take the defaults.
use std::fs::File;
use std::io;
use std::task::{Context, Poll};

pub(crate) trait Socket {
    /// True where [`Socket::poll_send_file`] works.
    fn zero_copy(&self) -> bool {
        false
    }

    /// Writes `bufs` as the start of a longer message (a head a file follows): TCP holds them for
    /// the file's first segment instead of sending a packet of their own (`MSG_MORE`).
    fn poll_write_more(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>>
    where
        Self: tokio::io::AsyncWrite + Unpin,
    {
        std::pin::Pin::new(self).poll_write_vectored(cx, bufs)
    }

    /// Sends up to `len` bytes of `file` at `offset`; how many went.
    fn poll_send_file(
        &mut self,
        _cx: &mut Context<'_>,
        _file: &File,
        _offset: u64,
        _len: usize,
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(io::ErrorKind::Unsupported.into()))
    }

    /// True where [`Socket::poll_read_ready`] works.
    fn waits_readable(&self) -> bool {
        false
    }

    /// Ready once the peer sent something (or closed), with nothing read.
    fn poll_read_ready(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Err(io::ErrorKind::Unsupported.into()))
    }
}

/// Runs a non-blocking write `op` on `stream` once it has room, the way tokio's own writes wait.
#[cfg(target_os = "linux")]
macro_rules! when_writable {
    ($stream:expr, $cx:expr, $op:expr) => {
        loop {
            std::task::ready!($stream.poll_write_ready($cx))?;
            match $stream.try_io(tokio::io::Interest::WRITABLE, $op) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                done => return Poll::Ready(done),
            }
        }
    };
}

/// A kernel socket: readiness on every platform; on Linux `sendfile` (and, on TCP, `MSG_MORE` for
/// what precedes a file).
macro_rules! plain_socket {
    ($stream:ty $(, $more:ident)?) => {
        impl Socket for $stream {
            fn waits_readable(&self) -> bool {
                true
            }

            fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$stream>::poll_read_ready(self, cx)
            }

            #[cfg(target_os = "linux")]
            fn zero_copy(&self) -> bool {
                true
            }
$(
            #[cfg(target_os = "linux")]
            fn $more(
                &mut self,
                cx: &mut Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                use rustix::net::{sendmsg, SendAncillaryBuffer, SendFlags};
                when_writable!(self, cx, || {
                    let mut control = SendAncillaryBuffer::default();
                    Ok(sendmsg(&*self, bufs, &mut control, SendFlags::MORE)?)
                })
            }
)?

            #[cfg(target_os = "linux")]
            fn poll_send_file(
                &mut self,
                cx: &mut Context<'_>,
                file: &File,
                offset: u64,
                len: usize,
            ) -> Poll<io::Result<usize>> {
                when_writable!(self, cx, || {
                    Ok(rustix::fs::sendfile(&*self, file, Some(&mut offset.clone()), len)?)
                })
            }
        }
    };
}

// TCP also holds a head back for the file's first segment; a Unix socket has no segments to fill, so
// its head is written as it is.
plain_socket!(tokio::net::TcpStream, poll_write_more);
#[cfg(unix)]
plain_socket!(tokio::net::UnixStream);
/// TLS waits on its TCP socket. A parked session had read until rustls had no plaintext left and
/// the socket nothing more (tokio-rustls returns `Pending` only then), so what comes next arrives on
/// the socket; a partial record it holds completes with bytes that make the socket ready too.
impl Socket for tokio_rustls::server::TlsStream<tokio::net::TcpStream> {
    fn waits_readable(&self) -> bool {
        true
    }

    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_ref().0.poll_read_ready(cx)
    }
}
impl Socket for tokio::io::DuplexStream {}

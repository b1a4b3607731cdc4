//! Binding listeners: TCP (IPv4/IPv6, SO_REUSEPORT, backlog) and Unix domain sockets.
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;

use crate::config::Config;

/// A bound listener of either kind.
pub(crate) enum Listener {
    Tcp(tokio::net::TcpListener),
    #[cfg(unix)]
    Unix(tokio::net::UnixListener),
}

pub(crate) fn bind_tcp(
    host: &str,
    port: u16,
    config: &Config,
) -> io::Result<tokio::net::TcpListener> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addr: SocketAddr = (host, port).to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("cannot resolve {host}"),
        )
    })?;
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    #[cfg(all(unix, not(target_os = "solaris"), not(target_os = "illumos")))]
    if config.reuse_port {
        socket.set_reuse_port(true)?;
    }
    if addr.is_ipv6() {
        // `::` should also take IPv4 clients, as uvicorn's does on Linux.
        let _ = socket.set_only_v6(false);
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(config.backlog.min(i32::MAX as u32) as i32)?;
    tokio::net::TcpListener::from_std(socket.into())
}

#[cfg(unix)]
pub(crate) fn bind_unix(path: &Path) -> io::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            std::fs::remove_file(path)?;
        }
    }
    tokio::net::UnixListener::bind(path)
}

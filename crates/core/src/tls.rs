//! TLS termination in the core (rustls with the ring provider): the app sees `https`/`wss`.
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// Certificate chain and private key, as PEM files.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The certificate chain (leaf first).
    pub cert_file: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

fn invalid(what: &str, path: &std::path::Path, err: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what} {}: {err}", path.display()),
    )
}

/// Loads the files into an acceptor that offers HTTP/2 and HTTP/1.1 over ALPN.
pub(crate) fn acceptor(files: &TlsFiles) -> io::Result<TlsAcceptor> {
    let certs = CertificateDer::pem_file_iter(&files.cert_file)
        .map_err(|e| invalid("cannot read the certificate", &files.cert_file, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("cannot parse the certificate", &files.cert_file, e))?;
    if certs.is_empty() {
        return Err(invalid("no certificate in", &files.cert_file, "empty"));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key_file)
        .map_err(|e| invalid("cannot read the private key", &files.key_file, e))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid("the key does not fit the certificate", &files.key_file, e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

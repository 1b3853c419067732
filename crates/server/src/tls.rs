//! TLS for non-loopback listeners: credentials must not cross a network in the clear.

use crate::{Config, Error, Result};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

pub fn acceptor(config: &Config) -> Result<Option<TlsAcceptor>> {
    match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            let certs =
                rustls_pemfile::certs(&mut std::io::BufReader::new(std::fs::File::open(cert)?))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
            let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(
                std::fs::File::open(key)?,
            ))?
            .ok_or_else(|| Error::Tls("no private key in --tls-key".into()))?;
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let cfg = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| Error::Tls(e.to_string()))?
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .map_err(|e| Error::Tls(e.to_string()))?;
            Ok(Some(TlsAcceptor::from(Arc::new(cfg))))
        }
        (None, None) => {
            if !config.listen.ip().is_loopback() && !config.allow_plaintext {
                return Err(Error::Config(format!(
                    "listening on {} needs --tls-cert and --tls-key (or --allow-plaintext)",
                    config.listen
                )));
            }
            Ok(None)
        }
        _ => Err(Error::Config("--tls-cert and --tls-key go together".into())),
    }
}

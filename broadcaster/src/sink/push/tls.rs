//! TLS for `wss://` collectors: rustls with the ring provider, trusting the
//! system's store and any `--push-ca` file. The certificate chain and the
//! host name are always verified; nothing turns that off.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, ClientConfig, RootCertStore};

/// The client configuration shared by every collector.
pub fn config(ca: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    if let Some(file) = ca {
        let certs = CertificateDer::pem_file_iter(file)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| {
                format!(
                    "--push-ca {}: cannot read PEM certificates: {e}",
                    file.display()
                )
            })?;
        if certs.is_empty() {
            return Err(format!(
                "--push-ca {}: expected PEM certificates (-----BEGIN CERTIFICATE-----), found none",
                file.display()
            ));
        }
        for c in certs {
            roots.add(c).map_err(|e| {
                format!(
                    "--push-ca {}: not a usable CA certificate: {e}",
                    file.display()
                )
            })?;
        }
    } else if added == 0 {
        log::info!(
            "ssi-broadcaster: warning: no trusted certificates in the system store; \
             wss:// collectors will be refused unless --push-ca names their CA."
        );
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A short reason for a TLS failure, in the words the manual uses.
pub fn reason(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                "certificate not trusted".into()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "name mismatch (the certificate is for another host name)".into()
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "certificate expired".into()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "certificate not valid yet".into()
            }
            CertificateError::Revoked => "certificate revoked".into(),
            other => format!("certificate not trusted ({other:?})"),
        },
        other => format!("TLS: {other}"),
    }
}

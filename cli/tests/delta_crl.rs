//! `trustplane serve` serves an authority's delta CRL (RFC 5280 §5.2.4) at the URL its complete
//! CRLs name in Freshest CRL (§5.2.6): `/crl/<authorityId>-delta.crl`, as S3 does on AWS.

mod common;

use common::Server;
use std::path::Path;
use trustplane_core::config::Config;
use trustplane_core::pki::{crl, delta_crl};
use trustplane_core::services::pki::Pki;

/// Publishes the next CRL of every authority of the embedded backend in `data_dir` (while no
/// server runs on it); returns their ids.
fn publish_every_crl(data_dir: &Path) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut config = Config::from_lookup(|_| None).unwrap();
        config.data_dir = data_dir.to_path_buf();
        let (ports, _queue) = trustplane_core::wiring::open(&config).await.unwrap();
        let pki = Pki::new(ports, std::sync::Arc::new(config));
        let mut ids = Vec::new();
        for authority in pki.all_authorities().await.unwrap() {
            pki.publish_crl(&authority.id, None).await.unwrap();
            ids.push(authority.id);
        }
        ids
    })
}

#[test]
fn serve_answers_the_delta_crl_url_with_the_published_delta() {
    let (data, scratch) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    Server::start(data.path()).stop();
    let authorities = publish_every_crl(data.path());
    assert!(!authorities.is_empty(), "serve created the default hierarchy");
    let server = Server::start(data.path());
    for id in &authorities {
        let (base, delta) = (scratch.path().join(format!("{id}.crl")), scratch.path().join(format!("{id}-delta.crl")));
        let (code, _) = server.curl(&[&format!("/crl/{id}.crl"), "-o", base.to_str().unwrap()]);
        assert_eq!(code, 200);
        let (code, _) = server.curl(&[&format!("/crl/{id}-delta.crl"), "-o", delta.to_str().unwrap()]);
        assert_eq!(code, 200, "the delta CRL of {id}");
        let (base, delta) = (std::fs::read(base).unwrap(), std::fs::read(delta).unwrap());
        let base_number = crl::number(&base).unwrap();
        assert_eq!((crl::number(&delta), delta_crl::base_number(&delta)), (Some(base_number), Some(base_number - 1)), "{id}");
    }
    let (code, _) = server.curl(&["/crl/no-such-authority-delta.crl"]);
    assert_eq!(code, 404);
    assert!(server.stop().status.success());
}

//! Certificates stored before channels (no `channel`, pointer under `CN#<name>`) still read as
//! the channel that wrote them, on the embedded backend (`::sqlite`) and on moto (`::moto`).

mod support;

use support::{text, Backend};
use trustplane_core::on_both_backends;
use trustplane_core::ports::Condition;
use trustplane_core::services::pki::Channel;

on_both_backends!(a_puppet_certificate_stored_before_channels_is_still_served_and_still_blocks_a_second_enrolment);

/// Rewrites the newest certificate of `name` into the pre-channel layout.
async fn make_legacy(b: &Backend, name: &str) -> String {
    let store = &b.state.ports.store;
    let cert = b.pki().certificates_named(Channel::Puppet, name).await.unwrap().pop().unwrap();
    let mut item = store.get(&format!("CERT#{}", cert.id), "CERT").await.unwrap().unwrap();
    item.data.as_object_mut().unwrap().remove("channel");
    let version = item.version;
    item.version += 1;
    store.put(item, Condition::Version(version)).await.unwrap();
    let mut pointer = store.get(&format!("CN#puppet#{name}"), &cert.id).await.unwrap().unwrap();
    store.delete(&pointer.pk, &cert.id, Condition::Always).await.unwrap();
    pointer.pk = format!("CN#{name}");
    store.put(pointer, Condition::Absent).await.unwrap();
    cert.certificate_pem
}

async fn a_puppet_certificate_stored_before_channels_is_still_served_and_still_blocks_a_second_enrolment(b: Backend) {
    b.enrol("old.example.com").await;
    let pem = make_legacy(&b, "old.example.com").await;
    let served = b.get("/puppet-ca/v1/certificate/old.example.com", None).await;
    assert_eq!((served.status.as_u16(), text(&served).trim()), (200, pem.trim()));
    let again = b.put_csr("old.example.com", &support::csr("old.example.com").1).await;
    assert_eq!(again.status, 400, "{}", text(&again));
    let legacy = b.pki().certificates_by_common_name("old.example.com").await.unwrap();
    assert_eq!((legacy.len(), legacy[0].stored_channel, legacy[0].channel()), (1, None, Channel::Puppet));
}

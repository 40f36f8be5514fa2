//! A DHX adapter server of the tests (`dhx.rs`, `faults.rs`): hands out the
//! capsules queued in `batches` to receiveDocuments, one batch a call, and
//! records what markDocumentsReceived acknowledged; and the capsules it hands out.
#![allow(dead_code)]

use std::path::Path;

use docgate::dhx::capsule;

/// A file of `fixtures/dhx`.
pub fn fixture(p: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/dhx")
            .join(p),
    )
    .unwrap()
}

/// A valid capsule addressed to `to`, with a real gzip file.
pub fn capsule_to(to: &str, title: &str) -> Vec<u8> {
    let mut c = capsule::read(&fixture("capsule/kapsel_21.xml"), &Default::default()).unwrap();
    c.transport.dec_recipients = vec![capsule::DecParty {
        organisation_code: to.into(),
        ..Default::default()
    }];
    c.record_metadata.record_title = title.into();
    for f in &mut c.files {
        f.content = format!("sisu: {}", f.name).into_bytes();
        f.size = Some(f.content.len().to_string());
        f.content_error = None;
    }
    capsule::write(&c).unwrap().into_bytes()
}

#[derive(Default)]
pub struct AdapterPeer {
    pub batches: std::collections::VecDeque<Vec<Vec<u8>>>,
    pub marked: Vec<Vec<String>>,
    pub receive_calls: usize,
}

pub async fn start_adapter_peer(
    peer: std::sync::Arc<std::sync::Mutex<AdapterPeer>>,
) -> (String, tokio::task::JoinHandle<()>) {
    let dhl = docgate::dhx::adapter::DHL_NS;
    let id_re = regex::Regex::new(r"<dhl_id>([^<]*)</dhl_id>").unwrap();
    let handler = move |body: String| {
        let peer = peer.clone();
        let id_re = id_re.clone();
        async move {
            let mut p = peer.lock().unwrap();
            let env = |op: &str, keha: &str| {
                format!(
                    r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x:{op}Response xmlns:x="{dhl}"><keha>{keha}</keha></x:{op}Response></s:Body></s:Envelope>"#
                )
            };
            if body.contains("receiveDocuments") {
                p.receive_calls += 1;
                let batch = p.batches.pop_front().unwrap_or_default();
                let zipped = if batch.is_empty() {
                    String::new()
                } else {
                    capsule::encode_zip_base64(&batch.concat())
                };
                env(
                    "receiveDocuments",
                    &format!("<dokumendid>{zipped}</dokumendid>"),
                )
            } else if body.contains("markDocumentsReceived") {
                let ids = id_re
                    .captures_iter(&body)
                    .map(|c| c[1].to_string())
                    .collect();
                p.marked.push(ids);
                env("markDocumentsReceived", "OK")
            } else {
                r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><Fault><faultcode>Client</faultcode><faultstring>unknown operation</faultstring></Fault></Body></Envelope>"#.to_string()
            }
        }
    };
    let router = axum::Router::new().route("/", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let h = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (url, h)
}

/// A capsule addressed to `to` carrying the DVK id `dec_id`.
pub fn capsule_with_dvk_id(to: &str, title: &str, dec_id: &str) -> Vec<u8> {
    let mut c = capsule::read(&capsule_to(to, title), &Default::default()).unwrap();
    c.dec_metadata
        .as_mut()
        .expect("kapsel_21 has DecMetadata")
        .dec_id = dec_id.into();
    capsule::write(&c).unwrap().into_bytes()
}

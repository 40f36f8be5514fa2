//! The DHX address book: members of the X-Road global configuration
//! (shared-params.xml) with a subsystem whose code starts with "DHX", plus the
//! representees of the intermediaries of the global group (default "DHX
//! vahendajad"), asked with `representationList`. Cached in `dhx_addresses`,
//! refreshed when older than `dhx.addressbook_refresh`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::soap::{self, XRoadHeader, XRoadId};
use super::xml::{self, Element};
use crate::app::App;
use crate::error::{Error, Result};
use crate::store;

/// One DHX address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Registry code of the addressee.
    pub code: String,
    pub name: String,
    /// Member class of the X-Road member serving it (its own, or the intermediary's).
    pub member_class: String,
    /// The DHX subsystem to call (e.g. "DHX", "DHX.adit"), or the representee's system.
    pub subsystem: String,
    /// Set for a representee: the intermediary's registry code.
    pub intermediary_code: Option<String>,
}

/// Where a `sendDocument` to an addressee goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub member_class: String,
    /// The X-Road member whose service is called (the intermediary for a representee).
    pub member_code: String,
    pub subsystem: String,
    /// `recipient` of the sendDocument body (a representee's code).
    pub recipient: Option<String>,
}

/// What the global configuration says about DHX.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobalConf {
    pub instance: String,
    pub members: Vec<Address>,
    /// Subsystems of the intermediaries' global group.
    pub intermediaries: Vec<XRoadId>,
}

fn id_of(e: &Element) -> XRoadId {
    let t = |n: &str| e.child_text(n).unwrap_or_default();
    XRoadId {
        object_type: e.attr("objectType").unwrap_or_default().to_string(),
        instance: t("xRoadInstance"),
        member_class: t("memberClass"),
        member_code: t("memberCode"),
        subsystem_code: e.child_text("subsystemCode"),
        service_code: None,
        service_version: None,
    }
}

/// Parses shared-params.xml (namespace prefixes do not matter).
pub fn parse_global_conf(bytes: &[u8], group: &str) -> Result<GlobalConf> {
    let root = xml::parse(bytes)
        .map_err(|e| Error::invalid(format!("invalid X-Road global configuration: {e}")))?;
    if root.name != "conf" {
        return Err(Error::invalid(format!(
            "invalid X-Road global configuration: the root is {}, expected conf",
            root.name
        )));
    }
    let mut gc = GlobalConf {
        instance: root.child_text("instanceIdentifier").unwrap_or_default(),
        ..Default::default()
    };
    for m in root.children_named("member") {
        let class = m
            .child("memberClass")
            .and_then(|c| c.child_text("code"))
            .unwrap_or_default();
        let code = m.child_text("memberCode").unwrap_or_default();
        let name = m.child_text("name").unwrap_or_default();
        for s in m.children_named("subsystem") {
            let sub = s.child_text("subsystemCode").unwrap_or_default();
            if sub.starts_with("DHX") && !code.is_empty() {
                gc.members.push(Address {
                    code: code.clone(),
                    name: name.clone(),
                    member_class: class.clone(),
                    subsystem: sub,
                    intermediary_code: None,
                });
            }
        }
    }
    for g in root.children_named("globalGroup") {
        if g.child_text("groupCode").as_deref() == Some(group) {
            gc.intermediaries
                .extend(g.children_named("groupMember").map(id_of));
        }
    }
    Ok(gc)
}

/// A representee from `representationListResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Representee {
    pub code: String,
    pub name: String,
    pub system: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
}

/// Parses a `representationListResponse` (prefixes do not matter).
pub fn parse_representation_list(bytes: &[u8]) -> Result<Vec<Representee>> {
    let root = xml::parse(bytes)
        .map_err(|e| Error::invalid(format!("invalid representationList response: {e}")))?;
    let resp = root
        .descendant("representationListResponse")
        .ok_or_else(|| {
            Error::invalid("invalid representationList response: no representationListResponse")
        })?;
    let list = resp.child("representees").unwrap_or(resp);
    Ok(list
        .children_named("representee")
        .map(|r| Representee {
            code: r.child_text("memberCode").unwrap_or_default(),
            name: r.child_text("representeeName").unwrap_or_default(),
            system: r.child_text("representeeSystem").filter(|s| !s.is_empty()),
            start: r.child_text("startDate"),
            end: r.child_text("endDate").filter(|s| !s.is_empty()),
        })
        .filter(|r| !r.code.is_empty())
        .collect())
}

/// Whether a representation is in force now (no end date, or one in the future).
pub fn in_force(r: &Representee, now: jiff::Timestamp) -> bool {
    match &r.end {
        None => true,
        Some(e) => match e.parse::<jiff::Timestamp>() {
            Ok(t) => t > now,
            Err(_) => e
                .get(..10)
                .and_then(|d| d.parse::<jiff::civil::Date>().ok())
                .is_none_or(|d| d >= now.to_zoned(jiff::tz::TimeZone::UTC).date()),
        },
    }
}

/// A representationList request to an intermediary.
pub fn representation_list_request(client: &XRoadId, intermediary: &XRoadId) -> String {
    let header = XRoadHeader {
        client: Some(client.clone()),
        service: Some(XRoadId {
            object_type: "SERVICE".into(),
            service_code: Some("representationList".into()),
            service_version: Some("v1".into()),
            ..intermediary.clone()
        }),
        id: Some(uuid::Uuid::new_v4().to_string()),
        protocol_version: Some("4.0".into()),
        ..Default::default()
    };
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SOAP-ENV:Envelope xmlns:SOAP-ENV=\"{}\" xmlns:xro=\"{}\" xmlns:iden=\"{}\" xmlns:dhx=\"{}\">",
        soap::SOAP_ENV_NS,
        soap::XROAD_NS,
        soap::ID_NS,
        soap::DHX_NS
    );
    let mut h = String::new();
    header_write(&header, &mut h);
    s.push_str(&h);
    s.push_str("<SOAP-ENV:Body><dhx:representationList/></SOAP-ENV:Body></SOAP-ENV:Envelope>");
    s
}

fn header_write(h: &XRoadHeader, out: &mut String) {
    // reuse the response writer's header by building a tiny response and cutting it
    let full = soap::response_ok(h, "");
    let start = full.find("<SOAP-ENV:Header>").unwrap_or(0);
    let end = full
        .find("</SOAP-ENV:Header>")
        .map(|e| e + "</SOAP-ENV:Header>".len())
        .unwrap_or(start);
    out.push_str(&full[start..end]);
}

async fn load_global_conf(src: &str, timeout: Duration) -> Result<Vec<u8>> {
    if src.starts_with("http://") || src.starts_with("https://") {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| Error::internal(e.to_string()))?;
        let r = http.get(src).send().await.map_err(|e| {
            Error::invalid(format!("cannot fetch the global configuration {src}: {e}"))
        })?;
        super::read_body(r, super::MAX_ANSWER_BYTES)
            .await
            .map_err(|e| Error::invalid(format!("cannot read the global configuration {src}: {e}")))
    } else {
        std::fs::read(src)
            .map_err(|e| Error::io(format!("cannot read the global configuration {src}"), e))
    }
}

/// Rebuilds the address book from the global configuration and the intermediaries.
/// Returns the addresses and the problems met with intermediaries.
pub async fn refresh(app: &App) -> Result<(Vec<Address>, Vec<String>)> {
    let cfg = &app.config.dhx;
    if cfg.global_conf.trim().is_empty() {
        return Err(Error::invalid(
            "dhx.global_conf is not configured: the address book is off",
        ));
    }
    let timeout = cfg.request_timeout;
    let bytes = load_global_conf(cfg.global_conf.trim(), timeout).await?;
    let gc = parse_global_conf(&bytes, &cfg.intermediaries_group)?;
    let mut addresses = gc.members.clone();
    let mut problems = Vec::new();
    if !cfg.security_server_url.trim().is_empty() {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| Error::internal(e.to_string()))?;
        let client = XRoadId::subsystem(
            &cfg.xroad_instance,
            &cfg.member_class,
            &app.config.agency.registry_code,
            &cfg.subsystem_code,
        );
        let now = jiff::Timestamp::now();
        for im in &gc.intermediaries {
            let req = representation_list_request(&client, im);
            let res = async {
                let r = http
                    .post(cfg.security_server_url.trim())
                    .header("Content-Type", "text/xml; charset=utf-8")
                    .header("SOAPAction", "\"\"")
                    .body(req)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let b = super::read_body(r, super::MAX_ANSWER_BYTES).await?;
                parse_representation_list(&b).map_err(|e| e.to_string())
            }
            .await;
            match res {
                Ok(list) => {
                    for r in list.into_iter().filter(|r| in_force(r, now)) {
                        addresses.push(Address {
                            code: r.code,
                            name: r.name,
                            member_class: im.member_class.clone(),
                            subsystem: r.system.unwrap_or_else(|| {
                                im.subsystem_code.clone().unwrap_or_else(|| "DHX".into())
                            }),
                            intermediary_code: Some(im.member_code.clone()),
                        });
                    }
                }
                Err(e) => problems.push(format!("representationList of {}: {e}", im.key())),
            }
        }
    }
    let now = store::now_text();
    let mut tx = app.store.begin_write().await?;
    sqlx::query("DELETE FROM dhx_addresses")
        .execute(&mut *tx)
        .await?;
    let mut seen = std::collections::HashSet::new();
    for a in &addresses {
        if !seen.insert(a.code.clone()) {
            continue; // first wins: a member's own DHX subsystem before a representation
        }
        sqlx::query("INSERT INTO dhx_addresses (code, name, member_class, subsystem, intermediary_code, fetched_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&a.code)
            .bind(&a.name)
            .bind(&a.member_class)
            .bind(&a.subsystem)
            .bind(&a.intermediary_code)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok((cached(app).await?, problems))
}

/// The cached address book.
pub async fn cached(app: &App) -> Result<Vec<Address>> {
    let rows = sqlx::query("SELECT code, name, member_class, subsystem, intermediary_code FROM dhx_addresses ORDER BY name, code")
        .fetch_all(&app.store.pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Address {
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                member_class: r.try_get("member_class")?,
                subsystem: r.try_get("subsystem")?,
                intermediary_code: r.try_get("intermediary_code")?,
            })
        })
        .collect()
}

/// The address book, refreshed first when stale (or when `force`).
pub async fn list(app: &App, force: bool) -> Result<(Vec<Address>, Vec<String>)> {
    let cfg = &app.config.dhx;
    let fetched: Option<(String,)> = sqlx::query_as("SELECT MAX(fetched_at) FROM dhx_addresses")
        .fetch_optional(&app.store.pool)
        .await?
        .filter(|(s,): &(String,)| !s.is_empty());
    let stale = match fetched {
        None => true,
        Some((t,)) => store::parse_ts(&t)
            .map(|t| {
                jiff::Timestamp::now().duration_since(t).as_secs() as u64
                    >= cfg.addressbook_refresh.as_secs()
            })
            .unwrap_or(true),
    };
    if (force || stale) && !cfg.global_conf.trim().is_empty() {
        return refresh(app).await;
    }
    Ok((cached(app).await?, Vec::new()))
}

/// The name of an addressee in the cached address book.
pub async fn name_of(app: &App, code: &str) -> Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT name FROM dhx_addresses WHERE code = $1")
        .bind(code)
        .fetch_optional(&app.store.pool)
        .await?;
    Ok(row.map(|r| r.0))
}

/// How to reach an addressee, from the cached address book.
pub async fn route_of(app: &App, code: &str) -> Result<Option<Route>> {
    let row = sqlx::query(
        "SELECT member_class, subsystem, intermediary_code FROM dhx_addresses WHERE code = $1",
    )
    .bind(code)
    .fetch_optional(&app.store.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let intermediary: Option<String> = r.try_get("intermediary_code")?;
    let class: String = r.try_get("member_class")?;
    let subsystem: String = r.try_get("subsystem")?;
    Ok(Some(match intermediary {
        Some(im) => Route {
            member_class: class,
            member_code: im,
            subsystem: "DHX".into(),
            recipient: Some(code.to_string()),
        },
        None => Route {
            member_class: class,
            member_code: code.to_string(),
            subsystem,
            recipient: None,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::dhx::fixture;

    #[test]
    fn global_conf_lists_dhx_members_and_intermediaries() {
        let gc = parse_global_conf(&fixture("xroad/shared-params.xml"), "DHX vahendajad").unwrap();
        assert_eq!(gc.instance, "ee-dev");
        assert_eq!(gc.members.len(), 7, "{:#?}", gc.members);
        assert!(gc.members.iter().all(|m| m.subsystem.starts_with("DHX")));
        assert_eq!(gc.intermediaries.len(), 1);
        assert_eq!(gc.intermediaries[0].key(), "ee-dev/COM/30000001/DHX");
        assert!(parse_global_conf(b"<x/>", "g").is_err());
    }

    #[test]
    fn representation_lists_parse_whatever_the_prefixes() {
        for f in [
            "dhx-protocol/representationList_response.xml",
            "adapter-server-internal/representationList_response.xml",
            "adapter-server-internal/representationList_response2.xml",
        ] {
            let list = parse_representation_list(&fixture(f)).unwrap();
            assert!(!list.is_empty(), "{f}");
        }
        let list =
            parse_representation_list(&fixture("dhx-protocol/representationList_response.xml"))
                .unwrap();
        assert_eq!(list[0].code, "500");
        assert_eq!(list[0].system.as_deref(), Some("system"));
        let now = jiff::Timestamp::now();
        assert!(in_force(&list[0], now));
        assert!(!in_force(&list[1], now), "ended in 2016");
        let req = representation_list_request(
            &XRoadId::subsystem("EE", "GOV", "1", "DHX"),
            &XRoadId::subsystem("EE", "COM", "3", "DHX"),
        );
        let root = xml::parse(req.as_bytes()).unwrap();
        assert!(root.descendant("representationList").is_some());
        assert_eq!(
            root.descendant("service")
                .unwrap()
                .child_text("serviceCode")
                .as_deref(),
            Some("representationList")
        );
    }
}

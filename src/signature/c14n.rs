//! XML canonicalization of a subtree of a parsed document (roxmltree):
//! Canonical XML 1.0 and 1.1 (inclusive) and Exclusive XML Canonicalization 1.0,
//! with or without comments — the methods XAdES and DigiDoc signatures use.
//!
//! The input is an element of an already parsed tree (no DTD, bounded node count),
//! so entities and attribute values are already normalised by the parser; this
//! module renders the element's subtree: namespace declarations by the method's
//! rules, attributes in canonical order, characters escaped, empty elements as
//! start/end tag pairs. Nesting deeper than [`MAX_DEPTH`] is refused.

use std::collections::BTreeMap;

use roxmltree::{Node, NodeType};

/// Deepest element nesting canonicalized.
pub const MAX_DEPTH: usize = 256;

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// A canonicalization method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Method {
    pub kind: Kind,
    pub comments: bool,
    /// Exclusive only: the InclusiveNamespaces PrefixList (`#default` is "").
    pub inclusive_prefixes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Inclusive10,
    Inclusive11,
    Exclusive,
}

impl Method {
    /// By algorithm URI.
    pub fn from_uri(uri: &str) -> Option<Method> {
        let (kind, comments) = match uri {
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315" => (Kind::Inclusive10, false),
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments" => {
                (Kind::Inclusive10, true)
            }
            "http://www.w3.org/2006/12/xml-c14n11" => (Kind::Inclusive11, false),
            "http://www.w3.org/2006/12/xml-c14n11#WithComments" => (Kind::Inclusive11, true),
            "http://www.w3.org/2001/10/xml-exc-c14n#" => (Kind::Exclusive, false),
            "http://www.w3.org/2001/10/xml-exc-c14n#WithComments" => (Kind::Exclusive, true),
            _ => return None,
        };
        Some(Method {
            kind,
            comments,
            inclusive_prefixes: Vec::new(),
        })
    }

    /// Canonical XML 1.0 without comments: the default of a same-document reference.
    pub fn default_reference() -> Method {
        Method {
            kind: Kind::Inclusive10,
            comments: false,
            inclusive_prefixes: Vec::new(),
        }
    }
}

/// Why a subtree could not be canonicalized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum C14nError {
    #[error("XML on sügavamalt kui {MAX_DEPTH} taset (nesting deeper than {MAX_DEPTH})")]
    TooDeep,
}

/// The canonical form of the subtree of element `node` of a document parsed from `src`.
pub fn canonicalize(node: Node<'_, '_>, src: &str, method: &Method) -> Result<Vec<u8>, C14nError> {
    canonicalize_with(node, src, method, &BTreeMap::new())
}

/// The canonical form of the subtree as if it were a document of its own: the
/// namespace declarations it inherits from outside (unchanged within it) are
/// left out. libdigidoc computed DDOC 1.3 SignedProperties digests this way
/// (the element without the `xmlns` of its QualifyingProperties).
pub fn canonicalize_detached(
    node: Node<'_, '_>,
    src: &str,
    method: &Method,
) -> Result<Vec<u8>, C14nError> {
    let outer: BTreeMap<String, String> = node
        .parent_element()
        .map(|p| {
            p.namespaces()
                .map(|ns| (ns.name().unwrap_or("").to_string(), ns.uri().to_string()))
                .collect()
        })
        .unwrap_or_default();
    canonicalize_with(node, src, method, &outer)
}

fn canonicalize_with(
    node: Node<'_, '_>,
    src: &str,
    method: &Method,
    outer: &BTreeMap<String, String>,
) -> Result<Vec<u8>, C14nError> {
    let mut out = Vec::with_capacity(4096);
    let ctx = BTreeMap::new();
    let mut apex_xml_attrs: Vec<(String, String)> = Vec::new();
    if method.kind != Kind::Exclusive {
        // Inclusive: xml:* attributes in scope from ancestors appear on the apex.
        let own: Vec<String> = node
            .attributes()
            .filter(|a| a.namespace() == Some(XML_NS))
            .map(|a| a.name().to_string())
            .collect();
        for anc in node.ancestors().skip(1).filter(|n| n.is_element()) {
            for a in anc.attributes().filter(|a| a.namespace() == Some(XML_NS)) {
                let name = a.name();
                let inherited = match method.kind {
                    Kind::Inclusive11 => matches!(name, "lang" | "space"),
                    _ => true,
                };
                if inherited
                    && !own.iter().any(|o| o == name)
                    && !apex_xml_attrs.iter().any(|(n, _)| n == name)
                {
                    apex_xml_attrs.push((name.to_string(), a.value().to_string()));
                }
            }
        }
    }
    element(node, src, method, &ctx, outer, &apex_xml_attrs, 0, &mut out)?;
    Ok(out)
}

fn qname<'s>(src: &'s str, node: Node<'_, '_>) -> &'s str {
    let r = node.range();
    let s = src.get(r.start + 1..).unwrap_or("");
    let end = s
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(s.len());
    &s[..end]
}

fn prefix(q: &str) -> &str {
    q.split_once(':').map(|(p, _)| p).unwrap_or("")
}

#[allow(clippy::too_many_arguments)]
fn element(
    node: Node<'_, '_>,
    src: &str,
    method: &Method,
    ctx: &BTreeMap<String, String>,
    outer: &BTreeMap<String, String>,
    extra_xml_attrs: &[(String, String)],
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<(), C14nError> {
    if depth > MAX_DEPTH {
        return Err(C14nError::TooDeep);
    }
    let name = qname(src, node);
    let mut in_scope: BTreeMap<String, String> = BTreeMap::new();
    for ns in node.namespaces() {
        let p = ns.name().unwrap_or("");
        if p == "xml" || outer.get(p).map(String::as_str) == Some(ns.uri()) {
            continue;
        }
        in_scope.insert(p.to_string(), ns.uri().to_string());
    }
    let default_in_scope = in_scope.get("").cloned().unwrap_or_default();
    let mut render: BTreeMap<String, String> = BTreeMap::new();
    let mut new_ctx = ctx.clone();
    let consider = |p: &str, render: &mut BTreeMap<String, String>| {
        let uri = in_scope.get(p).cloned().unwrap_or_default();
        if p.is_empty() && uri.is_empty() {
            if ctx.get("").is_some_and(|u| !u.is_empty()) {
                render.insert(String::new(), String::new());
            }
        } else if !uri.is_empty() && ctx.get(p) != Some(&uri) {
            render.insert(p.to_string(), uri);
        }
    };
    match method.kind {
        Kind::Exclusive => {
            consider(prefix(name), &mut render);
            for a in node.attributes() {
                let q = src.get(a.range_qname()).unwrap_or("");
                let p = prefix(q);
                if !p.is_empty() && p != "xml" {
                    consider(p, &mut render);
                }
            }
            for p in &method.inclusive_prefixes {
                if in_scope.contains_key(p) || p.is_empty() {
                    consider(p, &mut render);
                }
            }
        }
        Kind::Inclusive10 | Kind::Inclusive11 => {
            let keys: Vec<String> = in_scope.keys().cloned().collect();
            for p in keys {
                consider(&p, &mut render);
            }
            if default_in_scope.is_empty() {
                consider("", &mut render);
            }
        }
    }
    for (p, u) in &render {
        new_ctx.insert(p.clone(), u.clone());
    }

    out.push(b'<');
    out.extend_from_slice(name.as_bytes());
    for (p, u) in &render {
        if p.is_empty() {
            out.extend_from_slice(b" xmlns=\"");
        } else {
            out.extend_from_slice(b" xmlns:");
            out.extend_from_slice(p.as_bytes());
            out.extend_from_slice(b"=\"");
        }
        escape_attr(u, out);
        out.push(b'"');
    }
    let mut attrs: Vec<(String, String, String, String)> = node
        .attributes()
        .map(|a| {
            (
                a.namespace().unwrap_or("").to_string(),
                a.name().to_string(),
                src.get(a.range_qname()).unwrap_or("").to_string(),
                a.value().to_string(),
            )
        })
        .collect();
    for (n, v) in extra_xml_attrs {
        attrs.push((XML_NS.to_string(), n.clone(), format!("xml:{n}"), v.clone()));
    }
    attrs.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    for (_, _, q, v) in &attrs {
        out.push(b' ');
        out.extend_from_slice(q.as_bytes());
        out.extend_from_slice(b"=\"");
        escape_attr(v, out);
        out.push(b'"');
    }
    out.push(b'>');
    for child in node.children() {
        match child.node_type() {
            NodeType::Element => element(child, src, method, &new_ctx, outer, &[], depth + 1, out)?,
            NodeType::Text => escape_text(child.text().unwrap_or(""), out),
            NodeType::Comment => {
                if method.comments {
                    out.extend_from_slice(b"<!--");
                    out.extend_from_slice(child.text().unwrap_or("").as_bytes());
                    out.extend_from_slice(b"-->");
                }
            }
            NodeType::PI => {
                if let Some(pi) = child.pi() {
                    out.extend_from_slice(b"<?");
                    out.extend_from_slice(pi.target.as_bytes());
                    if let Some(v) = pi.value.filter(|v| !v.is_empty()) {
                        out.push(b' ');
                        out.extend_from_slice(v.as_bytes());
                    }
                    out.extend_from_slice(b"?>");
                }
            }
            NodeType::Root => {}
        }
    }
    out.extend_from_slice(b"</");
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
    Ok(())
}

fn escape_text(s: &str, out: &mut Vec<u8>) {
    for c in s.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '\r' => out.extend_from_slice(b"&#xD;"),
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
}

fn escape_attr(s: &str, out: &mut Vec<u8>) {
    for c in s.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '"' => out.extend_from_slice(b"&quot;"),
            '\t' => out.extend_from_slice(b"&#x9;"),
            '\n' => out.extend_from_slice(b"&#xA;"),
            '\r' => out.extend_from_slice(b"&#xD;"),
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n(xml: &str, id: &str, uri: &str) -> String {
        let doc = roxmltree::Document::parse(xml).unwrap();
        let node = doc
            .descendants()
            .find(|n| n.attribute("Id") == Some(id))
            .unwrap();
        String::from_utf8(canonicalize(node, xml, &Method::from_uri(uri).unwrap()).unwrap())
            .unwrap()
    }

    const INC: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
    const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

    #[test]
    fn table_of_canonical_forms() {
        let doc = r#"<r xmlns="urn:d" xmlns:a="urn:a" xmlns:b="urn:b" xml:lang="et"><a:e Id="x" z="1" b:y="2" a="&lt;&quot;&#9;"><f/>t&amp;&gt;&#13;<!--c--></a:e></r>"#;
        let table = [
            (
                INC,
                "<a:e xmlns=\"urn:d\" xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" Id=\"x\" a=\"&lt;&quot;&#x9;\" z=\"1\" xml:lang=\"et\" b:y=\"2\"><f></f>t&amp;&gt;&#xD;</a:e>",
            ),
            (
                EXC,
                "<a:e xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" Id=\"x\" a=\"&lt;&quot;&#x9;\" z=\"1\" b:y=\"2\"><f xmlns=\"urn:d\"></f>t&amp;&gt;&#xD;</a:e>",
            ),
            (
                "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
                "<a:e xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" Id=\"x\" a=\"&lt;&quot;&#x9;\" z=\"1\" b:y=\"2\"><f xmlns=\"urn:d\"></f>t&amp;&gt;&#xD;<!--c--></a:e>",
            ),
        ];
        for (uri, want) in table {
            assert_eq!(c14n(doc, "x", uri), want, "{uri}");
        }
    }

    #[test]
    fn default_namespace_is_undeclared_only_when_an_ancestor_declared_one() {
        let doc = r#"<r xmlns="urn:d"><e Id="x"><f xmlns=""/></e></r>"#;
        assert_eq!(
            c14n(doc, "x", INC),
            r#"<e xmlns="urn:d" Id="x"><f xmlns=""></f></e>"#
        );
        let doc = r#"<r><e Id="x"><f xmlns=""/></e></r>"#;
        assert_eq!(c14n(doc, "x", EXC), r#"<e Id="x"><f></f></e>"#);
    }

    #[test]
    fn too_deep_is_refused() {
        let mut xml = String::from("<a Id=\"x\">");
        for _ in 0..300 {
            xml.push_str("<b>");
        }
        for _ in 0..300 {
            xml.push_str("</b>");
        }
        xml.push_str("</a>");
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let r = canonicalize(doc.root_element(), &xml, &Method::from_uri(INC).unwrap());
        assert_eq!(r, Err(C14nError::TooDeep));
    }

    #[test]
    fn a_detached_subtree_leaves_out_what_it_inherits() {
        let xml = r#"<q xmlns="urn:etsi" xmlns:a="urn:a"><p Id="x"><c/><d xmlns="urn:dsig">t</d></p></q>"#;
        let doc = roxmltree::Document::parse(xml).unwrap();
        let p = doc
            .descendants()
            .find(|n| n.attribute("Id") == Some("x"))
            .unwrap();
        let m = Method::from_uri(INC).unwrap();
        let full = String::from_utf8(canonicalize(p, xml, &m).unwrap()).unwrap();
        assert_eq!(
            full,
            r#"<p xmlns="urn:etsi" xmlns:a="urn:a" Id="x"><c></c><d xmlns="urn:dsig">t</d></p>"#
        );
        let detached = String::from_utf8(canonicalize_detached(p, xml, &m).unwrap()).unwrap();
        assert_eq!(
            detached,
            r#"<p Id="x"><c></c><d xmlns="urn:dsig">t</d></p>"#
        );
    }
}

//! A small namespace-aware XML tree for the DHX messages, built with quick-xml.
//!
//! Safety rules for input from other agencies:
//! - a document type declaration is refused outright, so no entity is ever
//!   declared and none can be expanded (no billion laughs, no external entities);
//! - only the five predefined entities and character references are decoded;
//! - nesting depth and element count are bounded;
//! - characters outside the XML 1.0 `Char` production are refused.

use std::borrow::Cow;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 128;
/// Most elements accepted in one document.
pub const MAX_ELEMENTS: usize = 200_000;

/// A parsed element: namespace URI, local name, attributes and children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub ns: Option<String>,
    pub name: String,
    /// The prefix used in the source (for messages only).
    pub prefix: Option<String>,
    pub attrs: Vec<Attr>,
    pub children: Vec<Node>,
    /// 1-based line of the start tag.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub ns: Option<String>,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    /// Character data (text and CDATA sections, already decoded).
    Text(String),
}

/// Why a document is not well-formed XML (or breaks the safety rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Namespace of XML Schema instance attributes.
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

impl Element {
    /// Child elements, in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The first child element with this local name, in any namespace.
    pub fn child(&self, local: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == local)
    }

    /// All child elements with this local name, in any namespace.
    pub fn children_named<'a>(&'a self, local: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements().filter(move |e| e.name == local)
    }

    /// The first descendant (depth first, self excluded) with this local name.
    pub fn descendant(&self, local: &str) -> Option<&Element> {
        for e in self.elements() {
            if e.name == local {
                return Some(e);
            }
            if let Some(d) = e.descendant(local) {
                return Some(d);
            }
        }
        None
    }

    /// The concatenated character data directly inside this element.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }

    /// Text of the first child with this local name, trimmed; None when absent.
    pub fn child_text(&self, local: &str) -> Option<String> {
        self.child(local).map(|e| e.text().trim().to_string())
    }

    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name == local)
            .map(|a| a.value.as_str())
    }

    /// Whether any non-whitespace character data sits directly in this element.
    pub fn has_non_ws_text(&self) -> bool {
        self.children.iter().any(|n| match n {
            Node::Text(t) => t.chars().any(|c| !is_xml_ws(c)),
            Node::Element(_) => false,
        })
    }

    /// `{ns}name` or `name` for messages.
    pub fn qualified(&self) -> String {
        match &self.ns {
            Some(ns) => format!("{{{ns}}}{}", self.name),
            None => self.name.clone(),
        }
    }
}

pub fn is_xml_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// The XML 1.0 `Char` production.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn line_of(bytes: &[u8], pos: usize) -> usize {
    let pos = pos.min(bytes.len());
    1 + bytes[..pos].iter().filter(|&&b| b == b'\n').count()
}

fn check_chars(s: &str, what: &str, line: usize) -> Result<(), XmlError> {
    if let Some(c) = s.chars().find(|&c| !is_xml_char(c)) {
        return Err(XmlError {
            line,
            message: format!(
                "{what} contains the character U+{:04X}, not allowed in XML",
                c as u32
            ),
        });
    }
    Ok(())
}

fn resolved_ns(r: ResolveResult<'_>, line: usize) -> Result<Option<String>, XmlError> {
    match r {
        ResolveResult::Bound(ns) => Ok(Some(String::from_utf8_lossy(ns.as_ref()).into_owned())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(p) => Err(XmlError {
            line,
            message: format!(
                "undeclared namespace prefix {:?}",
                String::from_utf8_lossy(&p)
            ),
        }),
    }
}

/// Parses a whole XML document into its root element.
pub fn parse(input: &[u8]) -> Result<Element, XmlError> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let text = std::str::from_utf8(input).map_err(|e| XmlError {
        line: line_of(input, e.valid_up_to()),
        message: "the document is not valid UTF-8".into(),
    })?;
    let mut reader = NsReader::from_str(text);
    {
        let cfg = reader.config_mut();
        cfg.check_end_names = true;
        cfg.expand_empty_elements = false;
        cfg.trim_text(false);
        cfg.check_comments = true;
    }
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    let mut seen_decl = false;
    let mut first_event = true;
    let (mut line_pos, mut line) = (0usize, 1usize);
    loop {
        // line of the event's start, counted incrementally
        let pos = (reader.buffer_position() as usize).min(input.len());
        if pos > line_pos {
            line += input[line_pos..pos].iter().filter(|&&b| b == b'\n').count();
            line_pos = pos;
        }
        let (res, ev) = match reader.read_resolved_event() {
            Ok(x) => x,
            Err(e) => {
                return Err(XmlError {
                    line: line_of(input, reader.error_position() as usize),
                    message: format!("not well-formed XML: {e}"),
                })
            }
        };
        let is_first = std::mem::replace(&mut first_event, false);
        match ev {
            Event::Decl(d) => {
                if !is_first || seen_decl {
                    return Err(XmlError {
                        line,
                        message: "misplaced XML declaration".into(),
                    });
                }
                seen_decl = true;
                if let Some(Ok(enc)) = d.encoding() {
                    let enc = String::from_utf8_lossy(&enc).to_ascii_lowercase();
                    if enc != "utf-8" && enc != "utf8" && enc != "us-ascii" {
                        return Err(XmlError {
                            line,
                            message: format!(
                                "unsupported encoding {enc:?}: only UTF-8 is accepted"
                            ),
                        });
                    }
                }
            }
            Event::DocType(_) => {
                return Err(XmlError {
                    line,
                    message: "document type declarations (DOCTYPE) are not allowed".into(),
                })
            }
            Event::PI(_) | Event::Comment(_) => {}
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(ev, Event::Empty(_));
                if root.is_some() {
                    return Err(XmlError {
                        line,
                        message: "content after the root element".into(),
                    });
                }
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(XmlError {
                        line,
                        message: format!("more than {MAX_ELEMENTS} elements"),
                    });
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError {
                        line,
                        message: format!("elements nested deeper than {MAX_DEPTH}"),
                    });
                }
                let ns = resolved_ns(res, line)?;
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let prefix = e
                    .name()
                    .prefix()
                    .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned());
                let mut attrs = Vec::new();
                for a in e.attributes() {
                    let a = a.map_err(|err| XmlError {
                        line,
                        message: format!("bad attribute in element {name:?}: {err}"),
                    })?;
                    let key = a.key;
                    if key.as_namespace_binding().is_some() {
                        continue;
                    }
                    let (ar, local) = reader.resolve_attribute(key);
                    let ans = resolved_ns(ar, line)?;
                    let value = a.unescape_value().map_err(|err| XmlError {
                        line,
                        message: format!("bad attribute value in element {name:?}: {err}"),
                    })?;
                    check_chars(&value, "an attribute value", line)?;
                    attrs.push(Attr {
                        ns: ans,
                        name: String::from_utf8_lossy(local.as_ref()).into_owned(),
                        value: value.into_owned(),
                    });
                }
                let el = Element {
                    ns,
                    name,
                    prefix,
                    attrs,
                    children: Vec::new(),
                    line,
                };
                if is_empty {
                    finish(el, &mut stack, &mut root);
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| XmlError {
                    line,
                    message: "unexpected end tag".into(),
                })?;
                finish(el, &mut stack, &mut root);
            }
            Event::Text(t) => {
                let s: Cow<str> = t.unescape().map_err(|err| XmlError {
                    line,
                    message: format!("bad character data: {err}"),
                })?;
                check_chars(&s, "character data", line)?;
                match stack.last_mut() {
                    Some(top) => push_text(top, &s),
                    None => {
                        if s.chars().any(|c| !is_xml_ws(c)) {
                            return Err(XmlError {
                                line,
                                message: if root.is_some() {
                                    "text after the root element".into()
                                } else {
                                    "text before the root element (is this XML?)".into()
                                },
                            });
                        }
                    }
                }
            }
            Event::CData(c) => {
                let bytes = c.into_inner();
                let s = std::str::from_utf8(&bytes).map_err(|_| XmlError {
                    line,
                    message: "CDATA is not UTF-8".into(),
                })?;
                check_chars(s, "a CDATA section", line)?;
                match stack.last_mut() {
                    Some(top) => push_text(top, s),
                    None => {
                        return Err(XmlError {
                            line,
                            message: "CDATA outside the root element".into(),
                        })
                    }
                }
            }
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(XmlError {
                        line: line_of(input, input.len()),
                        message: format!(
                            "unexpected end of document: element {:?} is not closed",
                            open.name
                        ),
                    });
                }
                return root.ok_or_else(|| XmlError {
                    line: 1,
                    message: "no root element (empty document)".into(),
                });
            }
        }
    }
}

fn push_text(el: &mut Element, s: &str) {
    if let Some(Node::Text(prev)) = el.children.last_mut() {
        prev.push_str(s);
    } else {
        el.children.push(Node::Text(s.to_string()));
    }
}

fn finish(el: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Element(el)),
        None => *root = Some(el),
    }
}

/// Escapes character data for element content.
pub fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c if is_xml_char(c) => out.push(c),
            _ => {} // not representable in XML 1.0: dropped
        }
    }
}

/// Escapes an attribute value (double-quoted).
pub fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

/// Removes characters XML 1.0 cannot carry.
pub fn xml_safe(s: &str) -> String {
    s.chars().filter(|&c| is_xml_char(c)).collect()
}

/// Serializes an element subtree with explicit namespace declarations (used for
/// the opaque `RecordTypeSpecificMetadata` content).
pub fn write_element(el: &Element, out: &mut String) {
    write_el(el, None, out)
}

fn write_el(el: &Element, parent_ns: Option<&str>, out: &mut String) {
    out.push('<');
    out.push_str(&el.name);
    if el.ns.as_deref() != parent_ns {
        out.push_str(" xmlns=\"");
        escape_attr(el.ns.as_deref().unwrap_or(""), out);
        out.push('"');
    }
    let mut n = 0;
    for a in &el.attrs {
        out.push(' ');
        if let Some(ns) = &a.ns {
            n += 1;
            out.push_str(&format!("xmlns:a{n}=\""));
            escape_attr(ns, out);
            out.push_str(&format!("\" a{n}:"));
        }
        out.push_str(&a.name);
        out.push_str("=\"");
        escape_attr(&a.value, out);
        out.push('"');
    }
    if el.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for c in &el.children {
        match c {
            Node::Text(t) => escape_text(t, out),
            Node::Element(e) => write_el(e, el.ns.as_deref(), out),
        }
    }
    out.push_str("</");
    out.push_str(&el.name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_namespaces_and_text() {
        let doc = br#"<?xml version="1.0"?><a:r xmlns:a="urn:a" xmlns="urn:d"><c x="1">t&amp;<![CDATA[<x>]]></c></a:r>"#;
        let r = parse(doc).unwrap();
        assert_eq!(r.ns.as_deref(), Some("urn:a"));
        assert_eq!(r.name, "r");
        let c = r.child("c").unwrap();
        assert_eq!(c.ns.as_deref(), Some("urn:d"));
        assert_eq!(c.text(), "t&<x>");
        assert_eq!(c.attr("x"), Some("1"));
    }

    #[test]
    fn refuses_doctype_and_unknown_entities() {
        let bomb = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>"#;
        let e = parse(bomb).unwrap_err();
        assert!(e.message.contains("DOCTYPE"), "{e}");
        let e = parse(b"<a>&lol;</a>").unwrap_err();
        assert!(e.message.contains("bad character data"), "{e}");
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            &b"test"[..],
            b"",
            b"<a><b></a>",
            b"<a>",
            b"<a/><b/>",
            b"<a/>x",
            b"<p:a/>",
            b"<a>\x01</a>",
            b"<a>&#1;</a>",
            b"<a x='1' x='2'/>",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn writes_subtree_with_namespaces() {
        let r = parse(br#"<r xmlns="urn:x"><p:q xmlns:p="urn:p" p:at="v&amp;">a&lt;b</p:q></r>"#)
            .unwrap();
        let mut s = String::new();
        write_element(&r, &mut s);
        let again = parse(s.as_bytes()).unwrap();
        assert_eq!(
            again,
            Element {
                line: 1,
                ..r.clone()
            }
            .clone_lines_from(&again)
        );
    }

    impl Element {
        fn clone_lines_from(mut self, other: &Element) -> Element {
            self.line = other.line;
            for (a, b) in self.children.iter_mut().zip(other.children.iter()) {
                if let (Node::Element(a), Node::Element(b)) = (a, b) {
                    *a = a.clone().clone_lines_from(b);
                }
            }
            self.prefix = other.prefix.clone();
            self
        }
    }
}

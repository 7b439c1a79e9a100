//! The elements of an XML answer with their attributes, read as a bounded stream: depth and count are
//! capped, so a hostile answer cannot exhaust memory or the stack.

use std::collections::HashMap;

use quick_xml::events::{BytesStart, Event};

/// An element: its local name (no namespace prefix), attributes, depth and direct text.
#[derive(Debug, Clone, Default)]
pub(crate) struct Element {
    pub name: String,
    pub attributes: HashMap<String, String>,
    pub depth: usize,
    pub text: String,
}

impl Element {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str).map(str::trim).filter(|v| !v.is_empty())
    }
}

/// The text of the named elements within each `record` element (its descendants), one map a record, in
/// document order.
pub(crate) fn records(all: &[Element], record: &str, fields: &[&str]) -> Vec<HashMap<String, String>> {
    let mut out = Vec::new();
    let mut within: Option<usize> = None;
    for element in all {
        if within.is_some_and(|depth| element.depth <= depth) {
            within = None;
        }
        if element.name == record {
            within = Some(element.depth);
            out.push(HashMap::new());
        } else if within.is_some()
            && fields.contains(&element.name.as_str())
            && let Some(fields) = out.last_mut()
        {
            fields.entry(element.name.clone()).or_insert_with(|| element.text.trim().to_owned());
        }
    }
    out
}

const DEPTH_MAX: usize = 64;
const ELEMENTS_MAX: usize = 100_000;

/// Every element in document order, or why the answer is not XML.
pub(crate) fn elements(answer: &[u8]) -> Result<Vec<Element>, String> {
    let mut reader = quick_xml::Reader::from_reader(answer);
    reader.config_mut().trim_text(true);
    let mut buffer = Vec::new();
    let mut out: Vec<Element> = Vec::new();
    // The open elements, as indexes into `out`.
    let mut open: Vec<usize> = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buffer).map_err(|e| format!("not XML ({e})"))?;
        match event {
            Event::Start(start) => {
                out.push(element(&start, open.len())?);
                open.push(out.len() - 1);
            }
            Event::Empty(start) => out.push(element(&start, open.len())?),
            Event::Text(text) => {
                if let Some(&current) = open.last() {
                    let text = text.unescape().map_err(|e| format!("bad text ({e})"))?;
                    out[current].text.push_str(&text);
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
        if open.len() > DEPTH_MAX || out.len() > ELEMENTS_MAX {
            return Err("nested or long beyond any tracking answer".into());
        }
        buffer.clear();
    }
    if out.is_empty() {
        return Err("no XML element".into());
    }
    if !open.is_empty() {
        return Err("cut short".into());
    }
    Ok(out)
}

fn element(start: &BytesStart<'_>, depth: usize) -> Result<Element, String> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attributes = HashMap::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| format!("bad attribute ({e})"))?;
        let key = String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
        let value = attribute.unescape_value().map_err(|e| format!("bad attribute ({e})"))?.into_owned();
        attributes.insert(key, value);
    }
    Ok(Element { name, attributes, depth, text: String::new() })
}

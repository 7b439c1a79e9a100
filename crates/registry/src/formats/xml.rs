//! The operators' SOAP answers (Mondial Relay, DPD, Colissimo), read as a stream of records: each
//! record element (one point) is found at any depth and its bytes are deserialised into the format's
//! record type by quick-xml's serde support, which matches elements by their local name (namespace
//! prefixes vary from one export to the next). Each record keeps the line it starts on, for the report.
//!
//! Nothing is built for the rest of the document, and nesting is bounded ([`DEPTH_MAX`]) while
//! walking it, iteratively: a hostile file nested a hundred thousand levels deep is refused with its
//! line, where a tree built recursively would have overflowed the stack.

use quick_xml::Reader;
use quick_xml::events::Event;
use serde::de::DeserializeOwned;

use super::{FileError, Lines};

/// Deepest nesting accepted. Real answers nest six or seven levels; a file deeper than this is not an
/// operator's export.
pub const DEPTH_MAX: usize = 64;

/// One record element read: the line it starts on, and the record or why it could not be read.
pub struct Record<T> {
    pub line: usize,
    pub read: Result<T, String>,
}

/// Every `element` of the document (at any depth, not inside another one), deserialised as `T`.
pub fn records<T: DeserializeOwned>(text: &str, element: &str) -> Result<Vec<Record<T>>, FileError> {
    let mut reader = Reader::from_str(text);
    let mut lines = Lines::new(text);
    let mut depth = 0usize;
    // The byte offset, depth and line of the record being read.
    let mut open: Option<(usize, usize, usize)> = None;
    let mut found = Vec::new();
    loop {
        let start = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let line = lines.at(start as u64);
        let corrupt = |message: String| FileError::Corrupt { line, message };
        let event = reader.read_event().map_err(|e| corrupt(format!("not well-formed XML: {e}")))?;
        let end = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        match event {
            Event::Start(tag) => {
                depth += 1;
                if depth > DEPTH_MAX {
                    return Err(corrupt(format!("elements are nested more than {DEPTH_MAX} levels deep")));
                }
                if open.is_none() && tag.local_name().as_ref() == element.as_bytes() {
                    open = Some((start, depth, line));
                }
            }
            Event::Empty(tag) => {
                if open.is_none() && tag.local_name().as_ref() == element.as_bytes() {
                    found.push(Record { line, read: deserialize(&text[start..end]) });
                }
            }
            Event::End(_) => {
                if let Some((from, at, first_line)) = open
                    && at == depth
                {
                    found.push(Record { line: first_line, read: deserialize(&text[from..end]) });
                    open = None;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => {
                if depth > 0 {
                    return Err(corrupt("the file ends inside an element".into()));
                }
                break;
            }
            Event::Text(_)
            | Event::CData(_)
            | Event::Comment(_)
            | Event::Decl(_)
            | Event::PI(_)
            | Event::DocType(_) => {}
        }
    }
    if found.is_empty() {
        return Err(FileError::Corrupt {
            line: 1,
            message: format!("no <{element}> element: is this the right format?"),
        });
    }
    Ok(found)
}

fn deserialize<T: DeserializeOwned>(fragment: &str) -> Result<T, String> {
    quick_xml::de::from_str(fragment).map_err(|e| format!("unreadable record: {e}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Item {
        #[serde(rename = "@id")]
        id: String,
        #[serde(rename = "Name", default)]
        name: String,
    }

    #[test]
    fn records_by_local_name_with_their_lines() {
        let doc = "<s:Envelope xmlns:s=\"x\">\n <s:Body>\n  <Item id=\"1\"><Name> Tabac &amp; Presse </Name><Empty/></Item>\n  <a:Item xmlns:a=\"y\" id=\"2\"><a:Name>B</a:Name></a:Item>\n  <Item id=\"3\"/>\n </s:Body>\n</s:Envelope>";
        let items = records::<Item>(doc, "Item").unwrap();
        let read: Vec<(usize, String, String)> =
            items.into_iter().map(|r| (r.line, r.read.as_ref().unwrap().id.clone(), r.read.unwrap().name)).collect();
        assert_eq!(
            read,
            vec![(3, "1".into(), "Tabac & Presse".into()), (4, "2".into(), "B".into()), (5, "3".into(), String::new())]
        );
    }

    #[test]
    fn broken_deep_or_foreign_documents_are_refused_with_a_line() {
        assert!(matches!(records::<Item>("<a>\n<b></a>", "Item"), Err(FileError::Corrupt { .. })));
        assert!(matches!(records::<Item>("<a>\n<b>", "Item"), Err(FileError::Corrupt { line: 2, .. })));
        let error = records::<Item>("<a><b/></a>", "Item").err().unwrap().to_string();
        assert!(error.contains("no <Item> element"), "{error}");
        // A hundred thousand levels (the attack of the issue, 700 KB): refused, without recursion.
        let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
        let error = records::<Item>(&deep, "Item").err().unwrap().to_string();
        assert!(error.contains("nested more than 64 levels"), "{error}");
        // Deep inside a record counts too.
        let deep_record = format!("<Item id=\"1\">{}{}</Item>", "<x>".repeat(100), "</x>".repeat(100));
        assert!(records::<Item>(&deep_record, "Item").is_err());
    }
}

//! A small element tree over quick-xml for the operators' SOAP responses (Mondial Relay, DPD,
//! Colissimo): names without their namespace prefix, trimmed text, and the line each element starts
//! on (bad rows are reported by line).

use quick_xml::Reader;
use quick_xml::events::Event;

use super::FileError;

#[derive(Debug, Default)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
    pub line: usize,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The trimmed text of the child `name`, empty when absent.
    pub fn text_of(&self, name: &str) -> &str {
        self.child(name).map_or("", |c| c.text.trim())
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Every element named `name` at any depth, in document order (not inside another match).
    pub fn find_all<'a>(&'a self, name: &str, out: &mut Vec<&'a Element>) {
        for child in &self.children {
            if child.name == name {
                out.push(child);
            } else {
                child.find_all(name, out);
            }
        }
    }
}

/// Parses a whole document; the root is a synthetic element holding the top-level elements.
pub fn parse(text: &str) -> Result<Element, FileError> {
    let mut reader = Reader::from_str(text);
    let mut lines = super::Lines::new(text);
    let mut stack = vec![Element::default()];
    loop {
        let line = lines.at(reader.buffer_position());
        let corrupt = |message: String| FileError::Corrupt { line, message };
        match reader.read_event() {
            Ok(Event::Start(start)) => stack.push(element(&start, line).map_err(corrupt)?),
            Ok(Event::Empty(start)) => {
                let empty = element(&start, line).map_err(corrupt)?;
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(empty);
                }
            }
            Ok(Event::End(_)) => {
                let done = stack.pop().ok_or_else(|| corrupt("a closing tag without its opening tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Err(corrupt("a closing tag without its opening tag".into())),
                }
            }
            Ok(Event::Text(t)) => {
                let text = t.unescape().map_err(|e| corrupt(format!("bad character reference: {e}")))?;
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&text);
                }
            }
            Ok(Event::CData(t)) => {
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(corrupt(format!("not well-formed XML: {e}"))),
        }
    }
    if stack.len() != 1 {
        let open = stack.last().map(|e| e.name.clone()).unwrap_or_default();
        let line = lines.at(text.len() as u64);
        return Err(FileError::Corrupt { line, message: format!("the file ends inside <{open}>") });
    }
    Ok(stack.pop().unwrap_or_default())
}

fn element(start: &quick_xml::events::BytesStart<'_>, line: usize) -> Result<Element, String> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| format!("bad attribute in <{name}>: {e}"))?;
        let value = attribute.unescape_value().map_err(|e| format!("bad attribute in <{name}>: {e}"))?;
        attributes
            .push((String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned(), value.into_owned()));
    }
    Ok(Element { name, attributes, text: String::new(), children: Vec::new(), line })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_text_lines_and_errors() {
        let doc = "<s:Envelope xmlns:s=\"x\">\n <s:Body>\n  <Item id=\"1\"><Name> Tabac &amp; Presse </Name><Empty/></Item>\n  <Item id=\"2\"><Name>B</Name></Item>\n </s:Body>\n</s:Envelope>";
        let root = parse(doc).unwrap();
        let mut items = Vec::new();
        root.find_all("Item", &mut items);
        assert_eq!(items.len(), 2);
        assert_eq!((items[0].text_of("Name"), items[0].line, items[1].line), ("Tabac & Presse", 3, 4));
        assert_eq!(items[1].attribute("id"), Some("2"));
        assert_eq!(items[0].text_of("Missing"), "");
        assert!(matches!(parse("<a>\n<b></a>"), Err(FileError::Corrupt { .. })));
        assert!(matches!(parse("<a>\n<b>"), Err(FileError::Corrupt { line: 2, .. })));
    }
}

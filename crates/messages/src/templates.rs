//! Message templates: what each event says, per channel part and language, in the minijinja syntax
//! (`{{ point_name }}`, `{% if hours_today %}`), so that an operator can edit them. Each template is
//! checked before it is saved: it must compile and render with sample data, every name it uses must be
//! one the event provides (strict undefined), and it gets a bounded amount of work (fuel), so that a
//! template cannot loop for ever. The HTML part escapes what it inserts; the others insert text as is.
//!
//! The defaults below are French and English. The SMS ones keep to the GSM 7-bit alphabet (`sms.rs`:
//! no `ê` or `ç`), so that a message takes two parts at most, not five.

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;

/// How much work one rendering may do (minijinja's fuel: about one unit per instruction). The
/// defaults take a few hundred.
const FUEL: u64 = 20_000;
/// The longest template source an operator may save.
pub const SOURCE_BYTES_MAX: usize = 16 * 1024;

/// The recipient's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
}

/// A part of a message on its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Sms,
    EmailSubject,
    EmailText,
    EmailHtml,
}

/// What a template was refused for, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The line of the source, when the engine knows it.
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// What the "ready for pickup" message may say.
#[derive(Debug, Clone, Serialize)]
pub struct ReadyForPickup {
    /// The shop the parcel comes from.
    pub merchant: String,
    pub parcel_number: String,
    pub point_name: String,
    /// The point's address on one line.
    pub address: String,
    /// Today's opening hours at the point, as people read them (`9:00-19:00`), empty if unknown.
    pub hours_today: String,
    /// The last day to collect it, in the point's local time, written for the language.
    pub deadline: String,
    pub code: String,
    /// The recipient's page (code, QR, extension).
    pub link: String,
    /// A map link that needs no tiles service (`geo:` URI or an OpenStreetMap link).
    pub map_link: String,
}

impl ReadyForPickup {
    /// Sample data: what a preview shows and what a template is checked against.
    pub fn sample(lang: Lang) -> ReadyForPickup {
        ReadyForPickup {
            merchant: "Boutique Lumière".into(),
            parcel_number: "3SABC0123456789".into(),
            point_name: "Consigne Part-Dieu".into(),
            address: "17 rue du Docteur Bouchut, 69003 Lyon".into(),
            hours_today: "7:00-21:00".into(),
            deadline: match lang {
                Lang::Fr => "samedi 12/12 à 21:00".into(),
                Lang::En => "Saturday 12 Dec at 21:00".into(),
            },
            code: "04831276".into(),
            link: "https://relais.example/r/RL2.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8".into(),
            map_link: "https://www.openstreetmap.org/?mlat=45.7606&mlon=4.8593#map=18/45.7606/4.8593".into(),
        }
    }
}

/// The default template of the ready-for-pickup message for a part and a language.
pub fn ready_for_pickup(part: Part, lang: Lang) -> &'static str {
    match (part, lang) {
        (Part::Sms, Lang::Fr) => {
            "{{ merchant }} : votre colis {{ parcel_number }} vous attend à {{ point_name }}, {{ address }}. \
             Code {{ code }}, jusqu'au {{ deadline }}. QR et horaires : {{ link }}"
        }
        (Part::Sms, Lang::En) => {
            "{{ merchant }}: your parcel {{ parcel_number }} is waiting at {{ point_name }}, {{ address }}. \
             Code {{ code }}, until {{ deadline }}. QR code and hours: {{ link }}"
        }
        (Part::EmailSubject, Lang::Fr) => "Votre colis {{ parcel_number }} vous attend à {{ point_name }}",
        (Part::EmailSubject, Lang::En) => "Your parcel {{ parcel_number }} is ready at {{ point_name }}",
        (Part::EmailText, Lang::Fr) => {
            "Bonjour,\n\nVotre colis {{ parcel_number }} de {{ merchant }} vous attend.\n\n\
             {{ point_name }}\n{{ address }}\n{% if hours_today %}Ouvert aujourd'hui : {{ hours_today }}\n{% endif %}\
             Plan : {{ map_link }}\n\nVotre code de retrait : {{ code }}\nÀ retirer jusqu'au {{ deadline }}.\n\n\
             Le QR code, les horaires et la prolongation : {{ link }}\n"
        }
        (Part::EmailText, Lang::En) => {
            "Hello,\n\nYour parcel {{ parcel_number }} from {{ merchant }} is ready for pickup.\n\n\
             {{ point_name }}\n{{ address }}\n{% if hours_today %}Open today: {{ hours_today }}\n{% endif %}\
             Map: {{ map_link }}\n\nYour pickup code: {{ code }}\nCollect it by {{ deadline }}.\n\n\
             The QR code, opening hours and an extension: {{ link }}\n"
        }
        (Part::EmailHtml, Lang::Fr) => {
            "<p>Bonjour,</p><p>Votre colis <strong>{{ parcel_number }}</strong> de {{ merchant }} vous attend.</p>\
             <p><strong>{{ point_name }}</strong><br>{{ address }}<br>\
             {% if hours_today %}Ouvert aujourd'hui : {{ hours_today }}<br>{% endif %}\
             <a href=\"{{ map_link }}\">Voir sur le plan</a></p>\
             <p>Votre code de retrait : <strong style=\"font-size:1.5em;letter-spacing:.15em\">{{ code }}</strong><br>\
             À retirer jusqu'au {{ deadline }}.</p>\
             <p><a href=\"{{ link }}\">Le QR code, les horaires et la prolongation</a></p>"
        }
        (Part::EmailHtml, Lang::En) => {
            "<p>Hello,</p><p>Your parcel <strong>{{ parcel_number }}</strong> from {{ merchant }} is ready for pickup.</p>\
             <p><strong>{{ point_name }}</strong><br>{{ address }}<br>\
             {% if hours_today %}Open today: {{ hours_today }}<br>{% endif %}\
             <a href=\"{{ map_link }}\">See it on the map</a></p>\
             <p>Your pickup code: <strong style=\"font-size:1.5em;letter-spacing:.15em\">{{ code }}</strong><br>\
             Collect it by {{ deadline }}.</p>\
             <p><a href=\"{{ link }}\">The QR code, opening hours and an extension</a></p>"
        }
    }
}

/// Renders a template source for a part with the event's data.
pub fn render(source: &str, part: Part, data: &impl Serialize) -> Result<String, TemplateError> {
    if source.len() > SOURCE_BYTES_MAX {
        return Err(TemplateError { line: None, message: format!("longer than {SOURCE_BYTES_MAX} bytes") });
    }
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    let escape = if part == Part::EmailHtml { AutoEscape::Html } else { AutoEscape::None };
    env.set_auto_escape_callback(move |_| escape.clone());
    env.render_str(source, Value::from(Serde(data))).map_err(|e| TemplateError {
        line: e.line(),
        message: e.detail().map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind())),
    })
}

/// Whether an operator's template may be saved: it renders with the sample data of both languages.
pub fn check_ready_for_pickup(source: &str, part: Part) -> Result<(), TemplateError> {
    for lang in [Lang::Fr, Lang::En] {
        render(source, part, &ReadyForPickup::sample(lang))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::{Encoding, encoding_of, segment};

    const PARTS: [Part; 4] = [Part::Sms, Part::EmailSubject, Part::EmailText, Part::EmailHtml];

    #[test]
    fn every_default_renders_what_the_recipient_needs() {
        for lang in [Lang::Fr, Lang::En] {
            let data = ReadyForPickup::sample(lang);
            for part in PARTS {
                let text = render(ready_for_pickup(part, lang), part, &data).unwrap();
                // HTML escapes `/` and `&` in what it inserts (links work the same in a browser).
                let text =
                    if part == Part::EmailHtml { text.replace("&#x2f;", "/").replace("&amp;", "&") } else { text };
                assert!(!text.contains("{{") && !text.contains("{%"), "{part:?} {lang:?}: {text}");
                assert!(text.contains(&data.parcel_number), "{part:?} {lang:?}: {text}");
                if part != Part::EmailSubject {
                    for needed in [&data.code, &data.link, &data.point_name] {
                        assert!(text.contains(needed.as_str()), "{part:?} {lang:?} lacks {needed}: {text}");
                    }
                }
                if matches!(part, Part::EmailText | Part::EmailHtml) {
                    assert!(text.contains(&data.hours_today) && text.contains(&data.map_link), "{text}");
                }
            }
        }
    }

    #[test]
    fn the_default_sms_keep_to_the_gsm_alphabet_and_two_parts() {
        for lang in [Lang::Fr, Lang::En] {
            let text = render(ready_for_pickup(Part::Sms, lang), Part::Sms, &ReadyForPickup::sample(lang)).unwrap();
            assert_eq!(encoding_of(&text), Encoding::Gsm7, "{lang:?}: {text}");
            assert!(segment(&text).segments() <= 2, "{lang:?}: {} parts: {text}", segment(&text).segments());
        }
    }

    #[test]
    fn html_escapes_what_it_inserts_and_text_does_not() {
        let data = ReadyForPickup { point_name: "Tabac <Gare> & Co".into(), ..ReadyForPickup::sample(Lang::Fr) };
        let html = render(ready_for_pickup(Part::EmailHtml, Lang::Fr), Part::EmailHtml, &data).unwrap();
        assert!(html.contains("Tabac &lt;Gare&gt; &amp; Co") && !html.contains("<Gare>"), "{html}");
        let text = render(ready_for_pickup(Part::EmailText, Lang::Fr), Part::EmailText, &data).unwrap();
        assert!(text.contains("Tabac <Gare> & Co"), "{text}");
    }

    #[test]
    fn a_template_that_does_not_render_is_refused_with_where() {
        let refused = |source: &str| check_ready_for_pickup(source, Part::Sms).unwrap_err();
        let unclosed = refused("Votre colis\n{% if code %}{{ code }}");
        assert!(unclosed.line.is_some() && unclosed.message.contains("syntax"), "{unclosed}");
        let unknown = refused("Code {{ code }}\nColis {{ colis }}");
        assert_eq!(unknown.line, Some(2), "{unknown}");
        assert!(unknown.message.contains("undefined"), "{unknown}");
        let endless = refused("{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}");
        assert!(endless.message.contains("fuel"), "{endless}");
        let huge = refused(&"x".repeat(SOURCE_BYTES_MAX + 1));
        assert!(huge.message.contains("longer than"), "{huge}");
        assert_eq!(check_ready_for_pickup("Code {{ code }} : {{ link }}", Part::Sms), Ok(()));
    }
}

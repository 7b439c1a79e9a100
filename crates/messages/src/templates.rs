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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Fr,
    En,
}

/// A part of a message on its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    Sms,
    EmailSubject,
    EmailText,
    EmailHtml,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }
}

impl Part {
    pub const ALL: [Part; 4] = [Part::Sms, Part::EmailSubject, Part::EmailText, Part::EmailHtml];

    pub fn parse(s: &str) -> Option<Part> {
        Part::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The part's name in the API: `sms`, `subject`, `text`, `html`.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Sms => "sms",
            Part::EmailSubject => "subject",
            Part::EmailText => "text",
            Part::EmailHtml => "html",
        }
    }
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

/// Everything a recipient's message may say; each notice uses what it needs, and an empty field is
/// left out by the defaults (`{% if hours_today %}`). One set of names for every notice, so that an
/// operator learns them once.
#[derive(Debug, Clone, Serialize)]
pub struct MessageData {
    /// The shop the parcel comes from, and its branding.
    pub merchant: String,
    /// The shop's colour, `#rrggbb` (checked where it is set).
    pub brand_color: String,
    /// The shop's logo (an `https://` URL), or empty.
    pub logo_url: String,
    pub parcel_number: String,
    pub point_name: String,
    /// The point's address on one line.
    pub address: String,
    /// Today's opening hours at the point, as people read them (`9:00-19:00`), empty if unknown.
    pub hours_today: String,
    /// The last day to collect it, in the point's local time, written for the language.
    pub deadline: String,
    /// When the event happened (a collection), in the point's local time.
    pub event_time: String,
    /// The pickup code, in the notices that carry it; empty otherwise.
    pub code: String,
    /// The recipient's page (code, QR, extension).
    pub link: String,
    /// A map link that needs no tiles service (an OpenStreetMap link with the point's position).
    pub map_link: String,
    /// The point the recipient chose, while the parcel waits at another (relocated).
    pub previous_point: String,
    /// The satisfaction survey (collected), or empty.
    pub survey_link: String,
    /// Where the recipient stops these messages.
    pub opt_out_link: String,
}

impl MessageData {
    /// Sample data: what a preview shows and what a template is checked against.
    pub fn sample(lang: Lang) -> MessageData {
        MessageData {
            merchant: "Boutique Lumière".into(),
            brand_color: "#1d4ed8".into(),
            logo_url: String::new(),
            parcel_number: "3SABC0123456789".into(),
            point_name: "Consigne Part-Dieu".into(),
            address: "17 rue du Docteur Bouchut, 69003 Lyon".into(),
            hours_today: "7:00-21:00".into(),
            deadline: match lang {
                Lang::Fr => "samedi 12/12 à 21:00".into(),
                Lang::En => "Saturday 12 Dec at 21:00".into(),
            },
            event_time: match lang {
                Lang::Fr => "jeudi 10/12 à 18:42".into(),
                Lang::En => "Thursday 10 Dec at 18:42".into(),
            },
            code: "04831276".into(),
            link: "https://relais.example/r/RL2.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8".into(),
            map_link: "https://www.openstreetmap.org/?mlat=45.7606&mlon=4.8593#map=18/45.7606/4.8593".into(),
            previous_point: "Tabac de la Gare".into(),
            survey_link: "https://relais.example/r/RL2.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8/survey".into(),
            opt_out_link: "https://relais.example/r/RL2.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8/stop".into(),
        }
    }
}

/// What every recipient's notice is called in templates (the domain's `Notice` names).
pub const NOTICES: [&str; 10] = [
    "announced",
    "ready_for_pickup",
    "reminder",
    "expiring_soon",
    "extended",
    "expired",
    "relocated",
    "delayed",
    "collected",
    "code_reissued",
];

/// The default SMS, e-mail subject and e-mail text of a notice in a language. The HTML part of every
/// notice is one branded layout around the text ([`DEFAULT_HTML`]).
fn defaults(notice: &str, lang: Lang) -> Option<[&'static str; 3]> {
    Some(match (notice, lang) {
        ("announced", Lang::Fr) => [
            "{{ merchant }} : votre colis {{ parcel_number }} sera livré à {{ point_name }}, {{ address }}. \
             Nous vous préviendrons dès son arrivée. Suivi : {{ link }}",
            "Votre colis {{ parcel_number }} sera livré à {{ point_name }}",
            "Bonjour,\n\nVotre colis {{ parcel_number }} de {{ merchant }} est en route vers le point que vous avez choisi :\n\n\
             {{ point_name }}\n{{ address }}\nPlan : {{ map_link }}\n\n\
             Nous vous écrirons dès qu'il y sera, avec votre code de retrait.\n\nSuivi : {{ link }}\n",
        ],
        ("announced", Lang::En) => [
            "{{ merchant }}: your parcel {{ parcel_number }} is on its way to {{ point_name }}, {{ address }}. \
             We will tell you when it arrives. Tracking: {{ link }}",
            "Your parcel {{ parcel_number }} is on its way to {{ point_name }}",
            "Hello,\n\nYour parcel {{ parcel_number }} from {{ merchant }} is on its way to the point you chose:\n\n\
             {{ point_name }}\n{{ address }}\nMap: {{ map_link }}\n\n\
             We will write as soon as it is there, with your pickup code.\n\nTracking: {{ link }}\n",
        ],
        ("ready_for_pickup", Lang::Fr) => [
            "{{ merchant }} : votre colis {{ parcel_number }} vous attend à {{ point_name }}, {{ address }}. \
             Code {{ code }}, jusqu'au {{ deadline }}. QR et horaires : {{ link }}",
            "Votre colis {{ parcel_number }} vous attend à {{ point_name }}",
            "Bonjour,\n\nVotre colis {{ parcel_number }} de {{ merchant }} vous attend.\n\n\
             {{ point_name }}\n{{ address }}\n{% if hours_today %}Ouvert aujourd'hui : {{ hours_today }}\n{% endif %}\
             Plan : {{ map_link }}\n\nVotre code de retrait : {{ code }}\nÀ retirer jusqu'au {{ deadline }}.\n\n\
             Le QR code, les horaires et la prolongation : {{ link }}\n",
        ],
        ("ready_for_pickup", Lang::En) => [
            "{{ merchant }}: your parcel {{ parcel_number }} is waiting at {{ point_name }}, {{ address }}. \
             Code {{ code }}, until {{ deadline }}. QR code and hours: {{ link }}",
            "Your parcel {{ parcel_number }} is ready at {{ point_name }}",
            "Hello,\n\nYour parcel {{ parcel_number }} from {{ merchant }} is ready for pickup.\n\n\
             {{ point_name }}\n{{ address }}\n{% if hours_today %}Open today: {{ hours_today }}\n{% endif %}\
             Map: {{ map_link }}\n\nYour pickup code: {{ code }}\nCollect it by {{ deadline }}.\n\n\
             The QR code, opening hours and an extension: {{ link }}\n",
        ],
        ("reminder", Lang::Fr) => [
            "Rappel {{ merchant }} : votre colis {{ parcel_number }} vous attend à {{ point_name }} jusqu'au \
             {{ deadline }}. Code {{ code }}. {{ link }}",
            "Rappel : votre colis {{ parcel_number }} vous attend",
            "Bonjour,\n\nVotre colis {{ parcel_number }} de {{ merchant }} vous attend toujours à {{ point_name }}, \
             {{ address }}, jusqu'au {{ deadline }}.\n{% if hours_today %}Ouvert aujourd'hui : {{ hours_today }}\n{% endif %}\n\
             Votre code de retrait : {{ code }}\n\nBesoin de plus de temps ? {{ link }}\n",
        ],
        ("reminder", Lang::En) => [
            "Reminder from {{ merchant }}: your parcel {{ parcel_number }} is waiting at {{ point_name }} until \
             {{ deadline }}. Code {{ code }}. {{ link }}",
            "Reminder: your parcel {{ parcel_number }} is waiting",
            "Hello,\n\nYour parcel {{ parcel_number }} from {{ merchant }} is still waiting at {{ point_name }}, \
             {{ address }}, until {{ deadline }}.\n{% if hours_today %}Open today: {{ hours_today }}\n{% endif %}\n\
             Your pickup code: {{ code }}\n\nNeed more time? {{ link }}\n",
        ],
        ("expiring_soon", Lang::Fr) => [
            "Dernier rappel : votre colis {{ parcel_number }} repart chez {{ merchant }} après le {{ deadline }}. \
             Code {{ code }} à {{ point_name }}. Prolonger : {{ link }}",
            "Dernier rappel : votre colis {{ parcel_number }} repart bientôt",
            "Bonjour,\n\nVotre colis {{ parcel_number }} vous attend à {{ point_name }}, {{ address }}, jusqu'au \
             {{ deadline }} seulement. Passé ce délai, il sera renvoyé à {{ merchant }}.\n\n\
             Votre code de retrait : {{ code }}\n\nPour le garder plus longtemps : {{ link }}\n",
        ],
        ("expiring_soon", Lang::En) => [
            "Last reminder: your parcel {{ parcel_number }} goes back to {{ merchant }} after {{ deadline }}. \
             Code {{ code }} at {{ point_name }}. Extend: {{ link }}",
            "Last reminder: your parcel {{ parcel_number }} goes back soon",
            "Hello,\n\nYour parcel {{ parcel_number }} is waiting at {{ point_name }}, {{ address }}, until \
             {{ deadline }} only. After that it goes back to {{ merchant }}.\n\n\
             Your pickup code: {{ code }}\n\nTo keep it longer: {{ link }}\n",
        ],
        ("extended", Lang::Fr) => [
            "Votre colis {{ parcel_number }} vous attend désormais jusqu'au {{ deadline }} à {{ point_name }}.",
            "Votre colis {{ parcel_number }} vous attend jusqu'au {{ deadline }}",
            "Bonjour,\n\nC'est noté : votre colis {{ parcel_number }} vous attend à {{ point_name }}, {{ address }}, \
             jusqu'au {{ deadline }}.\n\nSuivi : {{ link }}\n",
        ],
        ("extended", Lang::En) => [
            "Your parcel {{ parcel_number }} now waits for you until {{ deadline }} at {{ point_name }}.",
            "Your parcel {{ parcel_number }} waits until {{ deadline }}",
            "Hello,\n\nDone: your parcel {{ parcel_number }} waits for you at {{ point_name }}, {{ address }}, \
             until {{ deadline }}.\n\nTracking: {{ link }}\n",
        ],
        ("expired", Lang::Fr) => [
            "Le délai de retrait de votre colis {{ parcel_number }} est passé : il retourne chez {{ merchant }}, \
             qui vous contactera.",
            "Votre colis {{ parcel_number }} retourne chez {{ merchant }}",
            "Bonjour,\n\nVotre colis {{ parcel_number }} n'a pas été retiré à {{ point_name }} avant le \
             {{ deadline }}. Il retourne chez {{ merchant }}, qui vous contactera pour la suite.\n",
        ],
        ("expired", Lang::En) => [
            "The pickup time for your parcel {{ parcel_number }} is over: it goes back to {{ merchant }}, who will \
             contact you.",
            "Your parcel {{ parcel_number }} goes back to {{ merchant }}",
            "Hello,\n\nYour parcel {{ parcel_number }} was not collected at {{ point_name }} by {{ deadline }}. It \
             goes back to {{ merchant }}, who will contact you about what comes next.\n",
        ],
        ("relocated", Lang::Fr) => [
            "{{ previous_point }} est complet : votre colis {{ parcel_number }} sera déposé à {{ point_name }}, \
             {{ address }}. Nous vous préviendrons. {{ link }}",
            "Votre colis {{ parcel_number }} sera déposé à {{ point_name }}",
            "Bonjour,\n\nLe point que vous aviez choisi, {{ previous_point }}, n'a plus de place. Votre colis \
             {{ parcel_number }} sera déposé tout près :\n\n{{ point_name }}\n{{ address }}\nPlan : {{ map_link }}\n\n\
             Nous vous écrirons dès qu'il y sera, avec votre code de retrait.\n\nSuivi : {{ link }}\n",
        ],
        ("relocated", Lang::En) => [
            "{{ previous_point }} is full: your parcel {{ parcel_number }} will be left at {{ point_name }}, \
             {{ address }}. We will tell you. {{ link }}",
            "Your parcel {{ parcel_number }} will be left at {{ point_name }}",
            "Hello,\n\nThe point you chose, {{ previous_point }}, has no room left. Your parcel {{ parcel_number }} \
             will be left nearby:\n\n{{ point_name }}\n{{ address }}\nMap: {{ map_link }}\n\n\
             We will write as soon as it is there, with your pickup code.\n\nTracking: {{ link }}\n",
        ],
        ("delayed", Lang::Fr) => [
            "{{ merchant }} : votre colis {{ parcel_number }} aura du retard. Nous vous préviendrons dès son arrivée \
             à {{ point_name }}. {{ link }}",
            "Votre colis {{ parcel_number }} aura du retard",
            "Bonjour,\n\nVotre colis {{ parcel_number }} de {{ merchant }} a pris du retard chez le transporteur. \
             Nous vous écrirons dès qu'il sera à {{ point_name }}.\n\nSuivi : {{ link }}\n",
        ],
        ("delayed", Lang::En) => [
            "{{ merchant }}: your parcel {{ parcel_number }} is running late. We will tell you when it reaches \
             {{ point_name }}. {{ link }}",
            "Your parcel {{ parcel_number }} is running late",
            "Hello,\n\nYour parcel {{ parcel_number }} from {{ merchant }} is delayed at the carrier. We will write \
             as soon as it is at {{ point_name }}.\n\nTracking: {{ link }}\n",
        ],
        ("collected", Lang::Fr) => [
            "Votre colis {{ parcel_number }} a été retiré le {{ event_time }} à {{ point_name }}. Merci !",
            "Votre colis {{ parcel_number }} a été retiré",
            "Bonjour,\n\nVotre colis {{ parcel_number }} de {{ merchant }} a été retiré le {{ event_time }} à \
             {{ point_name }}.\n{% if survey_link %}\nComment s'est passé votre retrait ? Une question, une note de 0 à 10 : \
             {{ survey_link }}\n{% endif %}",
        ],
        ("collected", Lang::En) => [
            "Your parcel {{ parcel_number }} was collected on {{ event_time }} at {{ point_name }}. Thank you!",
            "Your parcel {{ parcel_number }} was collected",
            "Hello,\n\nYour parcel {{ parcel_number }} from {{ merchant }} was collected on {{ event_time }} at \
             {{ point_name }}.\n{% if survey_link %}\nHow was your pickup? One question, a score from 0 to 10: \
             {{ survey_link }}\n{% endif %}",
        ],
        ("code_reissued", Lang::Fr) => [
            "{{ merchant }} : nouveau code pour votre colis {{ parcel_number }} : {{ code }}. L'ancien ne marche \
             plus. {{ point_name }}, jusqu'au {{ deadline }}. {{ link }}",
            "Votre nouveau code de retrait pour le colis {{ parcel_number }}",
            "Bonjour,\n\nVoici le nouveau code de retrait de votre colis {{ parcel_number }} : {{ code }}\n\
             L'ancien code et l'ancien QR code ne fonctionnent plus.\n\n{{ point_name }}\n{{ address }}\n\
             À retirer jusqu'au {{ deadline }}.\n\nLe QR code : {{ link }}\n",
        ],
        ("code_reissued", Lang::En) => [
            "{{ merchant }}: new code for your parcel {{ parcel_number }}: {{ code }}. The old one no longer \
             works. {{ point_name }}, until {{ deadline }}. {{ link }}",
            "Your new pickup code for parcel {{ parcel_number }}",
            "Hello,\n\nHere is the new pickup code of your parcel {{ parcel_number }}: {{ code }}\n\
             The old code and QR code no longer work.\n\n{{ point_name }}\n{{ address }}\n\
             Collect it by {{ deadline }}.\n\nThe QR code: {{ link }}\n",
        ],
        _ => return None,
    })
}

/// The HTML part of every default e-mail: the merchant's colour and logo around the text part
/// (`body_html`: the text escaped, its links made clickable), the QR code when the message carries the
/// code (`qr_src`: the image attached to the e-mail), and the opt-out link.
pub const DEFAULT_HTML: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head>\
<body style=\"margin:0;padding:0;background:#f4f4f5;font-family:Arial,Helvetica,sans-serif;color:#18181b\">\
<div style=\"max-width:560px;margin:0 auto;background:#ffffff\">\
<div style=\"background:{{ brand_color }};color:#ffffff;padding:16px 24px;font-size:18px;font-weight:bold\">\
{% if logo_url %}<img src=\"{{ logo_url }}\" alt=\"{{ merchant }}\" height=\"32\" style=\"vertical-align:middle\">\
{% else %}{{ merchant }}{% endif %}</div>\
<div style=\"padding:24px;font-size:15px;line-height:1.5\">{{ body_html|safe }}\
{% if qr_src %}<p style=\"text-align:center\"><img src=\"{{ qr_src }}\" alt=\"QR code\" width=\"200\" height=\"200\"></p>{% endif %}\
</div>{% if opt_out_link %}<div style=\"padding:12px 24px;font-size:12px;color:#71717a\">\
<a href=\"{{ opt_out_link }}\" style=\"color:#71717a\">{{ opt_out_label }}</a></div>{% endif %}\
</div></body></html>";

/// The default template of a notice's part in a language; `None` for a notice relais does not know.
pub fn default_template(notice: &str, part: Part, lang: Lang) -> Option<&'static str> {
    let [sms, subject, text] = defaults(notice, lang)?;
    Some(match part {
        Part::Sms => sms,
        Part::EmailSubject => subject,
        Part::EmailText => text,
        Part::EmailHtml => DEFAULT_HTML,
    })
}

/// The text part as HTML: escaped, one paragraph per blank-line block, line breaks kept, and each
/// `https://` link made clickable.
pub fn text_to_html(text: &str) -> String {
    fn escape_into(html: &mut String, s: &str) {
        for c in s.chars() {
            match c {
                '&' => html.push_str("&amp;"),
                '<' => html.push_str("&lt;"),
                '>' => html.push_str("&gt;"),
                '"' => html.push_str("&quot;"),
                '\'' => html.push_str("&#39;"),
                c => html.push(c),
            }
        }
    }
    let mut html = String::with_capacity(text.len() * 2);
    for block in text.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        html.push_str("<p>");
        for (i, line) in block.lines().enumerate() {
            if i > 0 {
                html.push_str("<br>");
            }
            for (j, word) in line.split(' ').enumerate() {
                if j > 0 {
                    html.push(' ');
                }
                if word.starts_with("https://") || word.starts_with("http://") {
                    html.push_str("<a href=\"");
                    escape_into(&mut html, word);
                    html.push_str("\">");
                    escape_into(&mut html, word);
                    html.push_str("</a>");
                } else {
                    escape_into(&mut html, word);
                }
            }
        }
        html.push_str("</p>");
    }
    html
}

/// What the HTML layout may use beyond [`MessageData`]: the text part as HTML (`body_html`), the QR
/// code's image (`qr_src`, the `cid:` of the attached image, when the message carries the code) and the
/// opt-out link's label.
fn html_context(data: Value, text: &str, qr_src: &str, opt_out_label: &str) -> Value {
    minijinja::context! {
        body_html => text_to_html(text),
        qr_src => qr_src,
        opt_out_label => opt_out_label,
        ..data
    }
}

/// An e-mail from its three parts, `part` rendering each with its context: the subject on one line,
/// the text, and the HTML around the text.
fn email(
    data: &MessageData,
    lang: Lang,
    qr_src: &str,
    mut part: impl FnMut(Part, Value) -> Result<String, TemplateError>,
) -> Result<Email, TemplateError> {
    // The data converted once for the three parts.
    let context = Value::from(Serde(data));
    let subject = part(Part::EmailSubject, context.clone())?;
    // A header holds one line: a template's stray line break must not start another header.
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = part(Part::EmailText, context.clone())?;
    let html = part(Part::EmailHtml, html_context(context, &text, qr_src, opt_out_label(lang)))?;
    Ok(Email { subject, text, html })
}

/// A rendered e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The sources of a notice's parts, the defaults or an operator's.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    pub sms: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
}

impl Sources<'static> {
    pub fn defaults(notice: &str, lang: Lang) -> Option<Sources<'static>> {
        let [sms, subject, text] = defaults(notice, lang)?;
        Some(Sources { sms, subject, text, html: DEFAULT_HTML })
    }
}

/// Renders an e-mail: the subject on one line, the text, and the HTML around the text. `qr_src`: the
/// QR image's source when the message carries the code, or empty.
pub fn render_email(
    sources: &Sources<'_>,
    data: &MessageData,
    lang: Lang,
    qr_src: &str,
) -> Result<Email, TemplateError> {
    email(data, lang, qr_src, |part, context| {
        let source = match part {
            Part::EmailSubject => sources.subject,
            Part::EmailText => sources.text,
            _ => sources.html,
        };
        render_value(source, part, context)
    })
}

/// The default templates, compiled once for the process: a message rendered from them skips reading
/// and compiling its templates (three an e-mail), which was a tenth of what sending one cost.
fn compiled_defaults() -> &'static Environment<'static> {
    static DEFAULTS: std::sync::OnceLock<Environment<'static>> = std::sync::OnceLock::new();
    DEFAULTS.get_or_init(|| {
        let mut env = environment();
        env.set_auto_escape_callback(|name| if name.ends_with(".html") { AutoEscape::Html } else { AutoEscape::None });
        // Every default compiles: the tests render each of them.
        let _ = env.add_template("layout.html", DEFAULT_HTML);
        for notice in NOTICES {
            for lang in [Lang::Fr, Lang::En] {
                if let Some([sms, subject, text]) = defaults(notice, lang) {
                    for (part, source) in [("sms", sms), ("subject", subject), ("text", text)] {
                        let _ = env.add_template_owned(default_name(notice, lang, part), source);
                    }
                }
            }
        }
        env
    })
}

fn default_name(notice: &str, lang: Lang, part: &str) -> String {
    format!("{notice}.{}.{part}", lang.as_str())
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env
}

fn template_error(e: minijinja::Error) -> TemplateError {
    TemplateError {
        line: e.line(),
        message: e.detail().map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind())),
    }
}

fn render_compiled(name: &str, context: Value) -> Result<String, TemplateError> {
    let template = compiled_defaults().get_template(name).map_err(template_error)?;
    template.render(context).map_err(template_error)
}

/// A notice's SMS from the default templates (compiled once).
pub fn default_sms(notice: &str, lang: Lang, data: &MessageData) -> Result<String, TemplateError> {
    render_compiled(&default_name(notice, lang, "sms"), Value::from(Serde(data)))
}

/// A notice's e-mail from the default templates (compiled once), as [`render_email`] renders it.
pub fn default_email(notice: &str, lang: Lang, data: &MessageData, qr_src: &str) -> Result<Email, TemplateError> {
    email(data, lang, qr_src, |part, context| {
        let name = match part {
            Part::EmailSubject => default_name(notice, lang, "subject"),
            Part::EmailText => default_name(notice, lang, "text"),
            _ => "layout.html".to_owned(),
        };
        render_compiled(&name, context)
    })
}

fn opt_out_label(lang: Lang) -> &'static str {
    match lang {
        Lang::Fr => "Ne plus recevoir ces messages",
        Lang::En => "Stop these messages",
    }
}

/// Renders a template source for a part with the event's data.
pub fn render(source: &str, part: Part, data: &impl Serialize) -> Result<String, TemplateError> {
    render_value(source, part, Value::from(Serde(data)))
}

fn render_value(source: &str, part: Part, context: Value) -> Result<String, TemplateError> {
    if source.len() > SOURCE_BYTES_MAX {
        return Err(TemplateError { line: None, message: format!("longer than {SOURCE_BYTES_MAX} bytes") });
    }
    let mut env = environment();
    let escape = if part == Part::EmailHtml { AutoEscape::Html } else { AutoEscape::None };
    env.set_auto_escape_callback(move |_| escape.clone());
    env.render_str(source, context).map_err(template_error)
}

/// Whether an operator's template may be saved: it renders with the sample data of both languages
/// (the HTML part with the text part's default around it).
pub fn check(source: &str, part: Part) -> Result<(), TemplateError> {
    for lang in [Lang::Fr, Lang::En] {
        let data = MessageData::sample(lang);
        match part {
            Part::EmailHtml => {
                let text = render(
                    default_template("ready_for_pickup", Part::EmailText, lang).unwrap_or(""),
                    Part::EmailText,
                    &data,
                )?;
                render_value(source, part, html_context(Value::from(Serde(&data)), &text, "cid:qr", ""))?;
            }
            _ => {
                render(source, part, &data)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::{Encoding, encoding_of, segment};

    /// The fields a notice's text must show the recipient.
    fn needed(notice: &str, data: &MessageData) -> Vec<String> {
        let mut needed = vec![data.parcel_number.clone()];
        match notice {
            "ready_for_pickup" | "reminder" | "expiring_soon" | "code_reissued" => {
                needed.extend([data.code.clone(), data.point_name.clone(), data.deadline.clone()])
            }
            "extended" => needed.extend([data.deadline.clone(), data.point_name.clone()]),
            "relocated" => needed.extend([data.previous_point.clone(), data.point_name.clone()]),
            "collected" => needed.push(data.event_time.clone()),
            "expired" => needed.push(data.merchant.clone()),
            _ => needed.push(data.point_name.clone()),
        }
        needed
    }

    #[test]
    fn every_notice_has_every_part_in_both_languages_and_says_what_it_must() {
        for notice in NOTICES {
            for lang in [Lang::Fr, Lang::En] {
                let data = MessageData::sample(lang);
                let sources = Sources::defaults(notice, lang).unwrap();
                let sms = render(sources.sms, Part::Sms, &data).unwrap();
                let email = render_email(&sources, &data, lang, "cid:qr").unwrap();
                for text in [&sms, &email.text] {
                    assert!(!text.contains("{{") && !text.contains("{%"), "{notice} {lang:?}: {text}");
                    for field in needed(notice, &data) {
                        assert!(text.contains(&field), "{notice} {lang:?} lacks {field}: {text}");
                    }
                }
                assert!(email.subject.contains(&data.parcel_number) && !email.subject.contains('\n'), "{notice}");
                // The HTML part carries the text (escaped: `'` becomes `&#39;`), the brand and the QR.
                let html = email.html.replace("&#39;", "'").replace("&#x2f;", "/").replace("&amp;", "&");
                assert!(html.contains(&data.parcel_number) && html.contains("#1d4ed8") && html.contains("cid:qr"));
                assert!(html.contains(&format!("href=\"{}\"", data.opt_out_link)), "{notice} {lang:?}");
            }
            assert!(Sources::defaults(notice, Lang::Fr).is_some());
        }
        assert!(default_template("lost_in_space", Part::Sms, Lang::Fr).is_none());
    }

    #[test]
    fn the_compiled_defaults_render_as_their_sources_do() {
        for notice in NOTICES {
            for lang in [Lang::Fr, Lang::En] {
                let data = MessageData::sample(lang);
                let sources = Sources::defaults(notice, lang).unwrap();
                assert_eq!(default_sms(notice, lang, &data).unwrap(), render(sources.sms, Part::Sms, &data).unwrap());
                let compiled = default_email(notice, lang, &data, "cid:qr").unwrap();
                assert_eq!(compiled, render_email(&sources, &data, lang, "cid:qr").unwrap(), "{notice} {lang:?}");
            }
        }
        assert!(default_sms("lost_in_space", Lang::Fr, &MessageData::sample(Lang::Fr)).is_err());
    }

    #[test]
    fn the_default_sms_keep_to_the_gsm_alphabet_and_two_parts() {
        for notice in NOTICES {
            for lang in [Lang::Fr, Lang::En] {
                let text =
                    render(default_template(notice, Part::Sms, lang).unwrap(), Part::Sms, &MessageData::sample(lang))
                        .unwrap();
                assert_eq!(encoding_of(&text), Encoding::Gsm7, "{notice} {lang:?}: {text}");
                let parts = segment(&text).segments();
                assert!(parts <= 2, "{notice} {lang:?}: {parts} parts: {text}");
            }
        }
    }

    #[test]
    fn html_escapes_what_it_inserts_and_text_does_not() {
        let data = MessageData { point_name: "Tabac <Gare> & Co".into(), ..MessageData::sample(Lang::Fr) };
        let sources = Sources::defaults("ready_for_pickup", Lang::Fr).unwrap();
        let email = render_email(&sources, &data, Lang::Fr, "").unwrap();
        assert!(email.html.contains("Tabac &lt;Gare&gt; &amp; Co") && !email.html.contains("<Gare>"), "{}", email.html);
        assert!(email.text.contains("Tabac <Gare> & Co"), "{}", email.text);
        assert!(!email.html.contains("cid:"), "no code, no QR image");
        let evil = MessageData { merchant: "<script>x</script>".into(), ..MessageData::sample(Lang::En) };
        let email = render_email(&Sources::defaults("collected", Lang::En).unwrap(), &evil, Lang::En, "").unwrap();
        assert!(!email.html.contains("<script>"), "{}", email.html);
    }

    #[test]
    fn text_becomes_paragraphs_with_clickable_links() {
        let html = text_to_html("Hello,\n\nLine one\nSee https://x.example/a?b=1&c=2 now\n");
        assert_eq!(
            html,
            "<p>Hello,</p><p>Line one<br>See <a href=\"https://x.example/a?b=1&amp;c=2\">https://x.example/a?b=1&amp;c=2</a> now</p>"
        );
    }

    #[test]
    fn a_template_that_does_not_render_is_refused_with_where() {
        let refused = |source: &str| check(source, Part::Sms).unwrap_err();
        let unclosed = refused("Votre colis\n{% if code %}{{ code }}");
        assert!(unclosed.line.is_some() && unclosed.message.contains("syntax"), "{unclosed}");
        let unknown = refused("Code {{ code }}\nColis {{ colis }}");
        assert_eq!(unknown.line, Some(2), "{unknown}");
        assert!(unknown.message.contains("undefined"), "{unknown}");
        let endless = refused("{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}");
        assert!(endless.message.contains("fuel"), "{endless}");
        let huge = refused(&"x".repeat(SOURCE_BYTES_MAX + 1));
        assert!(huge.message.contains("longer than"), "{huge}");
        assert_eq!(check("Code {{ code }} : {{ link }}", Part::Sms), Ok(()));
        assert_eq!(check(DEFAULT_HTML, Part::EmailHtml), Ok(()));
        assert!(check("{{ body_html|safe }}{{ nope }}", Part::EmailHtml).is_err());
    }
}

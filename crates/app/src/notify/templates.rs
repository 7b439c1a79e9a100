//! The recipients' message templates as operators edit them: every notice's SMS, e-mail subject,
//! text and HTML in French and English, the defaults of `relais-messages` unless an operator saved
//! their own. A template is checked against the sample data of both languages before it is saved (a
//! template that does not render is refused with the line and the problem); a preview renders a
//! notice with the sample data, with templates not yet saved if given, so that an operator sees the
//! result before anyone receives it.

use std::collections::HashMap;

use relais_domain::value::ParseError;
use relais_messages::templates::{
    Email, Lang, MessageData, NOTICES, Part, SOURCE_BYTES_MAX, Sources, TemplateError, check, default_email,
    default_sms, default_template, render, render_email,
};

use crate::App;
use crate::auth::{Caller, Permission};
use crate::error::AppError;
use crate::ports::{MessageWrite, StoredTemplate, Write};

/// The operators' templates, by notice, language and part: what rendering reads once a round.
#[derive(Debug, Default)]
pub struct Overrides {
    sources: HashMap<(String, Lang, Part), String>,
}

impl Overrides {
    pub fn of(stored: Vec<StoredTemplate>) -> Overrides {
        let sources = stored
            .into_iter()
            .filter_map(|t| Some(((t.notice, Lang::parse(&t.lang)?, Part::parse(&t.part)?), t.source)))
            .collect();
        Overrides { sources }
    }

    fn get(&self, notice: &str, lang: Lang, part: Part) -> Option<&str> {
        // Most instances keep the defaults: no key to build then.
        if self.sources.is_empty() {
            return None;
        }
        self.sources.get(&(notice.to_owned(), lang, part)).map(String::as_str)
    }

    /// A notice's SMS: the operator's template, else the default.
    pub fn sms(&self, notice: &str, lang: Lang, data: &MessageData) -> Result<String, TemplateError> {
        match self.get(notice, lang, Part::Sms) {
            Some(source) => render(source, Part::Sms, data),
            None => default_sms(notice, lang, data),
        }
    }

    /// A notice's e-mail: the operator's parts where there are, the defaults for the rest.
    pub fn email(&self, notice: &str, lang: Lang, data: &MessageData, qr_src: &str) -> Result<Email, TemplateError> {
        let parts = [Part::EmailSubject, Part::EmailText, Part::EmailHtml].map(|part| self.get(notice, lang, part));
        if parts.iter().all(Option::is_none) {
            return default_email(notice, lang, data, qr_src);
        }
        let Some(defaults) = Sources::defaults(notice, lang) else {
            return Err(TemplateError { line: None, message: format!("no notice is called {notice}") });
        };
        let sources = Sources {
            sms: defaults.sms,
            subject: parts[0].unwrap_or(defaults.subject),
            text: parts[1].unwrap_or(defaults.text),
            html: parts[2].unwrap_or(defaults.html),
        };
        render_email(&sources, data, lang, qr_src)
    }
}

/// One template as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateView {
    pub notice: &'static str,
    pub lang: Lang,
    pub part: Part,
    pub source: String,
    /// Saved by an operator (`false`: relais' default).
    pub custom: bool,
    pub updated_at: Option<relais_domain::Timestamp>,
}

/// A notice rendered with the sample data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub sms: String,
    /// How many parts the SMS takes, and in which encoding (`gsm7`, `ucs2`).
    pub sms_parts: usize,
    pub sms_encoding: &'static str,
    pub email: Email,
}

/// Which template: a notice, a language, a part, as the API names them.
pub struct TemplateKey<'a> {
    pub notice: &'a str,
    pub lang: &'a str,
    pub part: &'a str,
}

impl TemplateKey<'_> {
    fn parse(&self) -> Result<(&'static str, Lang, Part), AppError> {
        let found = NOTICES.iter().find(|n| **n == self.notice).zip(Lang::parse(self.lang)).zip(Part::parse(self.part));
        let ((notice, lang), part) = found
            .ok_or_else(|| AppError::not_found("template", format!("{}/{}/{}", self.notice, self.lang, self.part)))?;
        Ok((notice, lang, part))
    }
}

impl App {
    /// Every template: the operators' where they saved one, the defaults otherwise, by notice,
    /// language and part.
    pub async fn message_templates(&self, caller: &Caller) -> Result<Vec<TemplateView>, AppError> {
        caller.require(Permission::ManageTemplates)?;
        let stored = self.store.message_templates().await?;
        let mut views = Vec::with_capacity(NOTICES.len() * 8);
        for notice in NOTICES {
            for lang in [Lang::Fr, Lang::En] {
                for part in Part::ALL {
                    let saved = stored
                        .iter()
                        .find(|t| t.notice == notice && t.lang == lang.as_str() && t.part == part.as_str());
                    views.push(match saved {
                        Some(t) => TemplateView {
                            notice,
                            lang,
                            part,
                            source: t.source.clone(),
                            custom: true,
                            updated_at: Some(t.updated_at),
                        },
                        None => TemplateView {
                            notice,
                            lang,
                            part,
                            source: default_template(notice, part, lang).unwrap_or_default().to_owned(),
                            custom: false,
                            updated_at: None,
                        },
                    });
                }
            }
        }
        Ok(views)
    }

    /// One template, as [`App::message_templates`] lists it.
    pub async fn message_template(&self, caller: &Caller, key: TemplateKey<'_>) -> Result<TemplateView, AppError> {
        let (notice, lang, part) = key.parse()?;
        let all = self.message_templates(caller).await?;
        all.into_iter()
            .find(|t| t.notice == notice && t.lang == lang && t.part == part)
            .ok_or_else(|| AppError::not_found("template", notice))
    }

    /// Saves an operator's template once it renders with the sample data; refused otherwise, with the
    /// line and the problem, and nothing saved.
    pub async fn save_message_template(
        &self,
        caller: &Caller,
        key: TemplateKey<'_>,
        source: &str,
    ) -> Result<TemplateView, AppError> {
        caller.require(Permission::ManageTemplates)?;
        let (notice, lang, part) = key.parse()?;
        if source.trim().is_empty() {
            return Err(
                ParseError::new("source", "a template may not be empty; reset it to go back to the default").into()
            );
        }
        if source.len() > SOURCE_BYTES_MAX {
            return Err(ParseError::new("source", format!("a template has at most {SOURCE_BYTES_MAX} bytes")).into());
        }
        check(source, part).map_err(|e| invalid(part, e))?;
        let stored = StoredTemplate {
            notice: notice.to_owned(),
            lang: lang.as_str().to_owned(),
            part: part.as_str().to_owned(),
            source: source.to_owned(),
            updated_at: self.now(),
        };
        self.insert(Write::Messages(MessageWrite::SaveTemplate(stored.clone()))).await?;
        tracing::info!(notice, lang = lang.as_str(), part = part.as_str(), "a message template was saved");
        Ok(TemplateView {
            notice,
            lang,
            part,
            source: stored.source,
            custom: true,
            updated_at: Some(stored.updated_at),
        })
    }

    /// Back to relais' default for a part.
    pub async fn reset_message_template(
        &self,
        caller: &Caller,
        key: TemplateKey<'_>,
    ) -> Result<TemplateView, AppError> {
        caller.require(Permission::ManageTemplates)?;
        let (notice, lang, part) = key.parse()?;
        let write = MessageWrite::ResetTemplate {
            notice: notice.to_owned(),
            lang: lang.as_str().to_owned(),
            part: part.as_str().to_owned(),
        };
        self.insert(Write::Messages(write)).await?;
        Ok(TemplateView {
            notice,
            lang,
            part,
            source: default_template(notice, part, lang).unwrap_or_default().to_owned(),
            custom: false,
            updated_at: None,
        })
    }

    /// A notice rendered with the sample data in a language: the saved templates, with `unsaved` (a
    /// part and its source) in place of theirs.
    pub async fn preview_message(
        &self,
        caller: &Caller,
        notice: &str,
        lang: &str,
        unsaved: &[(String, String)],
    ) -> Result<Preview, AppError> {
        caller.require(Permission::ManageTemplates)?;
        let (notice, lang, _) = TemplateKey { notice, lang, part: "sms" }.parse()?;
        let mut stored = self.store.message_templates().await?;
        for (part, source) in unsaved {
            let part = Part::parse(part).ok_or_else(|| {
                ParseError::new("templates", format!("{part} is not a part (sms, subject, text, html)"))
            })?;
            if source.len() > SOURCE_BYTES_MAX {
                return Err(
                    ParseError::new("templates", format!("a template has at most {SOURCE_BYTES_MAX} bytes")).into()
                );
            }
            stored.retain(|t| !(t.notice == notice && t.lang == lang.as_str() && t.part == part.as_str()));
            stored.push(StoredTemplate {
                notice: notice.to_owned(),
                lang: lang.as_str().to_owned(),
                part: part.as_str().to_owned(),
                source: source.clone(),
                updated_at: self.now(),
            });
        }
        let overrides = Overrides::of(stored);
        let data = MessageData::sample(lang);
        let sms = overrides.sms(notice, lang, &data).map_err(|e| invalid(Part::Sms, e))?;
        let sms = relais_messages::sms::fold_punctuation(&sms).into_owned();
        let segments = relais_messages::sms::segment(&sms);
        // Which part failed is not known once the three are rendered together: the e-mail's.
        let email = overrides.email(notice, lang, &data, "cid:qr").map_err(|e| invalid(Part::EmailHtml, e))?;
        Ok(Preview {
            sms_parts: segments.segments(),
            sms_encoding: match segments.encoding {
                relais_messages::sms::Encoding::Gsm7 => "gsm7",
                relais_messages::sms::Encoding::Ucs2 => "ucs2",
            },
            sms,
            email,
        })
    }
}

fn invalid(part: Part, e: TemplateError) -> AppError {
    AppError::TemplateInvalid { part: part.as_str(), line: e.line, message: e.message }
}

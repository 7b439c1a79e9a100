//! Routes of the recipients' message templates: listed with relais' defaults, saved once they render
//! with the sample data (a template that does not render is `422 template_invalid` with the line and the
//! problem, and nothing is saved), reset to the default, and a notice previewed with the sample data,
//! templates not yet saved included. Operators only.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use relais_app::notify::templates::{Preview, TemplateKey, TemplateView as Template};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, Body};

type Result<T> = std::result::Result<T, ApiError>;

/// One part of one notice in one language.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    /// `announced`, `ready_for_pickup`, `reminder`, `expiring_soon`, `extended`, `expired`, `relocated`,
    /// `delayed`, `collected`, `code_reissued`.
    #[schema(example = "ready_for_pickup")]
    pub notice: String,
    /// `fr` or `en`.
    #[schema(example = "fr")]
    pub lang: String,
    /// `sms`, `subject`, `text` (the e-mail's text part) or `html` (the layout around it).
    #[schema(example = "sms")]
    pub part: String,
    /// minijinja syntax (`{{ point_name }}`, `{% if hours_today %}`); the names are those of the sample
    /// data a preview shows.
    pub source: String,
    /// Saved by an operator; `false`: relais' default.
    pub custom: bool,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<Template> for TemplateView {
    fn from(t: Template) -> Self {
        TemplateView {
            notice: t.notice.to_owned(),
            lang: t.lang.as_str().to_owned(),
            part: t.part.as_str().to_owned(),
            source: t.source,
            custom: t.custom,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateList {
    pub items: Vec<TemplateView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveTemplate {
    #[schema(
        max_length = 16384,
        example = "{{ merchant }} : colis {{ parcel_number }} prêt à {{ point_name }}. Code {{ code }}. {{ link }}"
    )]
    pub source: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    #[schema(example = "ready_for_pickup")]
    pub notice: String,
    #[schema(example = "fr")]
    pub lang: String,
    /// Templates not saved yet, by part (`sms`, `subject`, `text`, `html`), in place of the saved ones.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub templates: std::collections::BTreeMap<String, String>,
}

/// A notice rendered with the sample data.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewView {
    pub sms: String,
    /// How many parts the SMS is billed as.
    pub sms_parts: usize,
    /// `gsm7`, or `ucs2` when a character is outside the GSM alphabet (fewer characters per part).
    pub sms_encoding: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl From<Preview> for PreviewView {
    fn from(p: Preview) -> Self {
        PreviewView {
            sms: p.sms,
            sms_parts: p.sms_parts,
            sms_encoding: p.sms_encoding.to_owned(),
            subject: p.email.subject,
            text: p.email.text,
            html: p.email.html,
        }
    }
}

fn key<'a>(path: &'a (String, String, String)) -> TemplateKey<'a> {
    TemplateKey { notice: &path.0, lang: &path.1, part: &path.2 }
}

#[utoipa::path(get, path = "/v1/templates", tag = "notifications", security(("api_key" = ["operator"])),
    responses((status = 200, body = TemplateList),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: operators only.")))]
/// Every template: 10 notices, 2 languages, 4 parts; the operators' where saved, relais' otherwise.
pub async fn list_templates(State(state): State<HttpState>, Auth(caller): Auth) -> Result<Json<TemplateList>> {
    let items = state.app.message_templates(&caller).await?.into_iter().map(TemplateView::from).collect();
    Ok(Json(TemplateList { items }))
}

#[utoipa::path(get, path = "/v1/templates/{notice}/{lang}/{part}", tag = "notifications",
    params(("notice" = String, Path), ("lang" = String, Path, description = "`fr` or `en`."),
        ("part" = String, Path, description = "`sms`, `subject`, `text` or `html`.")),
    security(("api_key" = ["operator"])),
    responses((status = 200, body = TemplateView),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: operators only."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such notice, language or part.")))]
/// One template.
pub async fn get_template(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(path): Path<(String, String, String)>,
) -> Result<Json<TemplateView>> {
    Ok(Json(state.app.message_template(&caller, key(&path)).await?.into()))
}

#[utoipa::path(put, path = "/v1/templates/{notice}/{lang}/{part}", tag = "notifications", request_body = SaveTemplate,
    params(("notice" = String, Path), ("lang" = String, Path, description = "`fr` or `en`."),
        ("part" = String, Path, description = "`sms`, `subject`, `text` or `html`.")),
    security(("api_key" = ["operator"])),
    responses((status = 200, body = TemplateView),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: operators only."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such notice, language or part."),
        (status = 422, body = ErrorEnvelope, description = "`template_invalid`: it does not render with the sample data (`details.line`, `details.problem`); `validation_failed`: empty or too long. Nothing saved.")))]
/// Saves an operator's template, used from the next message on, once it renders with the sample data
/// of both languages (every name it uses must be one the sample data has).
pub async fn save_template(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(path): Path<(String, String, String)>,
    Body(request): Body<SaveTemplate>,
) -> Result<Json<TemplateView>> {
    Ok(Json(state.app.save_message_template(&caller, key(&path), &request.source).await?.into()))
}

#[utoipa::path(delete, path = "/v1/templates/{notice}/{lang}/{part}", tag = "notifications",
    params(("notice" = String, Path), ("lang" = String, Path, description = "`fr` or `en`."),
        ("part" = String, Path, description = "`sms`, `subject`, `text` or `html`.")),
    security(("api_key" = ["operator"])),
    responses((status = 200, body = TemplateView, description = "Back to relais' default, which is shown."),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: operators only."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such notice, language or part.")))]
/// Goes back to relais' default for a part.
pub async fn reset_template(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Path(path): Path<(String, String, String)>,
) -> Result<Json<TemplateView>> {
    Ok(Json(state.app.reset_message_template(&caller, key(&path)).await?.into()))
}

#[utoipa::path(post, path = "/v1/templates/preview", tag = "notifications", request_body = PreviewRequest,
    security(("api_key" = ["operator"])),
    responses((status = 200, body = PreviewView),
        (status = 403, body = ErrorEnvelope, description = "`forbidden`: operators only."),
        (status = 404, body = ErrorEnvelope, description = "`not_found`: no such notice or language."),
        (status = 422, body = ErrorEnvelope, description = "`template_invalid`: a template does not render; `validation_failed`: an unknown part.")))]
/// A notice as a recipient would get it, rendered with the sample data: the saved templates, or those
/// given in `templates` in their place.
pub async fn preview(
    State(state): State<HttpState>,
    Auth(caller): Auth,
    Body(request): Body<PreviewRequest>,
) -> Result<Json<PreviewView>> {
    let unsaved: Vec<(String, String)> = request.templates.into_iter().collect();
    Ok(Json(state.app.preview_message(&caller, &request.notice, &request.lang, &unsaved).await?.into()))
}

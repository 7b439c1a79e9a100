//! The recipient's page, `GET /r/{token}`: where the parcel is, until when, and the one extension the
//! network allows, asked with a plain form (`POST /r/{token}/extend`). French or English (`?lang=`, else
//! the browser's `Accept-Language`), readable on a phone, no script, no third party; limited per client
//! address like the widget's search.
//!
//! From the same link: `/r/{token}/stop`, where the recipient stops text messages or e-mails (the
//! opt-out link of every message, and the e-mail's one-click `List-Unsubscribe`), and
//! `/r/{token}/survey`, the satisfaction survey once the parcel is collected.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use relais_app::AppError;
use relais_app::messages::local;
use relais_app::recipients::RecipientView;
use relais_app::tracking::Source;
use relais_domain::delivery::Channel;
use relais_domain::parcel::{ExtensionRefusal, ParcelState, TransitionError};
use relais_domain::survey::{SurveyAnswer, SurveyRefusal};
use relais_messages::qr::qr_svg;
use relais_tracking::TrackingStatus;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{QueryParams, RawBody, form_field};
use crate::widget::limit_public;

pub(crate) const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    Fr,
    En,
}

impl Lang {
    pub(crate) fn of(query: &PageQuery, headers: &HeaderMap) -> Lang {
        match query.lang.as_deref() {
            Some("en") => Lang::En,
            Some("fr") => Lang::Fr,
            _ => {
                let accept = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
                if accept.trim_start().to_ascii_lowercase().starts_with("en") { Lang::En } else { Lang::Fr }
            }
        }
    }

    pub(crate) const fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    pub(crate) fn text(self, fr: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Fr => fr,
            Lang::En => en,
        }
    }

    fn when(self, at: NaiveDateTime) -> String {
        match self {
            Lang::Fr => relais_app::messages::when_fr(at),
            Lang::En => relais_app::messages::when_en(at),
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// `fr` or `en`; anything else, or none, follows the browser's `Accept-Language`, else French.
    pub lang: Option<String>,
    /// Set (to any value) after a successful extension: the page says it is done.
    pub done: Option<String>,
}

#[utoipa::path(get, path = "/r/{token}", tag = "recipients",
    params(("token" = String, Path, description = "The signed token of the recipient's link."), PageQuery),
    responses((status = 200, content_type = "text/html", body = String),
        (status = 404, content_type = "text/html", body = String, description = "The link is not valid (the page says so)."),
        (status = 429, body = ErrorEnvelope, description = "`rate_limited`: too many requests from this address; `details.retry_after_seconds`."),
        (status = 503, body = ErrorEnvelope, description = "`unavailable`: the database cannot be reached.")))]
/// The recipient's page behind the link in their message: where the parcel is, until when, and the
/// button that asks for more time when the network allows it. No key: the link's signed token is the
/// capability.
pub async fn page(
    State(state): State<HttpState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    Path(token): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    limit_public(&state, client)?;
    let lang = Lang::of(&query, &headers);
    match state.app.recipient_view(&token).await {
        Ok(view) => {
            let notice = query.done.is_some().then(|| lang.text("C'est noté.", "Done.")).map(str::to_owned);
            Ok(html(StatusCode::OK, lang, &body(lang, &token, &view, notice)))
        }
        Err(AppError::NotFound { .. }) => Ok(not_found(lang)),
        Err(other) => Err(other.into()),
    }
}

#[utoipa::path(post, path = "/r/{token}/extend", tag = "recipients",
    params(("token" = String, Path, description = "The signed token of the recipient's link."), PageQuery),
    responses((status = 303, description = "Done: back to the page, which says so."),
        (status = 404, content_type = "text/html", body = String, description = "The link is not valid (the page says so)."),
        (status = 409, content_type = "text/html", body = String, description = "Refused (too early, used, too late): the page says why."),
        (status = 429, body = ErrorEnvelope, description = "`rate_limited`: too many requests from this address; `details.retry_after_seconds`."),
        (status = 503, body = ErrorEnvelope, description = "`unavailable`: the database cannot be reached.")))]
/// The recipient asks for more time (the page's form): the extension, then back to the page.
pub async fn extend(
    State(state): State<HttpState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    Path(token): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    limit_public(&state, client)?;
    let lang = Lang::of(&query, &headers);
    match state.app.extend_by_recipient(&token).await {
        Ok(_) => Ok(back_to_page(&token, lang)),
        Err(AppError::NotFound { .. }) => Ok(not_found(lang)),
        Err(AppError::InvalidTransition(refusal)) => {
            let view = state.app.recipient_view(&token).await?;
            let notice = refusal_text(lang, &refusal, &view);
            Ok(html(StatusCode::CONFLICT, lang, &body(lang, &token, &view, Some(notice))))
        }
        Err(other) => Err(other.into()),
    }
}

/// Back to the recipient's page after a form, which then says it is done.
fn back_to_page(token: &str, lang: Lang) -> Response {
    see_other(&format!("/r/{token}?lang={}&done=1", lang.code()))
}

/// A `303` to `location`, after a form.
pub(crate) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// What the stop page and its form name: one channel, or both.
fn channels_of(name: &str) -> Option<Vec<Channel>> {
    match name {
        "sms" => Some(vec![Channel::Sms]),
        "email" => Some(vec![Channel::Email]),
        "all" => Some(vec![Channel::Sms, Channel::Email]),
        _ => None,
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StopQuery {
    /// `fr` or `en`; else the browser's `Accept-Language`, else French.
    pub lang: Option<String>,
    /// `sms`, `email` or `all`: what to stop (the e-mail's one-click link names `email`; the form sends
    /// it as a field otherwise).
    pub channel: Option<String>,
}

impl StopQuery {
    fn page(&self) -> PageQuery {
        PageQuery { lang: self.lang.clone(), done: None }
    }
}

#[utoipa::path(get, path = "/r/{token}/stop", tag = "recipients",
    params(("token" = String, Path, description = "The signed token of the recipient's link."), StopQuery),
    responses((status = 200, content_type = "text/html", body = String),
        (status = 404, content_type = "text/html", body = String, description = "The link is not valid (the page says so)."),
        (status = 429, body = ErrorEnvelope, description = "`rate_limited`: too many requests from this address; `details.retry_after_seconds`.")))]
/// The opt-out link of every message: a page that asks which messages to stop (a link opened by a mail
/// scanner stops nothing; the form does).
pub async fn stop_page(
    State(state): State<HttpState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    Path(token): Path<String>,
    QueryParams(query): QueryParams<StopQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    limit_public(&state, client)?;
    let lang = Lang::of(&query.page(), &headers);
    match state.app.recipient_view(&token).await {
        Ok(view) => Ok(html(StatusCode::OK, lang, &stop_form(lang, &token, &view, None))),
        Err(AppError::NotFound { .. }) => Ok(not_found(lang)),
        Err(other) => Err(other.into()),
    }
}

fn stop_form(lang: Lang, token: &str, view: &RecipientView, problem: Option<&str>) -> String {
    let mut out = String::from("<main>");
    if let Some(problem) = problem {
        out.push_str(&format!("<p class=\"notice error\" role=\"alert\">{}</p>", escape(problem)));
    }
    out.push_str(&format!(
        "<h1>{}</h1><p>{} {}</p>",
        lang.text("Ne plus recevoir nos messages", "Stop our messages"),
        lang.text(
            "Vous ne recevrez plus les messages choisis pour ce colis ni pour les suivants. Votre colis reste à",
            "You will no longer get the messages you choose, for this parcel or later ones. Your parcel stays at",
        ),
        escape(&view.point.name),
    ));
    let recipient = &view.parcel.recipient;
    let mut choices = Vec::new();
    if recipient.phone.is_some() {
        choices.push(("sms", lang.text("Arrêter les SMS", "Stop text messages")));
    }
    if recipient.email.is_some() {
        choices.push(("email", lang.text("Arrêter les e-mails", "Stop e-mails")));
    }
    if choices.len() > 1 {
        choices.push(("all", lang.text("Arrêter les deux", "Stop both")));
    }
    for (channel, label) in choices {
        out.push_str(&format!(
            "<form method=\"post\" action=\"/r/{}/stop?lang={}\"><input type=\"hidden\" name=\"channel\" value=\"{channel}\">\
             <button type=\"submit\">{label}</button></form>",
            escape(token),
            lang.code(),
        ));
    }
    out.push_str(&format!(
        "<p class=\"muted\">{}</p><footer><a href=\"/r/{}?lang={}\">{}</a></footer></main>",
        lang.text(
            "Le code de retrait reste sur la page de votre colis.",
            "Your pickup code stays on your parcel's page."
        ),
        escape(token),
        lang.code(),
        lang.text("Retour à mon colis", "Back to my parcel"),
    ));
    out
}

#[utoipa::path(post, path = "/r/{token}/stop", tag = "recipients",
    params(("token" = String, Path, description = "The signed token of the recipient's link."), StopQuery),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`channel=sms|email|all` (the page's form), or `List-Unsubscribe=One-Click` with `?channel=` (RFC 8058)."),
    responses((status = 200, content_type = "text/html", body = String, description = "Stopped: the page says what."),
        (status = 404, content_type = "text/html", body = String, description = "The link is not valid (the page says so)."),
        (status = 422, content_type = "text/html", body = String, description = "No channel, or an unknown one: the page asks again."),
        (status = 429, body = ErrorEnvelope, description = "`rate_limited`: too many requests from this address; `details.retry_after_seconds`."),
        (status = 503, body = ErrorEnvelope, description = "`unavailable`: the database cannot be reached.")))]
/// Stops a channel for this recipient, for this parcel and every later one: the page's form, or a mail
/// client's one-click unsubscribe (RFC 8058).
pub async fn stop(
    State(state): State<HttpState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    Path(token): Path<String>,
    QueryParams(query): QueryParams<StopQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    limit_public(&state, client)?;
    let lang = Lang::of(&query.page(), &headers);
    let field = form_field(&body, "channel");
    let Some(channels) = field.or(query.channel.clone()).as_deref().and_then(channels_of) else {
        return match state.app.recipient_view(&token).await {
            Ok(view) => {
                let problem = lang.text("Choisissez les messages à arrêter.", "Choose which messages to stop.");
                Ok(html(StatusCode::UNPROCESSABLE_ENTITY, lang, &stop_form(lang, &token, &view, Some(problem))))
            }
            Err(AppError::NotFound { .. }) => Ok(not_found(lang)),
            Err(other) => Err(other.into()),
        };
    };
    match state.app.opt_out_by_recipient(&token, &channels).await {
        Ok(stopped) => {
            let what = match (stopped.contains(&Channel::Sms), stopped.contains(&Channel::Email)) {
                (true, true) => lang.text("ni SMS ni e-mail", "no more text messages or e-mails"),
                (true, false) => lang.text("plus de SMS", "no more text messages"),
                (false, true) => lang.text("plus d'e-mail", "no more e-mails"),
                (false, false) => {
                    lang.text("rien de changé : aucun contact de ce type", "nothing changed: no such contact")
                }
            };
            let text = match lang {
                Lang::Fr => format!("C'est noté : vous ne recevrez {what} de notre part."),
                Lang::En => format!("Done: you will get {what} from us."),
            };
            let text = if stopped.is_empty() { escape(what) } else { escape(&text) };
            Ok(html(
                StatusCode::OK,
                lang,
                &format!(
                    "<main><p class=\"notice\" role=\"status\">{text}</p><footer><a href=\"/r/{}?lang={}\">{}</a></footer></main>",
                    escape(&token),
                    lang.code(),
                    lang.text("Retour à mon colis", "Back to my parcel"),
                ),
            ))
        }
        Err(AppError::NotFound { .. }) => Ok(not_found(lang)),
        Err(other) => Err(other.into()),
    }
}

#[utoipa::path(post, path = "/r/{token}/damage", tag = "recipients",
    params(("token" = String, Path, description = "The signed token of the recipient's link."), PageQuery),
    request_body(content = String, content_type = "multipart/form-data", description = "The page's form: `photo` (a JPEG, PNG or WebP photo, up to 8 MiB) and `description` (what is damaged, up to 1,000 characters)."),
    responses((status = 303, description = "Received: back to the page, which says so."),
        (status = 404, content_type = "text/html", body = String, description = "The link is not valid (the page says so)."),
        (status = 413, body = ErrorEnvelope, description = "`payload_too_large`: over 8 MiB."),
        (status = 422, content_type = "text/html", body = String, description = "No photo, not a photo, or a parcel not followed at a carrier: the page says so."),
        (status = 429, body = ErrorEnvelope, description = "`rate_limited`: too many requests from this address; `details.retry_after_seconds`.")))]
/// The recipient reports their parcel damaged with a photo (the page's form): the carrier is claimed
/// from, the photo kept as evidence.
pub async fn report_damage(
    State(state): State<HttpState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    Path(token): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
    headers: HeaderMap,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, ApiError> {
    limit_public(&state, client)?;
    let lang = Lang::of(&query, &headers);
    let refused = |state: &HttpState, token: &str| {
        let (state, token) = (state.clone(), token.to_owned());
        async move {
            let notice = lang
                .text(
                    "Nous n'avons pas pu lire cette photo : envoyez un JPEG, PNG ou WebP de 8 Mo au plus.",
                    "We could not read this photo: send a JPEG, PNG or WebP of 8 MB at most.",
                )
                .to_owned();
            match state.app.recipient_view(&token).await {
                Ok(view) => Ok(html(StatusCode::UNPROCESSABLE_ENTITY, lang, &body(lang, &token, &view, Some(notice)))),
                Err(AppError::NotFound { .. }) => Ok(not_found(lang)),
                Err(other) => Err(ApiError::from(other)),
            }
        }
    };
    let Ok(mut multipart) = multipart else { return refused(&state, &token).await };
    let (mut photo, mut content_type, mut description) = (None, String::new(), None);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the photo is over 8 MiB",
                ));
            }
            Err(_) => return refused(&state, &token).await,
        };
        match field.name() {
            Some("photo") => {
                content_type = field.content_type().unwrap_or_default().to_owned();
                match field.bytes().await {
                    Ok(bytes) => photo = Some(bytes.to_vec()),
                    Err(_) => return refused(&state, &token).await,
                }
            }
            Some("description") => description = field.text().await.ok(),
            _ => {}
        }
    }
    let Some(photo) = photo else { return refused(&state, &token).await };
    match state.app.report_damage_by_recipient(&token, description, &content_type, photo).await {
        Ok(_) => Ok(back_to_page(&token, lang)),
        Err(AppError::NotFound { .. }) => Ok(not_found(lang)),
        Err(AppError::Validation(_)) => refused(&state, &token).await,
        Err(other) => Err(other.into()),
    }
}

#[utoipa::path(get, path = "/r/{token}/survey", tag = "recipients",
    params(("token" = String, Path, description = "The signed token of the recipient's link."), PageQuery),
    responses((status = 200, content_type = "text/html", body = String, description = "The question, a score from 0 to 10."),
        (status = 404, content_type = "text/html", body = String, description = "The link is not valid (the page says so)."),
        (status = 409, content_type = "text/html", body = String, description = "Not collected yet, or the survey is closed (the page says so)."),
        (status = 429, body = ErrorEnvelope, description = "`rate_limited`: too many requests from this address; `details.retry_after_seconds`.")))]
/// The satisfaction survey of a collected parcel: one question, a score from 0 to 10, a comment.
pub async fn survey_page(
    State(state): State<HttpState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    Path(token): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    limit_public(&state, client)?;
    let lang = Lang::of(&query, &headers);
    match state.app.survey_of_link(&token).await {
        Ok((view, answer)) => {
            if view.parcel.state != ParcelState::Collected {
                return Ok(survey_refused(lang, &token, SurveyRefusal::NotCollected));
            }
            let thanks =
                query.done.is_some().then(|| lang.text("Merci pour votre réponse !", "Thank you for your answer!"));
            Ok(html(StatusCode::OK, lang, &survey_form(lang, &token, &view, answer.as_ref(), thanks, None)))
        }
        Err(AppError::NotFound { .. }) => Ok(not_found(lang)),
        Err(other) => Err(other.into()),
    }
}

fn survey_refused(lang: Lang, token: &str, refusal: SurveyRefusal) -> Response {
    let text = match refusal {
        SurveyRefusal::NotCollected => lang.text(
            "Ce colis n'a pas encore été retiré : vous pourrez donner votre avis ensuite.",
            "This parcel has not been collected yet: you can tell us how it went afterwards.",
        ),
        SurveyRefusal::Closed => lang.text("Ce questionnaire est clos. Merci !", "This survey is closed. Thank you!"),
    };
    html(
        StatusCode::CONFLICT,
        lang,
        &format!(
            "<main><p>{}</p><footer><a href=\"/r/{}?lang={}\">{}</a></footer></main>",
            escape(text),
            escape(token),
            lang.code(),
            lang.text("Retour à mon colis", "Back to my parcel")
        ),
    )
}

fn survey_form(
    lang: Lang,
    token: &str,
    view: &RecipientView,
    answer: Option<&SurveyAnswer>,
    thanks: Option<&str>,
    problem: Option<&str>,
) -> String {
    let mut out = String::from("<main>");
    if let Some(thanks) = thanks {
        out.push_str(&format!("<p class=\"notice\" role=\"status\">{}</p>", escape(thanks)));
    }
    if let Some(problem) = problem {
        out.push_str(&format!("<p class=\"notice error\" role=\"alert\">{}</p>", escape(problem)));
    }
    out.push_str(&format!(
        "<form method=\"post\" action=\"/r/{}/survey?lang={}\"><fieldset><legend><h1>{}</h1>{} {} {}</legend><div class=\"scores\">",
        escape(token),
        lang.code(),
        lang.text("Votre avis", "Your opinion"),
        lang.text(
            "Recommanderiez-vous le retrait de colis à",
            "How likely are you to recommend collecting parcels at"
        ),
        escape(&view.point.name),
        lang.text("à un proche ? 0 : pas du tout, 10 : certainement.", "to a friend? 0: not at all, 10: certainly."),
    ));
    for score in 0..=10u8 {
        let checked = if answer.is_some_and(|a| a.score == score) { " checked" } else { "" };
        out.push_str(&format!(
            "<label><input type=\"radio\" name=\"score\" value=\"{score}\" required{checked}><span>{score}</span></label>"
        ));
    }
    let comment = answer.and_then(|a| a.comment.as_deref()).unwrap_or_default();
    let publish = if answer.is_some_and(|a| a.publish) { " checked" } else { "" };
    out.push_str(&format!(
        "</div></fieldset><label for=\"comment\">{}</label><textarea id=\"comment\" name=\"comment\" maxlength=\"{}\" rows=\"4\">{}</textarea>\
         <label class=\"check\"><input type=\"checkbox\" name=\"publish\" value=\"yes\"{publish}> {}</label>\
         <button type=\"submit\">{}</button></form></main>",
        lang.text("Un commentaire (facultatif)", "A comment (optional)"),
        relais_domain::survey::COMMENT_CHARS_MAX,
        escape(comment),
        lang.text(
            "Le marchand peut publier mon commentaire sur sa page d'avis",
            "The shop may show my comment on its reviews page"
        ),
        lang.text("Envoyer", "Send"),
    ));
    out
}

#[utoipa::path(post, path = "/r/{token}/survey", tag = "recipients",
    params(("token" = String, Path, description = "The signed token of the recipient's link."), PageQuery),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`score` (0 to 10), `comment` (at most 1,000 characters), `publish=yes` to let the shop show the comment."),
    responses((status = 303, description = "Recorded: back to the survey, which thanks."),
        (status = 404, content_type = "text/html", body = String, description = "The link is not valid (the page says so)."),
        (status = 409, content_type = "text/html", body = String, description = "Not collected yet, or the survey is closed (the page says so)."),
        (status = 422, content_type = "text/html", body = String, description = "No score, or a bad one, or a comment too long: the form again, saying why."),
        (status = 429, body = ErrorEnvelope, description = "`rate_limited`: too many requests from this address; `details.retry_after_seconds`."),
        (status = 503, body = ErrorEnvelope, description = "`unavailable`: the database cannot be reached.")))]
/// The recipient's answer to the survey; a second answer replaces the first.
pub async fn answer_survey(
    State(state): State<HttpState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    Path(token): Path<String>,
    QueryParams(query): QueryParams<PageQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    limit_public(&state, client)?;
    let lang = Lang::of(&query, &headers);
    let (mut score, mut comment, mut publish) = (None, None, false);
    for (name, value) in form_urlencoded::parse(&body) {
        match name.as_ref() {
            "score" => score = Some(value.trim().parse::<i64>().unwrap_or(-1)),
            "comment" => comment = Some(value.into_owned()),
            "publish" => publish = value == "yes",
            _ => {}
        }
    }
    let outcome = match score {
        Some(score) => state.app.answer_survey(&token, score, comment.as_deref(), publish).await,
        None => Err(AppError::Validation(relais_domain::value::ParseError::new("score", "choose a score"))),
    };
    match outcome {
        Ok(_) => Ok(see_other(&format!("/r/{token}/survey?lang={}&done=1", lang.code()))),
        Err(AppError::NotFound { .. }) => Ok(not_found(lang)),
        Err(AppError::SurveyRefused(refusal)) => Ok(survey_refused(lang, &token, refusal)),
        Err(AppError::Validation(e)) => {
            // A bad answer on a bad link: the link is what the page says is wrong.
            let (view, answer) = match state.app.survey_of_link(&token).await {
                Ok(found) => found,
                Err(AppError::NotFound { .. }) => return Ok(not_found(lang)),
                Err(other) => return Err(other.into()),
            };
            let problem = match e.field {
                "comment" => lang.text(
                    "Ce commentaire est trop long (1 000 caractères au plus).",
                    "This comment is too long (1,000 characters at most).",
                ),
                _ => lang.text("Choisissez une note de 0 à 10.", "Choose a score from 0 to 10."),
            };
            Ok(html(
                StatusCode::UNPROCESSABLE_ENTITY,
                lang,
                &survey_form(lang, &token, &view, answer.as_ref(), None, Some(problem)),
            ))
        }
        Err(other) => Err(other.into()),
    }
}

fn not_found(lang: Lang) -> Response {
    let text = lang.text(
        "Ce lien n'est pas valable. Vérifiez qu'il est complet, ou contactez le marchand.",
        "This link is not valid. Check that it is complete, or contact the shop.",
    );
    html(StatusCode::NOT_FOUND, lang, &format!("<main><h1>relais</h1><p>{text}</p></main>"))
}

fn state_text(lang: Lang, state: ParcelState) -> &'static str {
    match state {
        ParcelState::Announced | ParcelState::InTransit => lang.text("est en route vers", "is on its way to"),
        ParcelState::ReadyForPickup => lang.text("vous attend à", "is waiting for you at"),
        ParcelState::Collected => lang.text("a été retiré à", "was collected at"),
        ParcelState::DepositFailed => lang.text(
            "n'a pas pu être déposé (le transporteur vous propose un autre point) à",
            "could not be left (the carrier will offer another point) at",
        ),
        ParcelState::Expired => lang.text(
            "n'a pas été retiré à temps ; il va être renvoyé à l'expéditeur depuis",
            "was not collected in time; it will go back to the sender from",
        ),
        ParcelState::Returning | ParcelState::ReturnedToSender => {
            lang.text("a été renvoyé à l'expéditeur depuis", "went back to the sender from")
        }
        ParcelState::Cancelled => {
            lang.text("a été annulé par le marchand ; il était prévu à", "was cancelled by the shop; it was due at")
        }
        ParcelState::Incident(_) => lang.text(
            "a un problème ; le marchand vous contactera. Il était prévu à",
            "has a problem; the shop will contact you. It was due at",
        ),
    }
}

fn refusal_text(lang: Lang, refusal: &TransitionError, view: &RecipientView) -> String {
    let when = |at| lang.when(local(&view.point, at));
    match refusal {
        TransitionError::ExtensionRefused(ExtensionRefusal::TooEarly { earliest }) => match lang {
            Lang::Fr => format!("La prolongation sera possible à partir du {}.", when(*earliest)),
            Lang::En => format!("You can ask for more time from {}.", when(*earliest)),
        },
        TransitionError::ExtensionRefused(ExtensionRefusal::CountReached { .. }) => {
            lang.text("La prolongation a déjà été utilisée.", "The extension has already been used.").to_owned()
        }
        TransitionError::ExtensionRefused(ExtensionRefusal::DeadlinePassed { .. }) => {
            lang.text("Le délai de retrait est dépassé.", "The pickup deadline has passed.").to_owned()
        }
        _ => lang.text("Ce colis ne peut pas être prolongé.", "This parcel cannot be given more time.").to_owned(),
    }
}

fn body(lang: Lang, token: &str, view: &RecipientView, notice: Option<String>) -> String {
    let parcel = &view.parcel;
    let point = &view.point;
    let mut out = String::new();
    out.push_str("<main>");
    if let Some(notice) = notice {
        out.push_str(&format!("<p class=\"notice\" role=\"status\">{}</p>", escape(&notice)));
    }
    out.push_str(&format!(
        "<h1>{} {}</h1><p>{}</p><address><strong>{}</strong><br>{}<br>{} {}</address>",
        lang.text("Colis", "Parcel"),
        escape(parcel.number.as_str()),
        escape(state_text(lang, parcel.state)),
        escape(&point.name),
        escape(&point.address.line1),
        escape(&point.address.postcode),
        escape(&point.address.city),
    ));
    if parcel.state == ParcelState::ReadyForPickup
        && let Some(deadline) = parcel.pickup_deadline
    {
        out.push_str(&format!(
            "<p>{} <strong>{}</strong>.",
            lang.text("À retirer jusqu'au", "Collect it by"),
            lang.when(local(point, deadline))
        ));
        match view.pickup.as_ref().and_then(|(code, qr)| Some((code, qr_svg(qr)?))) {
            Some((code, qr)) => out.push_str(&format!(
                "</p><p>{}</p><p class=\"code\">{}</p><figure class=\"qr\">{qr}</figure>",
                lang.text(
                    "Tapez ce code sur la borne, ou présentez ce QR code à son lecteur :",
                    "Type this code on the locker's screen, or show this QR code to its reader:"
                ),
                escape(code.as_str()),
            )),
            // A parcel announced before codes were sealed: its code came from the shop.
            None => out.push_str(&format!(
                " {}</p>",
                lang.text(
                    "Présentez le code reçu du marchand, ou le QR code.",
                    "Show the code you received from the shop, or the QR code."
                )
            )),
        }
        match &view.extension {
            Ok(new_deadline) => out.push_str(&format!(
                "<form method=\"post\" action=\"/r/{}/extend?lang={}\"><button type=\"submit\">{} {}</button></form>",
                escape(token),
                lang.code(),
                lang.text("Garder mon colis jusqu'au", "Keep my parcel until"),
                lang.when(local(point, *new_deadline)),
            )),
            Err(refusal) => {
                out.push_str(&format!("<p class=\"muted\">{}</p>", escape(&refusal_text(lang, refusal, view))))
            }
        }
    }
    if view.delay_reason.is_some() && matches!(parcel.state, ParcelState::Announced | ParcelState::InTransit) {
        out.push_str(&format!(
            "<p class=\"notice\">{}</p>",
            lang.text(
                "Votre colis a pris du retard chez le transporteur. Nous vous écrirons dès son arrivée.",
                "Your parcel is running late at the carrier. We will write as soon as it arrives."
            )
        ));
    }
    out.push_str(&timeline(lang, view));
    if parcel.state == ParcelState::Collected {
        out.push_str(&format!(
            "<p><a href=\"/r/{}/survey?lang={}\">{}</a></p>",
            escape(token),
            lang.code(),
            lang.text("Comment s'est passé votre retrait ? Donnez votre avis", "How was your pickup? Tell us"),
        ));
    }
    if view.followed && matches!(parcel.state, ParcelState::ReadyForPickup | ParcelState::Collected) {
        out.push_str(&format!(
            "<details><summary>{}</summary><form method=\"post\" action=\"/r/{}/damage?lang={}\" enctype=\"multipart/form-data\">\
             <label>{} <input type=\"file\" name=\"photo\" accept=\"image/jpeg,image/png,image/webp\" required></label>\
             <label>{} <textarea name=\"description\" maxlength=\"1000\"></textarea></label>\
             <button type=\"submit\">{}</button></form></details>",
            lang.text("Colis abîmé ? Envoyez une photo", "Parcel damaged? Send a photo"),
            escape(token),
            lang.code(),
            lang.text("Photo (JPEG, PNG ou WebP, 8 Mo au plus)", "Photo (JPEG, PNG or WebP, up to 8 MB)"),
            lang.text("Ce qui est abîmé", "What is damaged"),
            lang.text("Envoyer", "Send"),
        ));
    }
    let other = match lang {
        Lang::Fr => format!("<a href=\"/r/{}?lang=en\" hreflang=\"en\">English</a>", escape(token)),
        Lang::En => format!("<a href=\"/r/{}?lang=fr\" hreflang=\"fr\">Français</a>", escape(token)),
    };
    let stop = format!(
        "<a href=\"/r/{}/stop?lang={}\">{}</a>",
        escape(token),
        lang.code(),
        lang.text("Ne plus recevoir nos messages", "Stop our messages")
    );
    out.push_str(&format!("<footer>{other} · {stop}</footer></main>"));
    out
}

/// A status of the journey in the recipient's words.
fn journey_text(lang: Lang, status: TrackingStatus) -> &'static str {
    match status {
        TrackingStatus::Pending => lang.text("Annoncé par le marchand", "Announced by the shop"),
        TrackingStatus::PickedUp => lang.text("Pris en charge par le transporteur", "Picked up by the carrier"),
        TrackingStatus::InTransit => lang.text("En transit", "In transit"),
        TrackingStatus::OutForDelivery => lang.text("En cours de livraison", "Out for delivery"),
        TrackingStatus::ReadyForPickup => lang.text("Disponible au point de retrait", "Ready at the pickup point"),
        TrackingStatus::DeliveryFailed => lang.text("Livraison impossible", "Delivery failed"),
        TrackingStatus::OnHold => lang.text("En attente", "On hold"),
        TrackingStatus::DeliveryDelayed => lang.text("Retardé", "Delayed"),
        TrackingStatus::ReturnToSender => lang.text("Renvoyé à l'expéditeur", "Going back to the sender"),
        TrackingStatus::Delivered => lang.text("Livré", "Delivered"),
        TrackingStatus::Unknown => lang.text("Étape du transporteur", "Carrier's step"),
    }
}

/// The parcel's journey, latest first: the carrier's steps in the carrier's local time, relais' own in
/// the point's.
fn timeline(lang: Lang, view: &RecipientView) -> String {
    if view.timeline.is_empty() {
        return String::new();
    }
    let mut out = format!("<h2>{}</h2><ol class=\"journey\">", lang.text("Suivi", "Tracking"));
    for entry in view.timeline.iter().rev() {
        let when = match entry.source {
            Source::Carrier => lang.when(entry.at.naive_local()),
            Source::Relais => lang.when(local(&view.point, entry.at.to_utc())),
        };
        let place = entry.place.as_deref().map(|p| format!(" · {}", escape(p))).unwrap_or_default();
        let detail = match entry.source {
            Source::Carrier if !entry.description.is_empty() => {
                format!("<br><small>{}</small>", escape(&entry.description))
            }
            _ => String::new(),
        };
        out.push_str(&format!(
            "<li><time>{}</time> {}{place}{detail}</li>",
            escape(&when),
            escape(journey_text(lang, entry.status))
        ));
    }
    out.push_str("</ol>");
    out
}

fn html(status: StatusCode, lang: Lang, main: &str) -> Response {
    html_page(status, lang, "relais", main)
}

/// A page of relais' own (the recipient's, the console's): its title and body in the strict content
/// policy, never cached, no referrer.
pub(crate) fn html_page(status: StatusCode, lang: Lang, title: &str, body: &str) -> Response {
    html_page_with(status, lang, title, STYLE, CSP, "", body)
}

/// A page with its own style sheet, content policy and extra `<head>` elements (the console's).
pub(crate) fn html_page_with(
    status: StatusCode,
    lang: Lang,
    title: &str,
    style: &str,
    csp: &str,
    head: &str,
    body: &str,
) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"robots\" content=\"noindex\">\
         <title>{}</title><style>{style}</style>{head}</head><body>{body}</body></html>",
        lang.code(),
        escape(title)
    );
    let mut response = (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response();
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(csp) {
        headers.insert(CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

pub(crate) const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;padding:1rem;color:#1b1b1b;background:#fafafa}\
main{max-width:34rem;margin:auto}h1{font-size:1.3rem}address{font-style:normal;margin:1rem 0;padding:.8rem;\
background:#fff;border:1px solid #ddd;border-radius:.4rem}button{font-size:1rem;padding:.8rem 1rem;width:100%;\
border:0;border-radius:.4rem;background:#0b5fff;color:#fff}.notice{background:#e7f6ec;padding:.6rem;border-radius:.4rem}\
.muted{color:#555}footer{margin-top:2rem;font-size:.9rem}.code{font-size:2rem;letter-spacing:.2em;text-align:center;\
font-variant-numeric:tabular-nums}.qr{margin:0;text-align:center}.qr svg{width:min(100%,18rem);height:auto}\
form{margin:.8rem 0}fieldset{border:0;padding:0;margin:0}.scores{display:flex;flex-wrap:wrap;gap:.3rem;margin:.8rem 0}\
.scores label{flex:1 0 2.4rem}.scores input{position:absolute;opacity:0}.scores span{display:block;text-align:center;\
padding:.6rem 0;border:1px solid #bbb;border-radius:.4rem;background:#fff}.scores input:checked+span{background:#0b5fff;\
color:#fff;border-color:#0b5fff}.scores input:focus-visible+span{outline:2px solid #1b1b1b}textarea{width:100%;\
box-sizing:border-box;font:inherit;margin:.4rem 0 .8rem}.check{display:block;margin-bottom:.8rem}.error{background:#fdecea}";

/// HTML text and attribute escaping.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

//! The recipient's page, `GET /r/{token}`: where the parcel is, until when, and the one extension the
//! network allows, asked with a plain form (`POST /r/{token}/extend`). French or English (`?lang=`, else
//! the browser's `Accept-Language`), readable on a phone, no script, no third party; limited per client
//! address like the widget's search.

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
use relais_domain::parcel::{ExtensionRefusal, ParcelState, TransitionError};
use relais_messages::qr::qr_svg;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::HttpState;
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::QueryParams;
use crate::widget::limit_public;

const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Fr,
    En,
}

impl Lang {
    fn of(query: &PageQuery, headers: &HeaderMap) -> Lang {
        match query.lang.as_deref() {
            Some("en") => Lang::En,
            Some("fr") => Lang::Fr,
            _ => {
                let accept = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
                if accept.trim_start().to_ascii_lowercase().starts_with("en") { Lang::En } else { Lang::Fr }
            }
        }
    }

    const fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    fn text(self, fr: &'static str, en: &'static str) -> &'static str {
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
        Ok(_) => {
            let location = format!("/r/{token}?lang={}&done=1", lang.code());
            let mut response = StatusCode::SEE_OTHER.into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(LOCATION, value);
            }
            Ok(response)
        }
        Err(AppError::NotFound { .. }) => Ok(not_found(lang)),
        Err(AppError::InvalidTransition(refusal)) => {
            let view = state.app.recipient_view(&token).await?;
            let notice = refusal_text(lang, &refusal, &view);
            Ok(html(StatusCode::CONFLICT, lang, &body(lang, &token, &view, Some(notice))))
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
    let other = match lang {
        Lang::Fr => format!("<a href=\"/r/{}?lang=en\" hreflang=\"en\">English</a>", escape(token)),
        Lang::En => format!("<a href=\"/r/{}?lang=fr\" hreflang=\"fr\">Français</a>", escape(token)),
    };
    out.push_str(&format!("<footer>{other}</footer></main>"));
    out
}

fn html(status: StatusCode, lang: Lang, main: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"robots\" content=\"noindex\">\
         <title>relais</title><style>{STYLE}</style></head><body>{main}</body></html>",
        lang.code()
    );
    let mut response = (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;padding:1rem;color:#1b1b1b;background:#fafafa}\
main{max-width:34rem;margin:auto}h1{font-size:1.3rem}address{font-style:normal;margin:1rem 0;padding:.8rem;\
background:#fff;border:1px solid #ddd;border-radius:.4rem}button{font-size:1rem;padding:.8rem 1rem;width:100%;\
border:0;border-radius:.4rem;background:#0b5fff;color:#fff}.notice{background:#e7f6ec;padding:.6rem;border-radius:.4rem}\
.muted{color:#555}footer{margin-top:2rem;font-size:.9rem}.code{font-size:2rem;letter-spacing:.2em;text-align:center;\
font-variant-numeric:tabular-nums}.qr{margin:0;text-align:center}.qr svg{width:min(100%,18rem);height:auto}";

/// HTML text and attribute escaping.
fn escape(text: &str) -> String {
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

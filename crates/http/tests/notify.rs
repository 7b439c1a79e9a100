//! The notifications API through the real router: endpoints registered, listed, rotated, disabled and
//! enabled by whom they belong to; bad URLs, topics and bodies refused with their field; a parcel's
//! messages after the delivery worker ran; a message resent, once.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

mod common;

use axum::http::{Method, StatusCode};
use common::{Api, apis, assert_error, uuid_like};
use relais_app::notify::{DeliverySettings, Outgoing, Outlets};
use relais_domain::delivery::AttemptOutcome;
use serde_json::json;

/// Channels that accept everything (the channels themselves are tested against real servers).
struct Accepting;

#[async_trait::async_trait]
impl Outlets for Accepting {
    async fn send(&self, _: Outgoing) -> AttemptOutcome {
        AttemptOutcome::Accepted { provider_ref: Some("accepted".into()) }
    }
}

async fn deliver(api: &Api) {
    let outlets: std::sync::Arc<dyn Outlets> = std::sync::Arc::new(Accepting);
    while !api.app.deliver_round(&outlets, &DeliverySettings::default()).await.unwrap().is_idle() {}
}

#[tokio::test]
async fn endpoints_belong_to_their_merchant_and_bad_ones_are_refused() {
    for api in apis().await {
        let hook = json!({"url": "https://shop.example/hooks/relais", "topics": ["parcel.*"]});
        let created = api.call(Method::POST, "/v1/endpoints", &api.merchant, Some(hook.clone())).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let secret = created.body["secret"].as_str().unwrap();
        assert!(secret.starts_with("whsec_") && secret.len() > 30, "{secret}");
        assert_eq!(created.body["endpoint"]["merchant_id"], api.merchant_id.as_str());
        let id = created.body["endpoint"]["id"].as_str().unwrap().to_owned();

        for (body, field) in [
            (json!({"url": "http://shop.example/h"}), "url"),
            (json!({"url": "https://127.0.0.1:8080/h"}), "url"),
            (json!({"url": "https://169.254.169.254/latest"}), "url"),
            (json!({"url": "https://shop.example/h", "topics": ["Parcel Deposited"]}), "topics"),
            (json!({"email": "ops@example.org"}), "email"),
            (json!({}), "url"),
        ] {
            let refused = api.call(Method::POST, "/v1/endpoints", &api.merchant, Some(body.clone())).await;
            assert_error(&refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(refused.body["error"]["details"]["field"], field, "{body}");
        }
        let malformed =
            api.raw(Method::POST, "/v1/endpoints", &api.merchant, Some("{\"url\":"), Some("application/json")).await;
        assert_eq!(malformed.status, StatusCode::BAD_REQUEST, "{}", malformed.body);
        let unknown_field =
            api.call(Method::POST, "/v1/endpoints", &api.merchant, Some(json!({"uri": "https://x.example"}))).await;
        assert_error(&unknown_field, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let carrier = api.call(Method::POST, "/v1/endpoints", &api.carrier, Some(hook.clone())).await;
        assert_error(&carrier, StatusCode::FORBIDDEN, "forbidden");

        // An operator's alert address; the merchant's list shows only its own.
        let alerts = json!({"email": "ops@example.org", "topics": ["point.*"]});
        let ops = api.call(Method::POST, "/v1/endpoints", &api.operator, Some(alerts)).await;
        assert_eq!(ops.status, StatusCode::CREATED, "{}", ops.body);
        assert!(ops.body["secret"].is_null(), "an e-mail has no secret");
        let mine = api.call(Method::GET, "/v1/endpoints", &api.merchant, None).await;
        assert_eq!(mine.body.as_array().unwrap().len(), 1, "{}", mine.body);
        let theirs =
            api.call(Method::GET, &format!("/v1/endpoints?merchant_id={}", api.merchant_id), &api.operator, None).await;
        assert_eq!(theirs.body.as_array().unwrap().len(), 1, "{}", theirs.body);
        let ops_id = ops.body["endpoint"]["id"].as_str().unwrap();
        let foreign = api.call(Method::GET, &format!("/v1/endpoints/{ops_id}"), &api.merchant, None).await;
        assert_error(&foreign, StatusCode::NOT_FOUND, "not_found");
        let unknown = api.call(Method::GET, &format!("/v1/endpoints/{}", uuid_like()), &api.merchant, None).await;
        assert_error(&unknown, StatusCode::NOT_FOUND, "not_found");

        // Rotated: a new secret, the old one signing beside it for the overlap.
        let rotate = |hours| json!({"overlap_hours": hours});
        let path = format!("/v1/endpoints/{id}/rotate-secret");
        let rotated = api.call(Method::POST, &path, &api.merchant, Some(rotate(12))).await;
        assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
        assert_ne!(rotated.body["secret"].as_str().unwrap(), secret);
        assert_eq!(rotated.body["previous_valid_until"], "2026-11-27T20:00:00Z");
        let too_long = api.call(Method::POST, &path, &api.merchant, Some(rotate(1000))).await;
        assert_error(&too_long, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

        let disabled = api.call(Method::POST, &format!("/v1/endpoints/{id}/disable"), &api.merchant, None).await;
        assert_eq!(
            (disabled.status, disabled.body["enabled"].as_bool()),
            (StatusCode::OK, Some(false)),
            "{}",
            disabled.body
        );
        let enabled = api.call(Method::POST, &format!("/v1/endpoints/{id}/enable"), &api.merchant, None).await;
        assert_eq!(enabled.body["enabled"], true, "{}", enabled.body);
    }
}

#[tokio::test]
async fn a_merchant_brands_its_own_emails_only() {
    for api in apis().await {
        let path = format!("/v1/merchants/{}/branding", api.merchant_id);
        let branding =
            json!({"brand_color": "#0B7A3E", "logo_url": "https://shop.example/logo.png", "sender_name": "Boutique"});
        let set = api.call(Method::PUT, &path, &api.merchant, Some(branding)).await;
        assert_eq!((set.status, set.body["brand_color"].as_str()), (StatusCode::OK, Some("#0b7a3e")), "{}", set.body);
        for (body, field) in [
            (json!({"brand_color": "green"}), "brand_color"),
            (json!({"logo_url": "http://shop.example/logo.png"}), "logo_url"),
            (json!({"sender_name": "Shop <x@example.org>"}), "sender_name"),
        ] {
            let refused = api.call(Method::PUT, &path, &api.merchant, Some(body)).await;
            assert_error(&refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(refused.body["error"]["details"]["field"], field);
        }
        let other = api
            .call(Method::PUT, &format!("/v1/merchants/{}/branding", uuid_like()), &api.merchant, Some(json!({})))
            .await;
        assert_error(&other, StatusCode::NOT_FOUND, "not_found");
        let unknown = api
            .call(Method::PUT, &format!("/v1/merchants/{}/branding", uuid_like()), &api.operator, Some(json!({})))
            .await;
        assert_error(&unknown, StatusCode::NOT_FOUND, "not_found");
        let carrier = api.call(Method::PUT, &path, &api.carrier, Some(json!({}))).await;
        assert_error(&carrier, StatusCode::FORBIDDEN, "forbidden");
    }
}

#[tokio::test]
async fn a_parcels_messages_are_listed_without_their_text_and_resent_once() {
    for api in apis().await {
        let hook = json!({"url": "https://shop.example/hooks/relais"});
        let created = api.call(Method::POST, "/v1/endpoints", &api.merchant, Some(hook)).await;
        let endpoint_id = created.body["endpoint"]["id"].as_str().unwrap().to_owned();
        let announced = api.call(Method::POST, "/v1/parcels", &api.merchant, Some(api.announce_body("MSG0001"))).await;
        assert_eq!(announced.status, StatusCode::CREATED, "{}", announced.body);
        let parcel = announced.body["parcel"]["id"].as_str().unwrap().to_owned();
        let code = announced.body["pickup_code"].as_str().unwrap().to_owned();
        deliver(&api).await;

        let messages = api.call(Method::GET, &format!("/v1/parcels/{parcel}/messages"), &api.merchant, None).await;
        assert_eq!(messages.status, StatusCode::OK, "{}", messages.body);
        let list = messages.body.as_array().unwrap();
        // The announcement: to the recipient by SMS (no e-mail address) and to the merchant's webhook.
        let channels: Vec<&str> = list.iter().map(|m| m["channel"].as_str().unwrap()).collect();
        assert!(channels.contains(&"sms") && channels.contains(&"webhook"), "{}", messages.body);
        assert!(list.iter().all(|m| m["state"] == "delivered" && m["attempts"] == 1), "{}", messages.body);
        assert!(!messages.body.to_string().contains(&code), "never the code");
        let carrier = api.call(Method::GET, &format!("/v1/parcels/{parcel}/messages"), &api.carrier, None).await;
        assert_error(&carrier, StatusCode::FORBIDDEN, "forbidden");

        let log = api
            .call(Method::GET, &format!("/v1/endpoints/{endpoint_id}/deliveries?state=delivered"), &api.merchant, None)
            .await;
        assert_eq!(log.body.as_array().unwrap().len(), 1, "{}", log.body);
        let bad_state = api
            .call(Method::GET, &format!("/v1/endpoints/{endpoint_id}/deliveries?state=lost"), &api.merchant, None)
            .await;
        assert_error(&bad_state, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

        // The merchant replays its webhook; a second resend while it is pending is refused; the SMS is
        // an operator's to resend.
        let hook_message = list.iter().find(|m| m["channel"] == "webhook").unwrap()["id"].as_str().unwrap().to_owned();
        let sms_message = list.iter().find(|m| m["channel"] == "sms").unwrap()["id"].as_str().unwrap().to_owned();
        let resend = |id: &str| format!("/v1/messages/{id}/resend");
        let replayed = api.call(Method::POST, &resend(&hook_message), &api.merchant, None).await;
        assert_eq!(
            (replayed.status, replayed.body["state"].as_str()),
            (StatusCode::OK, Some("pending")),
            "{}",
            replayed.body
        );
        let again = api.call(Method::POST, &resend(&hook_message), &api.merchant, None).await;
        assert_error(&again, StatusCode::CONFLICT, "not_resendable");
        let sms = api.call(Method::POST, &resend(&sms_message), &api.merchant, None).await;
        assert_error(&sms, StatusCode::NOT_FOUND, "not_found");
        let by_operator = api.call(Method::POST, &resend(&sms_message), &api.operator, None).await;
        assert_eq!(by_operator.status, StatusCode::OK, "{}", by_operator.body);
        let unknown = api.call(Method::POST, &resend(uuid_like()), &api.operator, None).await;
        assert_error(&unknown, StatusCode::NOT_FOUND, "not_found");
        deliver(&api).await;
        let after = api.call(Method::GET, &format!("/v1/parcels/{parcel}/messages"), &api.operator, None).await;
        assert!(after.body.as_array().unwrap().iter().all(|m| m["state"] == "delivered"), "{}", after.body);
        let metrics = api.call(Method::GET, "/metrics", "", None).await;
        let text = metrics.body.as_str().unwrap();
        assert!(text.contains("relais_message_attempts_total{channel=\"sms\",outcome=\"delivered\"}"), "{text}");
        assert!(text.contains("relais_messages_dispatched_total"), "{text}");
    }
}

/// Channels that fail: for now (a provider down) or for good (an address refused).
struct Failing {
    for_good: bool,
}

#[async_trait::async_trait]
impl Outlets for Failing {
    async fn send(&self, _: Outgoing) -> AttemptOutcome {
        if self.for_good {
            AttemptOutcome::Refused { error: "HTTP 400: Twilio error 21211: not a valid phone number".into() }
        } else {
            AttemptOutcome::Failed { error: "HTTP 503".into(), retry_after: None }
        }
    }
}

#[tokio::test]
async fn a_failing_channel_is_tried_again_later_never_in_a_loop_and_a_refusal_is_a_dead_letter() {
    for api in apis().await {
        let announced = api.call(Method::POST, "/v1/parcels", &api.merchant, Some(api.announce_body("FAIL0001"))).await;
        let parcel = announced.body["parcel"]["id"].as_str().unwrap().to_owned();
        let down: std::sync::Arc<dyn Outlets> = std::sync::Arc::new(Failing { for_good: false });
        let settings = DeliverySettings::default();
        let round = api.app.deliver_round(&down, &settings).await.unwrap();
        assert_eq!((round.retried, round.delivered), (1, 0), "{round:?}");
        // Not due again until its backoff has passed: no tight loop against a provider that is down.
        for _ in 0..3 {
            assert!(api.app.deliver_round(&down, &settings).await.unwrap().is_idle());
        }
        let messages = api.call(Method::GET, &format!("/v1/parcels/{parcel}/messages"), &api.operator, None).await;
        let message = &messages.body[0];
        assert_eq!((message["state"].as_str(), message["attempts"].as_u64()), (Some("pending"), Some(1)));
        assert_eq!(message["last_error"], "HTTP 503", "what went wrong, while it waits");
        // After the first delay (10 s, spread by up to a fifth), it is tried again.
        api.clock.advance(chrono::Duration::seconds(13));
        assert_eq!(api.app.deliver_round(&down, &settings).await.unwrap().retried, 1);
        // The provider refuses the address: a dead letter at once, with why.
        api.clock.advance(chrono::Duration::seconds(30));
        let refusing: std::sync::Arc<dyn Outlets> = std::sync::Arc::new(Failing { for_good: true });
        assert_eq!(api.app.deliver_round(&refusing, &settings).await.unwrap().dead, 1);
        let messages = api.call(Method::GET, &format!("/v1/parcels/{parcel}/messages"), &api.operator, None).await;
        let message = &messages.body[0];
        assert_eq!((message["state"].as_str(), message["attempts"].as_u64()), (Some("dead"), Some(3)));
        assert!(message["last_error"].as_str().unwrap().contains("21211"), "{message}");
        let metrics = api.call(Method::GET, "/metrics", "", None).await;
        let text = metrics.body.as_str().unwrap();
        assert!(text.contains("relais_message_attempts_total{channel=\"sms\",outcome=\"retried\"}"), "{text}");
        assert!(text.contains("relais_message_attempts_total{channel=\"sms\",outcome=\"dead\"}"), "{text}");
    }
}

#[tokio::test]
async fn operators_edit_templates_and_a_template_that_does_not_render_is_refused() {
    for api in apis().await {
        let list = api.call(Method::GET, "/v1/templates", &api.operator, None).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        let items = list.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 10 * 2 * 4, "every notice, language and part");
        assert!(items.iter().all(|t| t["custom"] == false && !t["source"].as_str().unwrap().is_empty()));
        let merchant = api.call(Method::GET, "/v1/templates", &api.merchant, None).await;
        assert_error(&merchant, StatusCode::FORBIDDEN, "forbidden");

        let path = "/v1/templates/ready_for_pickup/en/sms";
        // Refused with the line and the problem, nothing saved: an unknown name, a syntax error, an
        // endless loop, an empty source.
        for (source, code) in [
            ("Hello {{ recipient_name }}", "template_invalid"),
            ("Code {{ code }\nline two", "template_invalid"),
            ("{% for i in range(100000) %}{{ code }}{% endfor %}", "template_invalid"),
            ("   ", "validation_failed"),
        ] {
            let refused = api.call(Method::PUT, path, &api.operator, Some(json!({"source": source}))).await;
            assert_error(&refused, StatusCode::UNPROCESSABLE_ENTITY, code);
            if code == "template_invalid" {
                assert_eq!(refused.body["error"]["details"]["part"], "sms", "{}", refused.body);
            }
        }
        let syntax = api.call(Method::PUT, path, &api.operator, Some(json!({"source": "ok\n{{ code }"}))).await;
        assert_eq!(syntax.body["error"]["details"]["line"], 2, "{}", syntax.body);
        let unchanged = api.call(Method::GET, path, &api.operator, None).await;
        assert_eq!(unchanged.body["custom"], false, "{}", unchanged.body);

        let source = "{{ merchant }}: parcel {{ parcel_number }} at {{ point_name }}, code {{ code }}. {{ link }}";
        let saved = api.call(Method::PUT, path, &api.operator, Some(json!({"source": source}))).await;
        assert_eq!((saved.status, saved.body["custom"].as_bool()), (StatusCode::OK, Some(true)), "{}", saved.body);
        let read = api.call(Method::GET, path, &api.operator, None).await;
        assert_eq!(read.body["source"], source);
        for (bad_path, status, code) in [
            ("/v1/templates/lost_in_space/en/sms", StatusCode::NOT_FOUND, "not_found"),
            ("/v1/templates/ready_for_pickup/de/sms", StatusCode::NOT_FOUND, "not_found"),
            ("/v1/templates/ready_for_pickup/en/fax", StatusCode::NOT_FOUND, "not_found"),
        ] {
            let reply = api.call(Method::PUT, bad_path, &api.operator, Some(json!({"source": source}))).await;
            assert_error(&reply, status, code);
        }
        let unknown_field = api.call(Method::PUT, path, &api.operator, Some(json!({"text": source}))).await;
        assert_error(&unknown_field, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

        // The preview: the saved SMS, an unsaved subject in place of the saved one, the sample data.
        let preview =
            json!({"notice": "ready_for_pickup", "lang": "en", "templates": {"subject": "Ready: {{ parcel_number }}"}});
        let shown = api.call(Method::POST, "/v1/templates/preview", &api.operator, Some(preview)).await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
        assert!(
            shown.body["sms"].as_str().unwrap().starts_with("Boutique Lumière: parcel 3SABC0123456789"),
            "{}",
            shown.body
        );
        assert_eq!((shown.body["sms_encoding"].as_str(), shown.body["sms_parts"].as_u64()), (Some("gsm7"), Some(1)));
        assert_eq!(shown.body["subject"], "Ready: 3SABC0123456789");
        assert!(shown.body["html"].as_str().unwrap().contains("cid:qr"), "{}", shown.body);
        assert!(shown.body["text"].as_str().unwrap().contains("04831276"), "the sample code: {}", shown.body);
        let long = json!({"notice": "ready_for_pickup", "lang": "fr", "templates": {"sms": "Colis prêt ! {{ link }} {{ link }}"}});
        let shown = api.call(Method::POST, "/v1/templates/preview", &api.operator, Some(long)).await;
        assert_eq!(
            (shown.body["sms_encoding"].as_str(), shown.body["sms_parts"].as_u64()),
            (Some("ucs2"), Some(3)),
            "ê is outside GSM 7-bit: {}",
            shown.body
        );
        let broken = json!({"notice": "ready_for_pickup", "lang": "en", "templates": {"html": "{% if %}"}});
        let refused = api.call(Method::POST, "/v1/templates/preview", &api.operator, Some(broken)).await;
        assert_error(&refused, StatusCode::UNPROCESSABLE_ENTITY, "template_invalid");
        let odd_part = json!({"notice": "ready_for_pickup", "lang": "en", "templates": {"fax": "x"}});
        let refused = api.call(Method::POST, "/v1/templates/preview", &api.operator, Some(odd_part)).await;
        assert_error(&refused, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

        let reset = api.call(Method::DELETE, path, &api.operator, None).await;
        assert_eq!(reset.body["custom"], false, "{}", reset.body);
        assert_ne!(reset.body["source"], source);
    }
}

#[tokio::test]
async fn a_recipient_stops_messages_and_answers_the_survey_from_their_link() {
    for mut api in apis().await {
        // More pages than the test router's public limit allows a minute.
        let config = relais_http::HttpConfig {
            request_body_bytes_max: 4096,
            import_body_bytes_max: 1 << 20,
            widget_requests_per_minute: 600,
        };
        api.router = relais_http::router(api.app.clone(), config);
        let mut body = api.announce_body("SURVEY0001");
        body["recipient"]["email"] = json!("ana@example.org");
        let announced = api.call(Method::POST, "/v1/parcels", &api.merchant, Some(body)).await;
        let id = announced.body["parcel"]["id"].as_str().unwrap().to_owned();
        let code = announced.body["pickup_code"].as_str().unwrap().to_owned();
        let token = api.app.recipient_link(id.parse().unwrap()).rsplit('/').next().unwrap().to_owned();
        let form = |path: &str, body: &str| {
            let path = path.to_owned();
            let body = body.to_owned();
            let api = &api;
            async move { api.raw(Method::POST, &path, "", Some(&body), Some("application/x-www-form-urlencoded")).await }
        };

        // The stop page offers each channel; a link opened by a scanner stops nothing.
        let page = api.call(Method::GET, &format!("/r/{token}/stop?lang=en"), "", None).await;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.body.as_str().unwrap();
        assert!(html.contains("value=\"sms\"") && html.contains("value=\"email\"") && html.contains("value=\"all\""));
        let nothing = form(&format!("/r/{token}/stop?lang=en"), "").await;
        assert_eq!(nothing.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", nothing.body);
        let odd = form(&format!("/r/{token}/stop?lang=en"), "channel=fax").await;
        assert_eq!(odd.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", odd.body);
        let stopped = form(&format!("/r/{token}/stop?lang=en"), "channel=sms").await;
        assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.body);
        assert!(stopped.body.as_str().unwrap().contains("no more text messages"), "{}", stopped.body);
        // A mail client's one-click unsubscribe (RFC 8058).
        let one_click = form(&format!("/r/{token}/stop?channel=email"), "List-Unsubscribe=One-Click").await;
        assert_eq!(one_click.status, StatusCode::OK, "{}", one_click.body);
        let forged = form("/r/RL2.forged/stop", "channel=sms").await;
        assert_eq!(forged.status, StatusCode::NOT_FOUND);
        // A bad link answers its HTML page, whatever the form holds.
        for (path, body) in
            [("/r/0/survey", ""), ("/r/0/survey", "score=5"), ("/r/0/stop", ""), ("/r/0/stop", "channel=sms")]
        {
            let reply = form(path, body).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path} {body}");
            assert!(reply.body.as_str().is_some_and(|html| html.contains("<main>")), "{path} {body}: {}", reply.body);
        }
        // Both stopped: the deposit tells the merchant's systems only.
        api.call(Method::POST, &format!("/v1/parcels/{id}/deposit"), &api.carrier, None).await;
        deliver(&api).await;
        let messages = api.call(Method::GET, &format!("/v1/parcels/{id}/messages"), &api.operator, None).await;
        let to_recipient = messages.body.as_array().unwrap().iter().filter(|m| m["channel"] != "webhook").count();
        assert_eq!(to_recipient, 0, "{}", messages.body);

        // The survey: not before the collection; then a score from 0 to 10, a comment, replaced.
        let early = api.call(Method::GET, &format!("/r/{token}/survey?lang=en"), "", None).await;
        assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
        let pickup =
            api.call(Method::POST, &format!("/v1/parcels/{id}/pickup"), &api.device, Some(json!({"code": code}))).await;
        assert_eq!(pickup.status, StatusCode::OK, "{}", pickup.body);
        let page = api.call(Method::GET, &format!("/r/{token}?lang=en"), "", None).await;
        let html = page.body.as_str().unwrap();
        assert!(html.contains(&format!("/r/{token}/survey?lang=en")) && html.contains(&format!("/r/{token}/stop")));
        let survey = api.call(Method::GET, &format!("/r/{token}/survey?lang=en"), "", None).await;
        assert_eq!(survey.status, StatusCode::OK);
        let html = survey.body.as_str().unwrap();
        assert_eq!(html.matches("type=\"radio\" name=\"score\"").count(), 11, "{html}");
        for bad in ["score=11", "score=ten", "comment=nice", &format!("score=5&comment={}", "x".repeat(1001))] {
            let refused = form(&format!("/r/{token}/survey?lang=en"), bad).await;
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", refused.body);
        }
        let answered = form(&format!("/r/{token}/survey?lang=en"), "score=10&comment=Tr%C3%A8s+bien&publish=yes").await;
        assert_eq!(answered.status, StatusCode::SEE_OTHER, "{}", answered.body);
        let answered = form(&format!("/r/{token}/survey?lang=en"), "score=8&comment=Bien").await;
        assert_eq!(answered.status, StatusCode::SEE_OTHER, "{}", answered.body);
        let thanks = api.call(Method::GET, &format!("/r/{token}/survey?lang=en&done=1"), "", None).await;
        let html = thanks.body.as_str().unwrap();
        assert!(html.contains("Thank you") && html.contains("value=\"8\" required checked") && html.contains("Bien"));

        let day = "2026-11-27";
        let nps = api.call(Method::GET, &format!("/v1/kpis/nps?from={day}&to={day}"), &api.merchant, None).await;
        assert_eq!(nps.status, StatusCode::OK, "{}", nps.body);
        assert_eq!((nps.body["answers"].as_u64(), nps.body["passives"].as_u64()), (Some(1), Some(1)), "{}", nps.body);
        assert_eq!(nps.body["nps"], 0.0);
        let report = api.call(Method::GET, &format!("/v1/kpis?from={day}&to={day}"), &api.operator, None).await;
        assert_eq!(report.body["satisfaction"]["answers"], 1, "{}", report.body);
        let foreign = format!("/v1/kpis/nps?from={day}&to={day}&merchant_id={}", uuid_like());
        assert_error(&api.call(Method::GET, &foreign, &api.merchant, None).await, StatusCode::NOT_FOUND, "not_found");
        let backwards = api.call(Method::GET, "/v1/kpis/nps?from=2026-12-01&to=2026-11-01", &api.operator, None).await;
        assert_error(&backwards, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let carrier = api.call(Method::GET, &format!("/v1/kpis/nps?from={day}&to={day}"), &api.carrier, None).await;
        assert_error(&carrier, StatusCode::FORBIDDEN, "forbidden");

        // The merchant's reviews page: only comments their recipient agreed to publish, never who.
        let reviews = format!("/v1/reviews?from={day}&to={day}");
        assert_eq!(
            api.call(Method::GET, &reviews, &api.merchant, None).await.body,
            json!([]),
            "\"Bien\" is not to publish"
        );
        let answered =
            form(&format!("/r/{token}/survey?lang=en"), "score=9&comment=Casier+propre%2C+rapide&publish=yes").await;
        assert_eq!(answered.status, StatusCode::SEE_OTHER, "{}", answered.body);
        let listed = api.call(Method::GET, &reviews, &api.merchant, None).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
        let review = &listed.body[0];
        assert_eq!((review["score"].as_u64(), review["comment"].as_str()), (Some(9), Some("Casier propre, rapide")));
        assert_eq!(review["point_name"], "Consigne Gare");
        assert!(!listed.body.to_string().contains("+336"), "no contact: {}", listed.body);
        let csv = api.raw(Method::GET, &format!("{reviews}&format=csv"), &api.merchant, None, None).await;
        let text = csv.body.as_str().unwrap();
        assert!(text.starts_with("answered_at,score,comment,point,city\n"), "{text}");
        assert!(text.contains(",9,\"Casier propre, rapide\",Consigne Gare,Lyon\n"), "{text}");
        assert_error(
            &api.call(Method::GET, &format!("{reviews}&format=xml"), &api.merchant, None).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_error(&api.call(Method::GET, &reviews, &api.carrier, None).await, StatusCode::FORBIDDEN, "forbidden");
        let foreign = format!("{reviews}&merchant_id={}", uuid_like());
        assert_error(&api.call(Method::GET, &foreign, &api.merchant, None).await, StatusCode::NOT_FOUND, "not_found");
        assert_eq!(api.call(Method::GET, &reviews, &api.operator, None).await.body.as_array().map(Vec::len), Some(1));
    }
}

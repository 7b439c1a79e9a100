//! The outbox delivered (ADR 15), on SQLite: the one process's writer runs the claims, so no two
//! workers can take the same row; the statements are otherwise those of PostgreSQL (`postgres/outbox.rs`).

use relais_app::ports::{CommitError, MessageWrite};
use rusqlite::{Connection, params};

use super::writes::{exec, exec_versioned, id, micros};
use crate::rows::{endpoint_target, topics_to_text};

pub(super) fn apply(c: &Connection, write: &MessageWrite) -> Result<(), CommitError> {
    match write {
        MessageWrite::ClaimOutbox { lease, now, until, limit } => exec(
            c,
            "UPDATE outbox SET lease_id = ?1, lease_until = ?3
             WHERE id IN (SELECT id FROM outbox
                 WHERE dispatched_at IS NULL AND (lease_until IS NULL OR lease_until <= ?2)
                 ORDER BY id LIMIT ?4)",
            params![id(*lease), micros(*now), micros(*until), limit],
        )
        .map(drop),
        MessageWrite::FanOut { outbox_id, deliveries, at } => {
            exec(
                c,
                "UPDATE outbox SET dispatched_at = ?2, lease_id = NULL, lease_until = NULL WHERE id = ?1",
                params![id(*outbox_id), micros(*at)],
            )?;
            for d in deliveries {
                exec(
                    c,
                    "INSERT INTO deliveries (id, outbox_id, topic, parcel_id, channel, address, state, attempts,
                        next_attempt_at, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?8, ?8)
                     ON CONFLICT (outbox_id, channel, address) DO NOTHING",
                    params![
                        id(d.id),
                        id(*outbox_id),
                        d.topic,
                        d.parcel_id.map(id),
                        d.channel.as_str(),
                        d.address,
                        micros(d.next_attempt_at),
                        micros(*at)
                    ],
                )?;
            }
            Ok(())
        }
        MessageWrite::ClaimDeliveries { lease, now, until, limit } => exec(
            c,
            "UPDATE deliveries SET lease_id = ?1, next_attempt_at = ?3, attempts = attempts + 1
             WHERE id IN (SELECT id FROM deliveries
                 WHERE state = 'pending' AND next_attempt_at <= ?2
                 ORDER BY next_attempt_at LIMIT ?4)",
            params![id(*lease), micros(*now), micros(*until), limit],
        )
        .map(drop),
        MessageWrite::RecordDelivery { delivery: d, lease } => exec(
            c,
            "UPDATE deliveries SET state = ?2, next_attempt_at = ?3, last_error = ?4, provider_ref = ?5,
                updated_at = ?6, lease_id = NULL,
                provider_status = COALESCE((SELECT r.status FROM provider_reports r
                    WHERE r.channel = deliveries.channel AND r.provider_ref = ?5 ORDER BY r.at DESC LIMIT 1), provider_status)
             WHERE id = ?1 AND state = 'pending' AND (lease_id = ?7 OR ?2 = 'delivered')",
            params![
                id(d.id),
                d.state.as_str(),
                micros(d.next_attempt_at),
                d.last_error,
                d.provider_ref,
                micros(d.updated_at),
                id(*lease)
            ],
        )
        .map(drop),
        MessageWrite::ResendDelivery { id: delivery_id, at } => exec_versioned(
            c,
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?2, last_error = NULL,
                provider_status = NULL, lease_id = NULL, updated_at = ?2
             WHERE id = ?1 AND state <> 'pending'",
            params![id(*delivery_id), micros(*at)],
        ),
        MessageWrite::SetProviderStatus { channel, provider_ref, status, at } => {
            let args = params![channel.as_str(), provider_ref, status, micros(*at)];
            exec(c, "INSERT INTO provider_reports (channel, provider_ref, status, at) VALUES (?1, ?2, ?3, ?4)", args)?;
            exec(c, "UPDATE deliveries SET provider_status = ?3, updated_at = ?4 WHERE channel = ?1 AND provider_ref = ?2", args)
                .map(drop)
        }
        MessageWrite::PruneOutbox { before, limit } => exec(
            c,
            "DELETE FROM outbox WHERE id IN (SELECT o.id FROM outbox o
                 WHERE o.dispatched_at IS NOT NULL AND o.created_at < ?1
                   AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.outbox_id = o.id AND d.state = 'pending')
                 ORDER BY o.id LIMIT ?2)",
            params![micros(*before), limit],
        )
        .map(drop),
        MessageWrite::InsertEndpoint { endpoint: e, secret_seal } => {
            let (kind, target) = endpoint_target(&e.target);
            exec(
                c,
                "INSERT INTO endpoints (id, merchant_id, kind, target, topics, secret_seal, disabled_at,
                    disabled_reason, failing_since, created_at, version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    id(e.id),
                    e.merchant_id.map(id),
                    kind,
                    target,
                    topics_to_text(&e.topics),
                    secret_seal,
                    e.disabled_at.map(micros),
                    e.disabled_reason,
                    e.failing_since.map(micros),
                    micros(e.created_at),
                    e.version
                ],
            )
            .map(drop)
        }
        MessageWrite::UpdateEndpoint(e) => {
            let (kind, target) = endpoint_target(&e.target);
            exec_versioned(
                c,
                "UPDATE endpoints SET kind = ?1, target = ?2, topics = ?3, disabled_at = ?4, disabled_reason = ?5,
                    failing_since = ?6, version = version + 1
                 WHERE id = ?7 AND version = ?8",
                params![
                    kind,
                    target,
                    topics_to_text(&e.topics),
                    e.disabled_at.map(micros),
                    e.disabled_reason,
                    e.failing_since.map(micros),
                    id(e.id),
                    e.version
                ],
            )
        }
        MessageWrite::RotateEndpointSecret { id: endpoint_id, secret_seal, previous_until } => exec_versioned(
            c,
            "UPDATE endpoints SET previous_secret_seal = secret_seal, previous_until = ?3, secret_seal = ?2,
                version = version + 1
             WHERE id = ?1",
            params![id(*endpoint_id), secret_seal, micros(*previous_until)],
        ),
        MessageWrite::EndpointOutcome { id: endpoint_id, ok, at } => exec(
            c,
            "UPDATE endpoints SET failing_since = CASE WHEN ?2 THEN NULL ELSE COALESCE(failing_since, ?3) END
             WHERE id = ?1 AND (failing_since IS NULL) <> ?2",
            params![id(*endpoint_id), ok, micros(*at)],
        )
        .map(drop),
        MessageWrite::SetMerchantBranding { merchant_id, branding: b } => exec_versioned(
            c,
            "UPDATE merchants SET brand_color = ?2, logo_url = ?3, sender_name = ?4, return_address = ?5 WHERE id = ?1",
            params![id(*merchant_id), b.color, b.logo_url, b.sender_name, b.return_address],
        ),
        MessageWrite::OptOut { contact_digest, channel, at } => exec(
            c,
            "INSERT INTO opt_outs (contact_digest, channel, at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![contact_digest, channel.as_str(), micros(*at)],
        )
        .map(drop),
        MessageWrite::AnswerSurvey(a) => exec(
            c,
            "INSERT INTO survey_answers (parcel_id, merchant_id, network_id, point_id, carrier_id, score, comment,
                publish, answered_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (parcel_id) DO UPDATE SET score = excluded.score, comment = excluded.comment,
                publish = excluded.publish, answered_at = excluded.answered_at",
            params![
                id(a.parcel_id),
                id(a.merchant_id),
                id(a.network_id),
                id(a.point_id),
                a.carrier_id.map(id),
                a.score,
                a.comment,
                a.publish,
                micros(a.answered_at)
            ],
        )
        .map(drop),
        MessageWrite::SaveTemplate(t) => exec(
            c,
            "INSERT INTO message_templates (notice, lang, part, source, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (notice, lang, part) DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at",
            params![t.notice, t.lang, t.part, t.source, micros(t.updated_at)],
        )
        .map(drop),
        MessageWrite::ResetTemplate { notice, lang, part } => exec(
            c,
            "DELETE FROM message_templates WHERE notice = ?1 AND lang = ?2 AND part = ?3",
            params![notice, lang, part],
        )
        .map(drop),
    }
}

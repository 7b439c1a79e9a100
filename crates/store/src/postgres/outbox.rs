//! The outbox delivered (ADR 15), on PostgreSQL: claims take rows with `FOR UPDATE SKIP LOCKED`, so
//! workers in several processes never take the same message or delivery, and a row whose inserting
//! transaction has not committed yet is left for a later claim. One statement per write, as for every
//! other write (`writes.rs`).

use deadpool_postgres::Client;
use relais_app::ports::{CommitError, MessageWrite};
use uuid::Uuid;

use super::writes::{big, exec, exec_versioned, uuid};
use crate::rows::{endpoint_target, topics_to_text};

pub(super) fn sql_of(write: &MessageWrite) -> &'static str {
    match write {
        MessageWrite::ClaimOutbox { .. } => "UPDATE outbox SET lease_id = $1, lease_until = $3
             WHERE id IN (SELECT id FROM outbox
                 WHERE dispatched_at IS NULL AND (lease_until IS NULL OR lease_until <= $2)
                 ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)",
        // The deliveries and the message marked dispatched in one statement; a delivery already there
        // (a fan-out run twice after a worker died) is left as it is.
        MessageWrite::FanOut { .. } => "WITH done AS (
                UPDATE outbox SET dispatched_at = $2, lease_id = NULL, lease_until = NULL WHERE id = $1)
             INSERT INTO deliveries (id, outbox_id, topic, parcel_id, channel, address, state, attempts, next_attempt_at,
                created_at, updated_at)
             SELECT d.id, $1, $3, $4, d.channel, d.address, 'pending', 0, d.due, $2, $2
             FROM unnest($5::uuid[], $6::text[], $7::text[], $8::timestamptz[]) AS d (id, channel, address, due)
             ON CONFLICT (outbox_id, channel, address) DO NOTHING",
        MessageWrite::ClaimDeliveries { .. } => "UPDATE deliveries SET lease_id = $1, next_attempt_at = $3, attempts = attempts + 1
             WHERE id IN (SELECT id FROM deliveries
                 WHERE state = 'pending' AND next_attempt_at <= $2
                 ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED)",
        MessageWrite::RecordDelivery { .. } => "UPDATE deliveries SET state = $2, next_attempt_at = $3, last_error = $4,
                provider_ref = $5, updated_at = $6, lease_id = NULL,
                provider_status = COALESCE((SELECT r.status FROM provider_reports r
                    WHERE r.channel = deliveries.channel AND r.provider_ref = $5 ORDER BY r.at DESC LIMIT 1), provider_status)
             WHERE id = $1 AND state = 'pending' AND (lease_id = $7 OR $2 = 'delivered')",
        MessageWrite::ResendDelivery { .. } => "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = $2,
                last_error = NULL, provider_status = NULL, lease_id = NULL, updated_at = $2
             WHERE id = $1 AND state <> 'pending'",
        MessageWrite::SetProviderStatus { .. } => "WITH report AS (
                INSERT INTO provider_reports (channel, provider_ref, status, at) VALUES ($1, $2, $3, $4))
             UPDATE deliveries SET provider_status = $3, updated_at = $4 WHERE channel = $1 AND provider_ref = $2",
        MessageWrite::PruneOutbox { .. } => "DELETE FROM outbox WHERE id IN (SELECT o.id FROM outbox o
                 WHERE o.dispatched_at IS NOT NULL AND o.created_at < $1
                   AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.outbox_id = o.id AND d.state = 'pending')
                 ORDER BY o.id LIMIT $2)",
        MessageWrite::InsertEndpoint { .. } => "INSERT INTO endpoints (id, merchant_id, kind, target, topics, secret_seal, disabled_at,
                disabled_reason, failing_since, created_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        MessageWrite::UpdateEndpoint(_) => "UPDATE endpoints SET kind = $1, target = $2, topics = $3, disabled_at = $4,
                disabled_reason = $5, failing_since = $6, version = version + 1
             WHERE id = $7 AND version = $8",
        MessageWrite::RotateEndpointSecret { .. } => "UPDATE endpoints SET previous_secret_seal = secret_seal, previous_until = $3,
                secret_seal = $2, version = version + 1
             WHERE id = $1",
        MessageWrite::EndpointOutcome { .. } => "UPDATE endpoints
             SET failing_since = CASE WHEN $2 THEN NULL ELSE COALESCE(failing_since, $3) END
             WHERE id = $1 AND (failing_since IS NULL) <> $2",
        MessageWrite::SetMerchantBranding { .. } => {
            "UPDATE merchants SET brand_color = $2, logo_url = $3, sender_name = $4, return_address = $5 WHERE id = $1"
        }
        MessageWrite::OptOut { .. } => {
            "INSERT INTO opt_outs (contact_digest, channel, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        }
        MessageWrite::AnswerSurvey(_) => "INSERT INTO survey_answers (parcel_id, merchant_id, network_id, point_id,
                carrier_id, score, comment, publish, answered_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (parcel_id) DO UPDATE SET score = excluded.score, comment = excluded.comment,
                publish = excluded.publish, answered_at = excluded.answered_at",
        MessageWrite::SaveTemplate(_) => "INSERT INTO message_templates (notice, lang, part, source, updated_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (notice, lang, part) DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at",
        MessageWrite::ResetTemplate { .. } => {
            "DELETE FROM message_templates WHERE notice = $1 AND lang = $2 AND part = $3"
        }
    }
}

pub(super) async fn apply(c: &Client, sql: &str, write: &MessageWrite) -> Result<(), CommitError> {
    match write {
        MessageWrite::ClaimOutbox { lease, now, until, limit } => {
            exec(c, sql, &[&uuid(*lease), now, until, &big(*limit)]).await.map(drop)
        }
        MessageWrite::FanOut { outbox_id, deliveries, at } => {
            let Some(first) = deliveries.first() else {
                // Nobody to tell: the message is dispatched all the same.
                let sql = "UPDATE outbox SET dispatched_at = $2, lease_id = NULL, lease_until = NULL WHERE id = $1";
                return exec(c, sql, &[&uuid(*outbox_id), at]).await.map(drop);
            };
            let ids: Vec<Uuid> = deliveries.iter().map(|d| d.id.uuid()).collect();
            let channels: Vec<&str> = deliveries.iter().map(|d| d.channel.as_str()).collect();
            let addresses: Vec<&str> = deliveries.iter().map(|d| d.address.as_str()).collect();
            let due: Vec<_> = deliveries.iter().map(|d| d.next_attempt_at).collect();
            let parcel_id = first.parcel_id.map(uuid);
            let args: [super::Param<'_>; 8] =
                [&uuid(*outbox_id), at, &first.topic, &parcel_id, &ids, &channels, &addresses, &due];
            exec(c, sql, &args).await.map(drop)
        }
        MessageWrite::ClaimDeliveries { lease, now, until, limit } => {
            exec(c, sql, &[&uuid(*lease), now, until, &big(*limit)]).await.map(drop)
        }
        MessageWrite::RecordDelivery { delivery: d, lease } => exec(
            c,
            sql,
            &[
                &uuid(d.id),
                &d.state.as_str(),
                &d.next_attempt_at,
                &d.last_error,
                &d.provider_ref,
                &d.updated_at,
                &uuid(*lease),
            ],
        )
        .await
        .map(drop),
        MessageWrite::ResendDelivery { id, at } => exec_versioned(c, sql, &[&uuid(*id), at]).await,
        MessageWrite::SetProviderStatus { channel, provider_ref, status, at } => {
            exec(c, sql, &[&channel.as_str(), provider_ref, status, at]).await.map(drop)
        }
        MessageWrite::PruneOutbox { before, limit } => exec(c, sql, &[before, &big(*limit)]).await.map(drop),
        MessageWrite::InsertEndpoint { endpoint: e, secret_seal } => {
            let (kind, target) = endpoint_target(&e.target);
            exec(
                c,
                sql,
                &[
                    &uuid(e.id),
                    &e.merchant_id.map(uuid),
                    &kind,
                    &target,
                    &topics_to_text(&e.topics),
                    secret_seal,
                    &e.disabled_at,
                    &e.disabled_reason,
                    &e.failing_since,
                    &e.created_at,
                    &e.version,
                ],
            )
            .await
            .map(drop)
        }
        MessageWrite::UpdateEndpoint(e) => {
            let (kind, target) = endpoint_target(&e.target);
            let topics = topics_to_text(&e.topics);
            let args: [super::Param<'_>; 8] = [
                &kind,
                &target,
                &topics,
                &e.disabled_at,
                &e.disabled_reason,
                &e.failing_since,
                &uuid(e.id),
                &e.version,
            ];
            exec_versioned(c, sql, &args).await
        }
        MessageWrite::RotateEndpointSecret { id, secret_seal, previous_until } => {
            exec_versioned(c, sql, &[&uuid(*id), secret_seal, previous_until]).await
        }
        MessageWrite::EndpointOutcome { id, ok, at } => exec(c, sql, &[&uuid(*id), ok, at]).await.map(drop),
        MessageWrite::SetMerchantBranding { merchant_id, branding: b } => {
            let args: [super::Param<'_>; 5] =
                [&uuid(*merchant_id), &b.color, &b.logo_url, &b.sender_name, &b.return_address];
            exec_versioned(c, sql, &args).await
        }
        MessageWrite::OptOut { contact_digest, channel, at } => {
            exec(c, sql, &[contact_digest, &channel.as_str(), at]).await.map(drop)
        }
        MessageWrite::AnswerSurvey(a) => {
            let score = i16::from(a.score);
            let args: [super::Param<'_>; 9] = [
                &uuid(a.parcel_id),
                &uuid(a.merchant_id),
                &uuid(a.network_id),
                &uuid(a.point_id),
                &a.carrier_id.map(uuid),
                &score,
                &a.comment,
                &a.publish,
                &a.answered_at,
            ];
            exec(c, sql, &args).await.map(drop)
        }
        MessageWrite::SaveTemplate(t) => {
            exec(c, sql, &[&t.notice, &t.lang, &t.part, &t.source, &t.updated_at]).await.map(drop)
        }
        MessageWrite::ResetTemplate { notice, lang, part } => exec(c, sql, &[notice, lang, part]).await.map(drop),
    }
}

//! What each write runs in a PostgreSQL transaction: one statement per write (`sql_of`, kept in one
//! table so a commit prepares them all before it sends any), with its parameters in PostgreSQL's types.
//! A unique violation names the key it is about (`CommitError::Duplicate`); a versioned update that
//! matches no row, a serialization failure or a deadlock is a lost race (`CommitError::Conflict`).

use deadpool_postgres::Client;
use relais_app::ports::{
    ClaimWrite, CommitError, ConsoleWrite, NumberWrite, OrderWrite, StoreError, TrackingWrite, Write,
};
use relais_domain::compartment::DoorFault;
use relais_domain::ids::Id;
use relais_domain::parcel::ParcelState;
use relais_domain::value::{Email, Phone};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::Param;
use crate::duplicate_what;
use crate::rows::{compartment_columns, date_text, doors_to_text, fields_to_text, offsets_to_text, sharers_to_text};

pub(super) fn commit_error(e: tokio_postgres::Error) -> CommitError {
    match e.as_db_error() {
        Some(db) if *db.code() == SqlState::UNIQUE_VIOLATION => match db.constraint().and_then(duplicate_what) {
            Some(what) => CommitError::Duplicate { what },
            None => CommitError::Store(StoreError::new(&e)),
        },
        // Only a commit lane sets a lock timeout (`writer.rs`); it runs the commands again outside
        // the lane, so no caller sees this error.
        Some(db) if *db.code() == SqlState::LOCK_NOT_AVAILABLE => {
            CommitError::Store(StoreError(super::writer::LOCK_NOT_GRANTED.into()))
        }
        Some(db)
            if *db.code() == SqlState::T_R_SERIALIZATION_FAILURE || *db.code() == SqlState::T_R_DEADLOCK_DETECTED =>
        {
            CommitError::Conflict
        }
        _ => CommitError::Store(StoreError::new(&e)),
    }
}

pub(super) async fn exec(c: &Client, sql: &str, args: &[Param<'_>]) -> Result<u64, CommitError> {
    let statement = c.prepare_cached(sql).await.map_err(commit_error)?;
    c.execute(&statement, args).await.map_err(commit_error)
}

pub(super) async fn exec_versioned(c: &Client, sql: &str, args: &[Param<'_>]) -> Result<(), CommitError> {
    match exec(c, sql, args).await? {
        1 => Ok(()),
        _ => Err(CommitError::Conflict),
    }
}

pub(super) fn big(n: u32) -> i64 {
    i64::from(n)
}

pub(super) fn uuid<T>(id: Id<T>) -> Uuid {
    id.uuid()
}

/// The statement each write runs. Kept in one table so a commit can prepare them all before it sends
/// any (see `run_transaction`).
pub(super) fn sql_of(write: &Write) -> &'static str {
    match write {
        Write::InsertNetwork(_) => "INSERT INTO networks (id, name, hold_window_hours, extension_count_max, extension_hours,
                extension_earliest_after_deposit_hours, reminder_offsets_hours, reservation_hours, created_at,
                label_layout)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        Write::InsertMerchant(_) => "INSERT INTO merchants (id, name, created_at) VALUES ($1, $2, $3)",
        Write::InsertPoint(_) => "INSERT INTO pickup_points (kind, name, address_line1, address_line2, postcode, city,
                country, latitude, longitude, timezone, status, shelf_capacity, weight_max_g, dimensions_sum_max_mm,
                opening_hours, closures, services, source, updated_at, id, network_id, external_id, shelf_occupied,
                created_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
                $23, $24, $25)",
        Write::InsertCompartment(_) => "INSERT INTO compartments (id, point_id, label, size, state, parcel_id, reserved_until, version, fault)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        Write::UpdateCompartment(_) => "UPDATE compartments SET state = $1, parcel_id = $2, reserved_until = $3, fault = $6, sharers = $7,
                    version = version + 1
                 WHERE id = $4 AND version = $5",
        Write::UpdatePointShelf(_) => "UPDATE pickup_points SET shelf_occupied = $1, version = version + 1 WHERE id = $2 AND version = $3",
        Write::UpdatePoint(_) => "UPDATE pickup_points SET kind = $1, name = $2, address_line1 = $3, address_line2 = $4, postcode = $5,
                city = $6, country = $7, latitude = $8, longitude = $9, timezone = $10, status = $11,
                shelf_capacity = $12, weight_max_g = $13, dimensions_sum_max_mm = $14, opening_hours = $15,
                closures = $16, services = $17, source = $18, updated_at = $19, version = version + 1
             WHERE id = $20",
        Write::InsertImport(_) => "INSERT INTO point_imports (id, network_id, format, source, at, status, rows_total, rows_refused, added,
                changed, moved, closed, reopened, removed, unchanged, problems)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        Write::AppendPointChange(_) => "INSERT INTO point_changes (point_id, import_id, at, kind, fields) VALUES ($1, $2, $3, $4, $5)",
        Write::RaiseOccupancyAlert(_) => "INSERT INTO occupancy_alerts (point_id, raised_at, rate) VALUES ($1, $2, $3)",
        Write::ClearOccupancyAlert(_) => "DELETE FROM occupancy_alerts WHERE point_id = $1",
        // The contacts' digests go in the same statement: one round trip a parcel, as before.
        Write::InsertParcel { .. } => "WITH parcel AS (INSERT INTO parcels (id, number, merchant_id, network_id, point_id, recipient_name,
                recipient_phone, recipient_email, length_mm, width_mm, height_mm, weight_g, state, incident_kind,
                compartment_id, code_digest, qr_digest, deposited_at, pickup_deadline, extensions_used, created_at,
                updated_at, version, carrier_id, pickup_seal, recipient_language)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
                $24, $25, $26) RETURNING id)
             INSERT INTO parcel_contacts (digest, parcel_id) SELECT DISTINCT unnest($27::text[]), id FROM parcel",
        Write::UpdateParcel(_) => "UPDATE parcels SET state = $1, incident_kind = $2, compartment_id = $3, deposited_at = $4,
                    pickup_deadline = $5, extensions_used = $6, updated_at = $7, reminders_sent = $10,
                    next_reminder_at = $11, point_id = $12, relocated_from = $13,
                    pickup_seal = CASE WHEN $14 THEN pickup_seal END, version = version + 1
                 WHERE id = $8 AND version = $9",
        Write::AppendEvent(_) => "INSERT INTO parcel_events (parcel_id, kind, from_state, to_state, incident_kind, actor_kind, actor_ref,
                reason, compartment_id, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        Write::AppendOutbox(_) => "INSERT INTO outbox (id, topic, parcel_id, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
        Write::PutAttemptCounter { expected_version: None, .. } => "INSERT INTO pickup_attempts (scope_key, failures, window_started_at, locked_until, version, probed_at)
             VALUES ($1, $2, $3, $4, 1, $5)",
        Write::PutAttemptCounter { expected_version: Some(_), .. } => "UPDATE pickup_attempts SET failures = $1, window_started_at = $2, locked_until = $3,
                    probed_at = $6, version = version + 1
                 WHERE scope_key = $4 AND version = $5",
        Write::InsertApiKey(_) => "INSERT INTO api_keys (id, role, merchant_id, point_id, label, digest, created_at, carrier_id, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        Write::SetPickupSecrets { .. } => {
            "UPDATE parcels SET code_digest = $1, qr_digest = $2, pickup_seal = $4 WHERE id = $3"
        }
        Write::RevokeApiKey { .. } => "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        // One statement for the carrier and its networks: a commit sends one statement per write.
        Write::InsertCarrier(_) => "WITH carrier AS (INSERT INTO carriers (id, name, created_at) VALUES ($1, $2, $3))
             INSERT INTO carrier_networks (carrier_id, network_id) SELECT $1, unnest($4::uuid[])",
        // The networks no longer served go, the new ones come; those kept stay (one statement sees one
        // snapshot, so deleting and inserting the same row there would clash).
        Write::SetCarrierNetworks { .. } => "WITH gone AS (
                DELETE FROM carrier_networks WHERE carrier_id = $1 AND NOT (network_id = ANY($2::uuid[])))
             INSERT INTO carrier_networks (carrier_id, network_id) SELECT $1, unnest($2::uuid[])
             ON CONFLICT DO NOTHING",
        Write::InsertDropOffSession(_) => "INSERT INTO drop_off_sessions (id, point_id, carrier_key_id, opened_at, closed_at, version, purpose)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        Write::UpdateDropOffSession(_) => "UPDATE drop_off_sessions SET closed_at = $1, version = version + 1 WHERE id = $2 AND version = $3",
        Write::InsertDropOffItem(_) => "INSERT INTO drop_off_items (session_id, parcel_id, parcel_number, compartment_id, label, state, reason,
                relocation_point_id, scanned_at, done_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        Write::UpdateDropOffItem(_) => "UPDATE drop_off_items SET compartment_id = $1, label = $2, state = $3, reason = $4,
                relocation_point_id = $5, done_at = $6, version = version + 1
             WHERE session_id = $7 AND parcel_id = $8 AND version = $9",
        Write::InsertDoorCommand(_) => "INSERT INTO door_commands (id, point_id, compartment_id, label, purpose, parcel_id, session_id, reason,
                state, created_at, done_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        Write::UpdateDoorCommand(_) => "UPDATE door_commands SET state = $1, done_at = $2, version = version + 1 WHERE id = $3 AND version = $4",
        Write::PutDeviceStatus(_) => "INSERT INTO device_status (point_id, key_id, last_seen_at, doors, firmware, offline_since)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (point_id) DO UPDATE SET key_id = excluded.key_id, last_seen_at = excluded.last_seen_at,
                doors = excluded.doors, firmware = excluded.firmware, offline_since = excluded.offline_since",
        Write::MarkDeviceOffline { .. } => "UPDATE device_status SET offline_since = $1
             WHERE point_id = $2 AND last_seen_at = $3 AND offline_since IS NULL",
        Write::AppendAudit(_) => "INSERT INTO audit_log (at, actor_kind, actor_ref, action, point_id, compartment_id, parcel_id, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        Write::Messages(m) => super::outbox::sql_of(m),
        Write::Orders(OrderWrite::Insert(_)) => "INSERT INTO orders (id, merchant_id, reference, idempotency_key,
                request_digest, customer_name, customer_phone, customer_email, customer_language, chosen_point_id,
                point_id, service_level, shipping_price_cents, currency, lines, fallback, state, reason, created_at,
                updated_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
        Write::Orders(OrderWrite::Update(_)) => "UPDATE orders SET point_id = $2, state = $3, reason = $4,
                updated_at = $5, version = version + 1
             WHERE id = $1 AND version = $6",
        Write::Orders(OrderWrite::LinkParcel { .. }) => {
            "INSERT INTO order_parcels (order_id, parcel_id, shipment) VALUES ($1, $2, $3)"
        }
        Write::Orders(OrderWrite::PutConnector(_)) => "INSERT INTO shop_connectors (merchant_id, platform, secret_seal,
                length_mm, width_mm, height_mm, weight_g, updated_at, api_url, api_username, api_token_seal)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (merchant_id, platform) DO UPDATE SET secret_seal = excluded.secret_seal,
                length_mm = excluded.length_mm, width_mm = excluded.width_mm, height_mm = excluded.height_mm,
                weight_g = excluded.weight_g, updated_at = excluded.updated_at, api_url = excluded.api_url,
                api_username = excluded.api_username, api_token_seal = excluded.api_token_seal",
        Write::Orders(OrderWrite::PutShopWriteBack(_)) => "INSERT INTO shop_orders (order_id, merchant_id, platform,
                shop_order_id, stage, shop_ref, attempts, next_attempt_at, last_error, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (order_id) DO UPDATE SET stage = excluded.stage, shop_ref = excluded.shop_ref,
                attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at,
                last_error = excluded.last_error, updated_at = excluded.updated_at",
        Write::Tracking(TrackingWrite::Put(_)) => "INSERT INTO parcel_trackings (parcel_id, merchant_id, carrier,
                tracking_number, status, last_event_at, next_poll_at, quiet_polls, failures, last_error, service_days,
                shipping_price_cents, currency, declared_value_cents, service_level, shipped_on, due_on, delivered_at,
                delay_told_at, delay_reason, next_review_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                $22, $23)
             ON CONFLICT (parcel_id) DO UPDATE SET carrier = excluded.carrier,
                tracking_number = excluded.tracking_number, status = excluded.status,
                last_event_at = excluded.last_event_at, next_poll_at = excluded.next_poll_at,
                quiet_polls = excluded.quiet_polls, failures = excluded.failures, last_error = excluded.last_error,
                service_days = excluded.service_days, shipping_price_cents = excluded.shipping_price_cents,
                currency = excluded.currency, declared_value_cents = excluded.declared_value_cents,
                service_level = excluded.service_level, shipped_on = excluded.shipped_on, due_on = excluded.due_on,
                delivered_at = excluded.delivered_at, delay_told_at = excluded.delay_told_at,
                delay_reason = excluded.delay_reason, next_review_at = excluded.next_review_at,
                updated_at = excluded.updated_at",
        Write::Console(ConsoleWrite::InsertAccount(_)) => "INSERT INTO console_accounts (id, email, name, role,
                merchant_id, password_hash, created_at, disabled_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        Write::Console(ConsoleWrite::InsertSession { .. }) => {
            "INSERT INTO console_sessions (token_digest, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)"
        }
        Write::Console(ConsoleWrite::DeleteSession { .. }) => "DELETE FROM console_sessions WHERE token_digest = $1",
        Write::Console(ConsoleWrite::InsertEnrolment(_)) => "INSERT INTO device_enrolments (token_digest, point_id, label,
                created_by, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        Write::Console(ConsoleWrite::UseEnrolment { .. }) => {
            "UPDATE device_enrolments SET used_at = $1 WHERE token_digest = $2 AND used_at IS NULL"
        }
        Write::Console(ConsoleWrite::IndexContacts { .. }) => "INSERT INTO parcel_contacts (digest, parcel_id)
             SELECT DISTINCT unnest($1::text[]), $2::uuid ON CONFLICT DO NOTHING",
        Write::Console(ConsoleWrite::Acknowledge(_)) => "INSERT INTO alert_acknowledgements (key, by_name, comment, at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING",
        Write::Claims(ClaimWrite::Insert(_)) => "INSERT INTO claims (id, parcel_id, merchant_id, carrier, kind, state,
                late_days, amount_claimed_cents, currency, amount_accepted_cents, reason, occurred_at, deadline_at,
                next_reminder_at, created_at, updated_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1)",
        Write::Claims(ClaimWrite::Update(_)) => "UPDATE claims SET state = $1, late_days = $2,
                amount_claimed_cents = $3, amount_accepted_cents = $4, reason = $5, deadline_at = $6,
                next_reminder_at = $7, updated_at = $8, version = version + 1
             WHERE id = $9 AND version = $10",
        // The file stored once whoever sends it again, then linked to the claim: one statement.
        Write::Claims(ClaimWrite::AddEvidence { .. }) => "WITH stored AS (
                INSERT INTO evidence (sha256, content_type, size_bytes, bytes, created_at)
                VALUES ($2, $3, $4, $5, $7) ON CONFLICT DO NOTHING)
             INSERT INTO claim_evidence (claim_id, sha256, added_by, added_at) VALUES ($1, $2, $6, $7)
             ON CONFLICT DO NOTHING",
        // All the events of an answer in one statement.
        Write::Tracking(TrackingWrite::AppendEvents { .. }) => "INSERT INTO carrier_events (parcel_id, at, code,
                offset_seconds, carrier, description, status, place, received_at)
             SELECT $1, e.at, e.code, e.offset_seconds, $2, e.description, e.status, e.place, $3
             FROM UNNEST($4::timestamptz[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[])
                AS e (at, code, offset_seconds, description, status, place)
             ON CONFLICT DO NOTHING",
        Write::Orders(OrderWrite::PutCustomerPoint { .. }) => "INSERT INTO customer_points (merchant_id, contact_digest,
                point_id, used_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (merchant_id, contact_digest) DO UPDATE SET point_id = excluded.point_id,
                used_at = excluded.used_at",
        Write::Numbers(NumberWrite::PutSeries { .. }) => {
            "INSERT INTO number_series (id, definition, next_serial, version, updated_at) VALUES ($1, $2, $4, 1, $3)
             ON CONFLICT (id) DO UPDATE SET
                next_serial = CASE WHEN number_series.definition = excluded.definition
                    THEN number_series.next_serial ELSE excluded.next_serial END,
                definition = excluded.definition, version = number_series.version + 1, updated_at = excluded.updated_at"
        }
        // The block recorded only if the series was still at its version: one statement, one count.
        Write::Numbers(NumberWrite::TakeBlock { .. }) => "WITH taken AS (
                UPDATE number_series SET next_serial = $4::bigint + $5::bigint, version = version + 1,
                    updated_at = $6::timestamptz
                WHERE id = $1 AND version = $2 RETURNING id)
             INSERT INTO number_blocks (definition, start_serial, serials, taken_at)
             SELECT $3::text, $4::bigint, $5::bigint, $6::timestamptz FROM taken",
    }
}

pub(super) async fn apply(c: &Client, write: &Write) -> Result<(), CommitError> {
    let sql = sql_of(write);
    match write {
        Write::InsertNetwork(n) => exec(
            c,
            sql,
            &[
                &uuid(n.id),
                &n.name,
                &big(n.rules.hold_window_hours),
                &big(n.rules.extension_count_max),
                &big(n.rules.extension_hours),
                &big(n.rules.extension_earliest_after_deposit_hours),
                &offsets_to_text(&n.rules.reminder_offsets_hours),
                &big(n.rules.reservation_hours),
                &n.created_at,
                &n.rules.label_layout.as_str(),
            ],
        )
        .await
        .map(drop),
        Write::InsertMerchant(m) => exec(c, sql, &[&uuid(m.id), &m.name, &m.created_at]).await.map(drop),
        Write::InsertPoint(p) => {
            let fields: [Box<dyn ToSql + Send + Sync>; 19] = crate::rows::registry_fields!(p, big, |t| t);
            let mut args: Vec<Param<'_>> = fields.iter().map(|f| f.as_ref() as Param<'_>).collect();
            let (point, network, occupied) = (uuid(p.id), uuid(p.network_id), big(p.shelf_occupied));
            args.extend([&point as Param<'_>, &network, &p.external_id, &occupied, &p.created_at, &p.version]);
            exec(c, sql, &args).await.map(drop)
        }
        Write::UpdatePoint(p) => {
            let fields: [Box<dyn ToSql + Send + Sync>; 19] = crate::rows::registry_fields!(p, big, |t| t);
            let mut args: Vec<Param<'_>> = fields.iter().map(|f| f.as_ref() as Param<'_>).collect();
            let point = uuid(p.id);
            args.push(&point);
            exec_versioned(c, sql, &args).await
        }
        Write::InsertImport(i) => exec(
            c,
            sql,
            &[
                &uuid(i.id),
                &uuid(i.network_id),
                &i.format,
                &i.source,
                &i.at,
                &i.status.as_str(),
                &big(i.rows_total),
                &big(i.rows_refused),
                &big(i.changes[0]),
                &big(i.changes[1]),
                &big(i.changes[2]),
                &big(i.changes[3]),
                &big(i.changes[4]),
                &big(i.changes[5]),
                &big(i.unchanged),
                &i.problems,
            ],
        )
        .await
        .map(drop),
        Write::RaiseOccupancyAlert(a) => exec(c, sql, &[&uuid(a.point_id), &a.raised_at, &a.rate]).await.map(drop),
        Write::ClearOccupancyAlert(point_id) => exec(c, sql, &[&uuid(*point_id)]).await.map(drop),
        Write::AppendPointChange(change) => exec(
            c,
            sql,
            &[
                &uuid(change.point_id),
                &change.import_id.map(uuid),
                &change.at,
                &change.kind.as_str(),
                &fields_to_text(&change.fields),
            ],
        )
        .await
        .map(drop),
        Write::InsertCompartment(k) => {
            let (state, parcel, until) = compartment_columns(&k.state);
            let parcel = parcel.map(uuid);
            exec(
                c,
                sql,
                &[
                    &uuid(k.id),
                    &uuid(k.point_id),
                    &k.label,
                    &k.size.as_str(),
                    &state,
                    &parcel,
                    &until,
                    &k.version,
                    &k.fault.map(DoorFault::as_str),
                ],
            )
            .await
            .map(drop)
        }
        Write::UpdateCompartment(k) => {
            let (state, parcel, until) = compartment_columns(&k.state);
            let parcel = parcel.map(uuid);
            let fault = k.fault.map(DoorFault::as_str);
            let sharers = sharers_to_text(&k.sharers);
            exec_versioned(c, sql, &[&state, &parcel, &until, &uuid(k.id), &k.version, &fault, &sharers]).await
        }
        Write::UpdatePointShelf(p) => exec_versioned(c, sql, &[&big(p.shelf_occupied), &uuid(p.id), &p.version]).await,
        Write::InsertParcel { parcel: p, pickup_seal, contact_digests } => exec(
            c,
            sql,
            &[
                &uuid(p.id),
                &p.number.as_str(),
                &uuid(p.merchant_id),
                &uuid(p.network_id),
                &uuid(p.point_id),
                &p.recipient.name,
                &p.recipient.phone.as_ref().map(Phone::as_str),
                &p.recipient.email.as_ref().map(Email::as_str),
                &big(p.dimensions.length_mm()),
                &big(p.dimensions.width_mm()),
                &big(p.dimensions.height_mm()),
                &big(p.weight.grams()),
                &p.state.as_str(),
                &p.state.incident_kind().map(|k| k.as_str()),
                &p.compartment_id.map(uuid),
                &&p.secrets.code[..],
                &&p.secrets.qr[..],
                &p.deposited_at,
                &p.pickup_deadline,
                &big(p.extensions_used),
                &p.created_at,
                &p.updated_at,
                &p.version,
                &p.carrier_id.map(uuid),
                pickup_seal,
                &p.recipient.language.as_str(),
                contact_digests,
            ],
        )
        .await
        .map(drop),
        Write::UpdateParcel(p) => {
            exec_versioned(
                c,
                sql,
                &[
                    &p.state.as_str(),
                    &p.state.incident_kind().map(|k| k.as_str()),
                    &p.compartment_id.map(uuid),
                    &p.deposited_at,
                    &p.pickup_deadline,
                    &big(p.extensions_used),
                    &p.updated_at,
                    &uuid(p.id),
                    &p.version,
                    &big(p.reminders_sent),
                    &p.next_reminder_at,
                    &uuid(p.point_id),
                    &p.relocated_from.map(uuid),
                    &p.state.holds_live_code(),
                ],
            )
            .await
        }
        Write::AppendEvent(e) => exec(
            c,
            sql,
            &[
                &uuid(e.parcel_id),
                &e.kind.as_str(),
                &e.from.map(ParcelState::as_str),
                &e.to.as_str(),
                &e.to.incident_kind().map(|k| k.as_str()),
                &e.actor.kind.as_str(),
                &e.actor.reference,
                &e.reason,
                &e.compartment_id.map(uuid),
                &e.at,
            ],
        )
        .await
        .map(drop),
        Write::AppendOutbox(m) => {
            exec(c, sql, &[&uuid(m.id), &m.topic, &m.parcel_id.map(uuid), &m.payload, &m.created_at]).await.map(drop)
        }
        Write::PutAttemptCounter { scope, counter, expected_version: None } => exec(
            c,
            sql,
            &[
                &scope.key(),
                &big(counter.failures),
                &counter.window_started_at,
                &counter.locked_until,
                &counter.probed_at,
            ],
        )
        .await
        .map(drop),
        Write::PutAttemptCounter { scope, counter, expected_version: Some(version) } => {
            exec_versioned(
                c,
                sql,
                &[
                    &big(counter.failures),
                    &counter.window_started_at,
                    &counter.locked_until,
                    &scope.key(),
                    version,
                    &counter.probed_at,
                ],
            )
            .await
        }
        Write::InsertApiKey(k) => exec(
            c,
            sql,
            &[
                &uuid(k.id),
                &k.role.as_str(),
                &k.merchant_id.map(uuid),
                &k.point_id.map(uuid),
                &k.label,
                &&k.digest[..],
                &k.created_at,
                &k.carrier_id.map(uuid),
                &k.revoked_at,
            ],
        )
        .await
        .map(drop),
        Write::SetPickupSecrets { parcel_id, secrets, pickup_seal } => {
            exec_versioned(c, sql, &[&&secrets.code[..], &&secrets.qr[..], &uuid(*parcel_id), pickup_seal]).await
        }
        Write::RevokeApiKey { id, at } => exec_versioned(c, sql, &[at, &uuid(*id)]).await,
        Write::InsertCarrier(carrier) => {
            let networks: Vec<Uuid> = carrier.networks.iter().map(|n| n.uuid()).collect();
            exec(c, sql, &[&uuid(carrier.id), &carrier.name, &carrier.created_at, &networks]).await.map(drop)
        }
        Write::SetCarrierNetworks { carrier_id, networks } => {
            let networks: Vec<Uuid> = networks.iter().map(|n| n.uuid()).collect();
            exec(c, sql, &[&uuid(*carrier_id), &networks]).await.map(drop)
        }
        Write::InsertDropOffSession(d) => exec(
            c,
            sql,
            &[
                &uuid(d.id),
                &uuid(d.point_id),
                &uuid(d.carrier_key_id),
                &d.opened_at,
                &d.closed_at,
                &d.version,
                &d.purpose.as_str(),
            ],
        )
        .await
        .map(drop),
        Write::UpdateDropOffSession(d) => exec_versioned(c, sql, &[&d.closed_at, &uuid(d.id), &d.version]).await,
        Write::InsertDropOffItem(i) => exec(
            c,
            sql,
            &[
                &uuid(i.session_id),
                &uuid(i.parcel_id),
                &i.parcel_number,
                &i.compartment_id.map(uuid),
                &i.label,
                &i.state.as_str(),
                &i.reason,
                &i.relocation_point_id.map(uuid),
                &i.scanned_at,
                &i.done_at,
                &i.version,
            ],
        )
        .await
        .map(drop),
        Write::UpdateDropOffItem(i) => {
            exec_versioned(
                c,
                sql,
                &[
                    &i.compartment_id.map(uuid),
                    &i.label,
                    &i.state.as_str(),
                    &i.reason,
                    &i.relocation_point_id.map(uuid),
                    &i.done_at,
                    &uuid(i.session_id),
                    &uuid(i.parcel_id),
                    &i.version,
                ],
            )
            .await
        }
        Write::InsertDoorCommand(d) => exec(
            c,
            sql,
            &[
                &uuid(d.id),
                &uuid(d.point_id),
                &uuid(d.compartment_id),
                &d.label,
                &d.purpose.as_str(),
                &d.parcel_id.map(uuid),
                &d.session_id.map(uuid),
                &d.reason,
                &d.state.as_str(),
                &d.created_at,
                &d.done_at,
                &d.version,
            ],
        )
        .await
        .map(drop),
        Write::UpdateDoorCommand(d) => {
            exec_versioned(c, sql, &[&d.state.as_str(), &d.done_at, &uuid(d.id), &d.version]).await
        }
        Write::PutDeviceStatus(d) => exec(
            c,
            sql,
            &[
                &uuid(d.point_id),
                &uuid(d.key_id),
                &d.last_seen_at,
                &doors_to_text(&d.doors),
                &d.firmware,
                &d.offline_since,
            ],
        )
        .await
        .map(drop),
        Write::MarkDeviceOffline { point_id, last_seen_at, at } => {
            exec_versioned(c, sql, &[at, &uuid(*point_id), last_seen_at]).await
        }
        Write::AppendAudit(a) => exec(
            c,
            sql,
            &[
                &a.at,
                &a.actor.kind.as_str(),
                &a.actor.reference,
                &a.action.as_str(),
                &a.point_id.map(uuid),
                &a.compartment_id.map(uuid),
                &a.parcel_id.map(uuid),
                &a.reason,
            ],
        )
        .await
        .map(drop),
        Write::Messages(m) => super::outbox::apply(c, sql, m).await,
        Write::Orders(OrderWrite::Insert(o)) => {
            let lines = crate::rows::order_lines_text(&o.lines);
            let args: [Param<'_>; 21] = [
                &uuid(o.id),
                &uuid(o.merchant_id),
                &o.reference,
                &o.idempotency_key,
                &o.request_digest,
                &o.customer.name,
                &o.customer.phone.as_ref().map(|p| p.as_str()),
                &o.customer.email.as_ref().map(|e| e.as_str()),
                &o.customer.language.as_str(),
                &uuid(o.chosen_point_id),
                &o.point_id.map(uuid),
                &o.service_level,
                &o.shipping_price_cents,
                &o.currency,
                &lines,
                &o.fallback.as_str(),
                &o.state.as_str(),
                &o.reason,
                &o.created_at,
                &o.updated_at,
                &o.version,
            ];
            exec(c, sql, &args).await.map(drop)
        }
        Write::Orders(OrderWrite::Update(o)) => {
            let args: [Param<'_>; 6] =
                [&uuid(o.id), &o.point_id.map(uuid), &o.state.as_str(), &o.reason, &o.updated_at, &o.version];
            exec_versioned(c, sql, &args).await
        }
        Write::Orders(OrderWrite::LinkParcel { order_id, parcel_id, shipment }) => {
            let shipment = i32::try_from(*shipment).map_err(|e| CommitError::Store(StoreError::new(e)))?;
            exec(c, sql, &[&uuid(*order_id), &uuid(*parcel_id), &shipment]).await.map(drop)
        }
        Write::Orders(OrderWrite::PutConnector(k)) => {
            let (url, username, seal) = match &k.api {
                Some(a) => (Some(&a.url), a.username.as_ref(), Some(&a.token_seal)),
                None => (None, None, None),
            };
            let args: [Param<'_>; 11] = [
                &uuid(k.merchant_id),
                &k.platform,
                &k.secret_seal,
                &k.length_mm,
                &k.width_mm,
                &k.height_mm,
                &k.weight_g,
                &k.updated_at,
                &url,
                &username,
                &seal,
            ];
            exec(c, sql, &args).await.map(drop)
        }
        Write::Tracking(TrackingWrite::Put(t)) => {
            let (quiet, failures) = (big(t.quiet_polls), big(t.failures));
            let service_days = t.promise.as_ref().map(|p| big(p.service_days));
            let price = t.promise.as_ref().map(|p| p.shipping_price_cents);
            let currency = t.promise.as_ref().map(|p| p.currency.clone());
            let declared = t.promise.as_ref().and_then(|p| p.declared_value_cents);
            let level = t.promise.as_ref().and_then(|p| p.service_level.clone());
            let (shipped_on, due_on) = (date_text(t.shipped_on), date_text(t.due_on));
            let args: [Param<'_>; 23] = [
                &uuid(t.parcel_id),
                &uuid(t.merchant_id),
                &t.carrier,
                &t.tracking_number,
                &t.status,
                &t.last_event_at,
                &t.next_poll_at,
                &quiet,
                &failures,
                &t.last_error,
                &service_days,
                &price,
                &currency,
                &declared,
                &level,
                &shipped_on,
                &due_on,
                &t.delivered_at,
                &t.delay_told_at,
                &t.delay_reason,
                &t.next_review_at,
                &t.created_at,
                &t.updated_at,
            ];
            exec(c, sql, &args).await.map(drop)
        }
        Write::Console(ConsoleWrite::InsertAccount(a)) => {
            let merchant = a.merchant_id.map(uuid);
            let args: [Param<'_>; 8] = [
                &uuid(a.id),
                &a.email,
                &a.name,
                &a.role.as_str(),
                &merchant,
                &a.password_hash,
                &a.created_at,
                &a.disabled_at,
            ];
            exec(c, sql, &args).await.map(drop)
        }
        Write::Console(ConsoleWrite::InsertSession { token_digest, account_id, created_at, expires_at }) => {
            let digest = token_digest.as_slice();
            let args: [Param<'_>; 4] = [&digest, &uuid(*account_id), created_at, expires_at];
            exec(c, sql, &args).await.map(drop)
        }
        Write::Console(ConsoleWrite::DeleteSession { token_digest }) => {
            let digest = token_digest.as_slice();
            exec(c, sql, &[&digest]).await.map(drop)
        }
        Write::Console(ConsoleWrite::InsertEnrolment(e)) => {
            let digest = e.token_digest.as_slice();
            let args: [Param<'_>; 6] =
                [&digest, &uuid(e.point_id), &e.label, &e.created_by, &e.created_at, &e.expires_at];
            exec(c, sql, &args).await.map(drop)
        }
        Write::Console(ConsoleWrite::UseEnrolment { token_digest, at }) => {
            let digest = token_digest.as_slice();
            exec_versioned(c, sql, &[at, &digest]).await
        }
        Write::Console(ConsoleWrite::IndexContacts { parcel_id, digests }) => {
            exec(c, sql, &[digests, &uuid(*parcel_id)]).await.map(drop)
        }
        Write::Console(ConsoleWrite::Acknowledge(a)) => {
            exec(c, sql, &[&a.key, &a.by, &a.comment, &a.at]).await.map(drop)
        }
        Write::Claims(ClaimWrite::Insert(k)) => {
            let late = big(k.late_days);
            let args: [Param<'_>; 16] = [
                &uuid(k.id),
                &uuid(k.parcel_id),
                &uuid(k.merchant_id),
                &k.carrier,
                &k.kind.as_str(),
                &k.state.as_str(),
                &late,
                &k.amount_claimed_cents,
                &k.currency,
                &k.amount_accepted_cents,
                &k.reason,
                &k.occurred_at,
                &k.deadline_at,
                &k.next_reminder_at,
                &k.created_at,
                &k.updated_at,
            ];
            exec(c, sql, &args).await.map(drop)
        }
        Write::Claims(ClaimWrite::Update(k)) => {
            let late = big(k.late_days);
            let args: [Param<'_>; 10] = [
                &k.state.as_str(),
                &late,
                &k.amount_claimed_cents,
                &k.amount_accepted_cents,
                &k.reason,
                &k.deadline_at,
                &k.next_reminder_at,
                &k.updated_at,
                &uuid(k.id),
                &k.version,
            ];
            exec_versioned(c, sql, &args).await
        }
        Write::Claims(ClaimWrite::AddEvidence { claim_id, evidence, added_by, at }) => {
            let size = i64::try_from(evidence.bytes.len()).unwrap_or(i64::MAX);
            let args: [Param<'_>; 7] =
                [&uuid(*claim_id), &evidence.sha256, &evidence.content_type, &size, &evidence.bytes, added_by, at];
            exec(c, sql, &args).await.map(drop)
        }
        Write::Tracking(TrackingWrite::AppendEvents { parcel_id, carrier, events, received_at }) => {
            let at: Vec<chrono::DateTime<chrono::Utc>> = events.iter().map(|e| e.at.to_utc()).collect();
            let codes: Vec<&str> = events.iter().map(|e| e.code.as_str()).collect();
            let offsets: Vec<i64> = events.iter().map(|e| i64::from(e.at.offset().local_minus_utc())).collect();
            let descriptions: Vec<&str> = events.iter().map(|e| e.description.as_str()).collect();
            let statuses: Vec<&str> = events.iter().map(|e| e.status.as_str()).collect();
            let places: Vec<Option<&str>> = events.iter().map(|e| e.place.as_deref()).collect();
            let args: [Param<'_>; 9] =
                [&uuid(*parcel_id), carrier, received_at, &at, &codes, &offsets, &descriptions, &statuses, &places];
            exec(c, sql, &args).await.map(drop)
        }
        Write::Orders(OrderWrite::PutShopWriteBack(o)) => {
            let attempts = i64::from(o.attempts);
            let args: [Param<'_>; 10] = [
                &uuid(o.order_id),
                &uuid(o.merchant_id),
                &o.platform,
                &o.shop_order_id,
                &o.stage,
                &o.shop_ref,
                &attempts,
                &o.next_attempt_at,
                &o.last_error,
                &o.updated_at,
            ];
            exec(c, sql, &args).await.map(drop)
        }
        Write::Orders(OrderWrite::PutCustomerPoint { merchant_id, contact_digest, point_id, at }) => {
            exec(c, sql, &[&uuid(*merchant_id), contact_digest, &uuid(*point_id), at]).await.map(drop)
        }
        Write::Numbers(NumberWrite::PutSeries { id, definition, next_serial, at }) => {
            let next = i64::try_from(*next_serial).map_err(|e| CommitError::Store(StoreError::new(e)))?;
            exec(c, sql, &[id, definition, at, &next]).await.map(drop)
        }
        Write::Numbers(NumberWrite::TakeBlock { series_id, version, definition, start, serials, at }) => {
            let serial = |n: u64| i64::try_from(n).map_err(|e| CommitError::Store(StoreError::new(e)));
            let (start, serials) = (serial(*start)?, serial(*serials)?);
            exec_versioned(c, sql, &[series_id, version, definition, &start, &serials, at]).await
        }
    }
}

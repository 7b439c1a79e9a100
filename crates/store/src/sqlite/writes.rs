//! What each write runs on the writer's connection: one statement (two for a parcel update), its
//! parameters in SQLite's encoding (ids as 16-byte blobs, instants as microseconds since the epoch).
//! A constraint error names the unique key it is about (`CommitError::Duplicate`); a versioned update
//! that matches no row is a lost race (`CommitError::Conflict`).

use relais_app::ports::{
    ClaimWrite, CommitError, ConsoleWrite, NumberWrite, OrderWrite, StoreError, TrackingWrite, Write,
};
use relais_domain::Timestamp;
use relais_domain::compartment::DoorFault;
use relais_domain::ids::{CarrierId, Id, NetworkId};
use relais_domain::parcel::ParcelState;
use relais_domain::value::{Email, Phone};
use rusqlite::types::ToSql;
use rusqlite::{Connection, params};

use crate::duplicate_what;
use crate::rows::{compartment_columns, date_text, doors_to_text, fields_to_text, offsets_to_text, sharers_to_text};

const INSERT_POINT: &str = "INSERT INTO pickup_points (kind, name, address_line1, address_line2, postcode, city,
        country, latitude, longitude, timezone, status, shelf_capacity, weight_max_g, dimensions_sum_max_mm,
        opening_hours, closures, services, source, updated_at, id, network_id, external_id, shelf_occupied,
        created_at, version)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23,
        ?24, ?25)";

const UPDATE_POINT: &str = "UPDATE pickup_points SET kind = ?1, name = ?2, address_line1 = ?3, address_line2 = ?4,
        postcode = ?5, city = ?6, country = ?7, latitude = ?8, longitude = ?9, timezone = ?10, status = ?11,
        shelf_capacity = ?12, weight_max_g = ?13, dimensions_sum_max_mm = ?14, opening_hours = ?15, closures = ?16,
        services = ?17, source = ?18, updated_at = ?19, version = version + 1
     WHERE id = ?20";

pub(super) fn exec(c: &Connection, sql: &str, args: &[&dyn ToSql]) -> Result<usize, CommitError> {
    let mut statement = c.prepare_cached(sql).map_err(|e| CommitError::Store(StoreError::new(e)))?;
    statement.execute(args).map_err(|e| match &e {
        rusqlite::Error::SqliteFailure(f, Some(message)) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            match duplicate_what(message) {
                Some(what) => CommitError::Duplicate { what },
                None => CommitError::Store(StoreError::new(&e)),
            }
        }
        _ => CommitError::Store(StoreError::new(&e)),
    })
}

/// Runs a versioned update: no row changed means the row moved on since it was read.
pub(super) fn exec_versioned(c: &Connection, sql: &str, args: &[&dyn ToSql]) -> Result<(), CommitError> {
    match exec(c, sql, args)? {
        1 => Ok(()),
        _ => Err(CommitError::Conflict),
    }
}

/// One write, on the writer's connection; `payloads` yields the text of each outbox message in turn.
pub(super) fn apply<'a>(
    c: &Connection,
    write: &Write,
    payloads: &mut impl Iterator<Item = &'a str>,
) -> Result<(), CommitError> {
    match write {
        Write::InsertNetwork(n) => exec(
            c,
            "INSERT INTO networks (id, name, hold_window_hours, extension_count_max, extension_hours,
                extension_earliest_after_deposit_hours, reminder_offsets_hours, reservation_hours, created_at,
                label_layout)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                id(n.id),
                n.name,
                n.rules.hold_window_hours,
                n.rules.extension_count_max,
                n.rules.extension_hours,
                n.rules.extension_earliest_after_deposit_hours,
                offsets_to_text(&n.rules.reminder_offsets_hours),
                n.rules.reservation_hours,
                micros(n.created_at),
                n.rules.label_layout.as_str()
            ],
        )
        .map(drop),
        Write::InsertMerchant(m) => exec(
            c,
            "INSERT INTO merchants (id, name, created_at) VALUES (?1, ?2, ?3)",
            params![id(m.id), m.name, micros(m.created_at)],
        )
        .map(drop),
        Write::InsertPoint(p) => {
            let fields: [Box<dyn ToSql>; 19] = crate::rows::registry_fields!(p, u32::from, micros);
            let mut args: Vec<&dyn ToSql> = fields.iter().map(|f| f.as_ref()).collect();
            let (point, network, created) = (id(p.id), id(p.network_id), micros(p.created_at));
            args.extend([&point as &dyn ToSql, &network, &p.external_id, &p.shelf_occupied, &created, &p.version]);
            exec(c, INSERT_POINT, &args).map(drop)
        }
        Write::InsertCompartment(k) => {
            let (state, parcel, until) = compartment_columns(&k.state);
            let (parcel, until) = (parcel.map(id), until.map(micros));
            exec(
                c,
                "INSERT INTO compartments (id, point_id, label, size, state, parcel_id, reserved_until, version, fault)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    id(k.id),
                    id(k.point_id),
                    k.label,
                    k.size.as_str(),
                    state,
                    parcel,
                    until,
                    k.version,
                    k.fault.map(DoorFault::as_str)
                ],
            )
            .map(drop)
        }
        Write::UpdateCompartment(k) => {
            let (state, parcel, until) = compartment_columns(&k.state);
            let (parcel, until) = (parcel.map(id), until.map(micros));
            exec_versioned(
                c,
                "UPDATE compartments SET state = ?1, parcel_id = ?2, reserved_until = ?3, fault = ?6, sharers = ?7,
                    version = version + 1
                 WHERE id = ?4 AND version = ?5",
                params![
                    state,
                    parcel,
                    until,
                    id(k.id),
                    k.version,
                    k.fault.map(DoorFault::as_str),
                    sharers_to_text(&k.sharers)
                ],
            )
        }
        Write::UpdatePointShelf(p) => exec_versioned(
            c,
            "UPDATE pickup_points SET shelf_occupied = ?1, version = version + 1 WHERE id = ?2 AND version = ?3",
            params![p.shelf_occupied, id(p.id), p.version],
        ),
        Write::UpdatePoint(p) => {
            let fields: [Box<dyn ToSql>; 19] = crate::rows::registry_fields!(p, u32::from, micros);
            let mut args: Vec<&dyn ToSql> = fields.iter().map(|f| f.as_ref()).collect();
            let point = id(p.id);
            args.push(&point);
            exec_versioned(c, UPDATE_POINT, &args)
        }
        Write::InsertImport(i) => exec(
            c,
            "INSERT INTO point_imports (id, network_id, format, source, at, status, rows_total, rows_refused, added,
                changed, moved, closed, reopened, removed, unchanged, problems)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                id(i.id),
                id(i.network_id),
                i.format,
                i.source,
                micros(i.at),
                i.status.as_str(),
                i.rows_total,
                i.rows_refused,
                i.changes[0],
                i.changes[1],
                i.changes[2],
                i.changes[3],
                i.changes[4],
                i.changes[5],
                i.unchanged,
                i.problems
            ],
        )
        .map(drop),
        Write::AppendPointChange(change) => exec(
            c,
            "INSERT INTO point_changes (point_id, import_id, at, kind, fields) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id(change.point_id),
                change.import_id.map(id),
                micros(change.at),
                change.kind.as_str(),
                fields_to_text(&change.fields)
            ],
        )
        .map(drop),
        Write::RaiseOccupancyAlert(a) => exec(
            c,
            "INSERT INTO occupancy_alerts (point_id, raised_at, rate) VALUES (?1, ?2, ?3)",
            params![id(a.point_id), micros(a.raised_at), a.rate],
        )
        .map(drop),
        Write::ClearOccupancyAlert(point_id) => {
            exec(c, "DELETE FROM occupancy_alerts WHERE point_id = ?1", params![id(*point_id)]).map(drop)
        }
        Write::InsertParcel { parcel: p, pickup_seal, contact_digests } => {
            for digest in contact_digests {
                exec(
                    c,
                    "INSERT OR IGNORE INTO parcel_contacts (digest, parcel_id) VALUES (?1, ?2)",
                    params![digest, id(p.id)],
                )?;
            }
            exec(
            c,
            "INSERT INTO parcels (id, number, merchant_id, network_id, point_id, recipient_name, recipient_phone,
                recipient_email, length_mm, width_mm, height_mm, weight_g, state, incident_kind, compartment_id,
                code_digest, qr_digest, deposited_at, pickup_deadline, extensions_used, created_at, updated_at, version,
                carrier_id, pickup_seal, recipient_language)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23,
                ?24, ?25, ?26)",
            params![
                id(p.id),
                p.number.as_str(),
                id(p.merchant_id),
                id(p.network_id),
                id(p.point_id),
                p.recipient.name,
                p.recipient.phone.as_ref().map(Phone::as_str),
                p.recipient.email.as_ref().map(Email::as_str),
                p.dimensions.length_mm(),
                p.dimensions.width_mm(),
                p.dimensions.height_mm(),
                p.weight.grams(),
                p.state.as_str(),
                p.state.incident_kind().map(|k| k.as_str()),
                p.compartment_id.map(id),
                &p.secrets.code[..],
                &p.secrets.qr[..],
                p.deposited_at.map(micros),
                p.pickup_deadline.map(micros),
                p.extensions_used,
                micros(p.created_at),
                micros(p.updated_at),
                p.version,
                p.carrier_id.map(id),
                pickup_seal,
                p.recipient.language.as_str()
            ],
        )
        .map(drop)
        }
        Write::UpdateParcel(p) => {
            let args = params![
                p.state.as_str(),
                p.state.incident_kind().map(|k| k.as_str()),
                p.compartment_id.map(id),
                p.deposited_at.map(micros),
                p.pickup_deadline.map(micros),
                p.extensions_used,
                micros(p.updated_at),
                id(p.id),
                p.version,
                p.reminders_sent,
                p.next_reminder_at.map(micros),
                id(p.point_id),
                p.relocated_from.map(id),
                p.state.holds_live_code()
            ];
            // SQLite rewrites every index on a column an UPDATE sets, and checks the foreign key of every
            // such column, whether or not its value changes. A parcel changes point only when relocated,
            // so the usual statement leaves `point_id` and `relocated_from` out (and so the point-keyed
            // indexes and both foreign keys alone); a relocation matches no row there and takes the second.
            let kept_point = exec(
                c,
                "UPDATE parcels SET state = ?1, incident_kind = ?2, compartment_id = ?3, deposited_at = ?4,
                    pickup_deadline = ?5, extensions_used = ?6, updated_at = ?7, reminders_sent = ?10,
                    next_reminder_at = ?11, pickup_seal = CASE WHEN ?14 THEN pickup_seal END, version = version + 1
                 WHERE id = ?8 AND version = ?9 AND point_id = ?12 AND relocated_from IS ?13",
                args,
            )?;
            if kept_point == 1 {
                return Ok(());
            }
            exec_versioned(
                c,
                "UPDATE parcels SET state = ?1, incident_kind = ?2, compartment_id = ?3, deposited_at = ?4,
                    pickup_deadline = ?5, extensions_used = ?6, updated_at = ?7, reminders_sent = ?10,
                    next_reminder_at = ?11, point_id = ?12, relocated_from = ?13,
                    pickup_seal = CASE WHEN ?14 THEN pickup_seal END, version = version + 1
                 WHERE id = ?8 AND version = ?9",
                args,
            )
        }
        Write::AppendEvent(e) => exec(
            c,
            "INSERT INTO parcel_events (parcel_id, kind, from_state, to_state, incident_kind, actor_kind, actor_ref,
                reason, compartment_id, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                id(e.parcel_id),
                e.kind.as_str(),
                e.from.map(ParcelState::as_str),
                e.to.as_str(),
                e.to.incident_kind().map(|k| k.as_str()),
                e.actor.kind.as_str(),
                e.actor.reference,
                e.reason,
                e.compartment_id.map(id),
                micros(e.at)
            ],
        )
        .map(drop),
        Write::AppendOutbox(m) => exec(
            c,
            "INSERT INTO outbox (id, topic, parcel_id, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id(m.id),
                m.topic,
                m.parcel_id.map(id),
                payloads.next().ok_or_else(|| CommitError::Store(StoreError("an outbox message without its text".into())))?,
                micros(m.created_at)
            ],
        )
        .map(drop),
        Write::PutAttemptCounter { scope, counter, expected_version: None } => exec(
            c,
            "INSERT INTO pickup_attempts (scope_key, failures, window_started_at, locked_until, version, probed_at)
             VALUES (?1, ?2, ?3, ?4, 1, ?5)",
            params![
                scope.key(),
                counter.failures,
                micros(counter.window_started_at),
                counter.locked_until.map(micros),
                counter.probed_at.map(micros)
            ],
        )
        .map(drop),
        Write::PutAttemptCounter { scope, counter, expected_version: Some(version) } => exec_versioned(
            c,
            "UPDATE pickup_attempts SET failures = ?1, window_started_at = ?2, locked_until = ?3, probed_at = ?6,
                version = version + 1
             WHERE scope_key = ?4 AND version = ?5",
            params![
                counter.failures,
                micros(counter.window_started_at),
                counter.locked_until.map(micros),
                scope.key(),
                version,
                counter.probed_at.map(micros)
            ],
        ),
        Write::InsertApiKey(k) => exec(
            c,
            "INSERT INTO api_keys (id, role, merchant_id, point_id, label, digest, created_at, carrier_id, revoked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id(k.id),
                k.role.as_str(),
                k.merchant_id.map(id),
                k.point_id.map(id),
                k.label,
                &k.digest[..],
                micros(k.created_at),
                k.carrier_id.map(id),
                k.revoked_at.map(micros)
            ],
        )
        .map(drop),
        Write::SetPickupSecrets { parcel_id, secrets, pickup_seal } => exec_versioned(
            c,
            "UPDATE parcels SET code_digest = ?1, qr_digest = ?2, pickup_seal = ?4 WHERE id = ?3",
            params![&secrets.code[..], &secrets.qr[..], id(*parcel_id), pickup_seal],
        ),
        Write::RevokeApiKey { id: key_id, at } => exec_versioned(
            c,
            "UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            params![micros(*at), id(*key_id)],
        ),
        Write::InsertCarrier(carrier) => {
            exec(
                c,
                "INSERT INTO carriers (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![id(carrier.id), carrier.name, micros(carrier.created_at)],
            )?;
            set_networks(c, carrier.id, &carrier.networks)
        }
        Write::SetCarrierNetworks { carrier_id, networks } => {
            exec(c, "DELETE FROM carrier_networks WHERE carrier_id = ?1", params![id(*carrier_id)])?;
            set_networks(c, *carrier_id, networks)
        }
        Write::InsertDropOffSession(d) => exec(
            c,
            "INSERT INTO drop_off_sessions (id, point_id, carrier_key_id, opened_at, closed_at, version, purpose)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                id(d.id),
                id(d.point_id),
                id(d.carrier_key_id),
                micros(d.opened_at),
                d.closed_at.map(micros),
                d.version,
                d.purpose.as_str()
            ],
        )
        .map(drop),
        Write::UpdateDropOffSession(d) => exec_versioned(
            c,
            "UPDATE drop_off_sessions SET closed_at = ?1, version = version + 1 WHERE id = ?2 AND version = ?3",
            params![d.closed_at.map(micros), id(d.id), d.version],
        ),
        Write::InsertDropOffItem(i) => exec(
            c,
            "INSERT INTO drop_off_items (session_id, parcel_id, parcel_number, compartment_id, label, state, reason,
                relocation_point_id, scanned_at, done_at, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                id(i.session_id),
                id(i.parcel_id),
                i.parcel_number,
                i.compartment_id.map(id),
                i.label,
                i.state.as_str(),
                i.reason,
                i.relocation_point_id.map(id),
                micros(i.scanned_at),
                i.done_at.map(micros),
                i.version
            ],
        )
        .map(drop),
        Write::UpdateDropOffItem(i) => exec_versioned(
            c,
            "UPDATE drop_off_items SET compartment_id = ?1, label = ?2, state = ?3, reason = ?4,
                relocation_point_id = ?5, done_at = ?6, version = version + 1
             WHERE session_id = ?7 AND parcel_id = ?8 AND version = ?9",
            params![
                i.compartment_id.map(id),
                i.label,
                i.state.as_str(),
                i.reason,
                i.relocation_point_id.map(id),
                i.done_at.map(micros),
                id(i.session_id),
                id(i.parcel_id),
                i.version
            ],
        ),
        Write::InsertDoorCommand(d) => exec(
            c,
            "INSERT INTO door_commands (id, point_id, compartment_id, label, purpose, parcel_id, session_id, reason,
                state, created_at, done_at, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                id(d.id),
                id(d.point_id),
                id(d.compartment_id),
                d.label,
                d.purpose.as_str(),
                d.parcel_id.map(id),
                d.session_id.map(id),
                d.reason,
                d.state.as_str(),
                micros(d.created_at),
                d.done_at.map(micros),
                d.version
            ],
        )
        .map(drop),
        Write::UpdateDoorCommand(d) => exec_versioned(
            c,
            "UPDATE door_commands SET state = ?1, done_at = ?2, version = version + 1 WHERE id = ?3 AND version = ?4",
            params![d.state.as_str(), d.done_at.map(micros), id(d.id), d.version],
        ),
        Write::PutDeviceStatus(d) => exec(
            c,
            "INSERT INTO device_status (point_id, key_id, last_seen_at, doors, firmware, offline_since)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (point_id) DO UPDATE SET key_id = excluded.key_id, last_seen_at = excluded.last_seen_at,
                doors = excluded.doors, firmware = excluded.firmware, offline_since = excluded.offline_since",
            params![
                id(d.point_id),
                id(d.key_id),
                micros(d.last_seen_at),
                doors_to_text(&d.doors),
                d.firmware,
                d.offline_since.map(micros)
            ],
        )
        .map(drop),
        Write::MarkDeviceOffline { point_id, last_seen_at, at } => exec_versioned(
            c,
            "UPDATE device_status SET offline_since = ?1
             WHERE point_id = ?2 AND last_seen_at = ?3 AND offline_since IS NULL",
            params![micros(*at), id(*point_id), micros(*last_seen_at)],
        ),
        Write::AppendAudit(a) => exec(
            c,
            "INSERT INTO audit_log (at, actor_kind, actor_ref, action, point_id, compartment_id, parcel_id, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                micros(a.at),
                a.actor.kind.as_str(),
                a.actor.reference,
                a.action.as_str(),
                a.point_id.map(id),
                a.compartment_id.map(id),
                a.parcel_id.map(id),
                a.reason
            ],
        )
        .map(drop),
        Write::Messages(m) => super::outbox::apply(c, m),
        Write::Orders(OrderWrite::Insert(o)) => exec(
            c,
            "INSERT INTO orders (id, merchant_id, reference, idempotency_key, request_digest, customer_name,
                customer_phone, customer_email, customer_language, chosen_point_id, point_id, service_level,
                shipping_price_cents, currency, lines, fallback, state, reason, created_at, updated_at, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
            params![
                id(o.id),
                id(o.merchant_id),
                o.reference,
                o.idempotency_key,
                o.request_digest,
                o.customer.name,
                o.customer.phone.as_ref().map(|p| p.as_str()),
                o.customer.email.as_ref().map(|e| e.as_str()),
                o.customer.language.as_str(),
                id(o.chosen_point_id),
                o.point_id.map(id),
                o.service_level,
                o.shipping_price_cents,
                o.currency,
                crate::rows::order_lines_text(&o.lines),
                o.fallback.as_str(),
                o.state.as_str(),
                o.reason,
                micros(o.created_at),
                micros(o.updated_at),
                o.version
            ],
        )
        .map(drop),
        Write::Orders(OrderWrite::Update(o)) => exec_versioned(
            c,
            "UPDATE orders SET point_id = ?2, state = ?3, reason = ?4, updated_at = ?5, version = version + 1
             WHERE id = ?1 AND version = ?6",
            params![id(o.id), o.point_id.map(id), o.state.as_str(), o.reason, micros(o.updated_at), o.version],
        ),
        Write::Orders(OrderWrite::LinkParcel { order_id, parcel_id, shipment }) => exec(
            c,
            "INSERT INTO order_parcels (order_id, parcel_id, shipment) VALUES (?1, ?2, ?3)",
            params![id(*order_id), id(*parcel_id), shipment],
        )
        .map(drop),
        Write::Orders(OrderWrite::PutConnector(k)) => exec(
            c,
            "INSERT INTO shop_connectors (merchant_id, platform, secret_seal, length_mm, width_mm, height_mm, weight_g,
                updated_at, api_url, api_username, api_token_seal)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (merchant_id, platform) DO UPDATE SET secret_seal = excluded.secret_seal,
                length_mm = excluded.length_mm, width_mm = excluded.width_mm, height_mm = excluded.height_mm,
                weight_g = excluded.weight_g, updated_at = excluded.updated_at, api_url = excluded.api_url,
                api_username = excluded.api_username, api_token_seal = excluded.api_token_seal",
            params![
                id(k.merchant_id),
                k.platform,
                k.secret_seal,
                k.length_mm,
                k.width_mm,
                k.height_mm,
                k.weight_g,
                micros(k.updated_at),
                k.api.as_ref().map(|a| a.url.clone()),
                k.api.as_ref().and_then(|a| a.username.clone()),
                k.api.as_ref().map(|a| a.token_seal.clone())
            ],
        )
        .map(drop),
        Write::Orders(OrderWrite::PutShopWriteBack(o)) => exec(
            c,
            "INSERT INTO shop_orders (order_id, merchant_id, platform, shop_order_id, stage, shop_ref, attempts,
                next_attempt_at, last_error, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (order_id) DO UPDATE SET stage = excluded.stage, shop_ref = excluded.shop_ref,
                attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at,
                last_error = excluded.last_error, updated_at = excluded.updated_at",
            params![
                id(o.order_id),
                id(o.merchant_id),
                o.platform,
                o.shop_order_id,
                o.stage,
                o.shop_ref,
                o.attempts,
                micros(o.next_attempt_at),
                o.last_error,
                micros(o.updated_at)
            ],
        )
        .map(drop),
        Write::Tracking(TrackingWrite::Put(t)) => exec(
            c,
            "INSERT INTO parcel_trackings (parcel_id, merchant_id, carrier, tracking_number, status, last_event_at,
                next_poll_at, quiet_polls, failures, last_error, service_days, shipping_price_cents, currency,
                declared_value_cents, service_level, shipped_on, due_on, delivered_at, delay_told_at, delay_reason,
                next_review_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,
                ?22, ?23)
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
            params![
                id(t.parcel_id),
                id(t.merchant_id),
                t.carrier,
                t.tracking_number,
                t.status,
                t.last_event_at.map(micros),
                t.next_poll_at.map(micros),
                t.quiet_polls,
                t.failures,
                t.last_error,
                t.promise.as_ref().map(|p| p.service_days),
                t.promise.as_ref().map(|p| p.shipping_price_cents),
                t.promise.as_ref().map(|p| p.currency.clone()),
                t.promise.as_ref().and_then(|p| p.declared_value_cents),
                t.promise.as_ref().and_then(|p| p.service_level.clone()),
                date_text(t.shipped_on),
                date_text(t.due_on),
                t.delivered_at.map(micros),
                t.delay_told_at.map(micros),
                t.delay_reason,
                t.next_review_at.map(micros),
                micros(t.created_at),
                micros(t.updated_at)
            ],
        )
        .map(drop),
        Write::Console(ConsoleWrite::InsertAccount(a)) => exec(
            c,
            "INSERT INTO console_accounts (id, email, name, role, merchant_id, password_hash, created_at, disabled_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                id(a.id),
                a.email,
                a.name,
                a.role.as_str(),
                a.merchant_id.map(id),
                a.password_hash,
                micros(a.created_at),
                a.disabled_at.map(micros)
            ],
        )
        .map(drop),
        Write::Console(ConsoleWrite::InsertSession { token_digest, account_id, created_at, expires_at }) => exec(
            c,
            "INSERT INTO console_sessions (token_digest, account_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![token_digest.as_slice(), id(*account_id), micros(*created_at), micros(*expires_at)],
        )
        .map(drop),
        Write::Console(ConsoleWrite::DeleteSession { token_digest }) => exec(
            c,
            "DELETE FROM console_sessions WHERE token_digest = ?1",
            params![token_digest.as_slice()],
        )
        .map(drop),
        Write::Console(ConsoleWrite::InsertEnrolment(e)) => exec(
            c,
            "INSERT INTO device_enrolments (token_digest, point_id, label, created_by, created_at, expires_at, used_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)",
            params![
                e.token_digest.as_slice(),
                id(e.point_id),
                e.label,
                e.created_by,
                micros(e.created_at),
                micros(e.expires_at)
            ],
        )
        .map(drop),
        Write::Console(ConsoleWrite::UseEnrolment { token_digest, at }) => exec_versioned(
            c,
            "UPDATE device_enrolments SET used_at = ?1 WHERE token_digest = ?2 AND used_at IS NULL",
            params![micros(*at), token_digest.as_slice()],
        ),
        Write::Console(ConsoleWrite::IndexContacts { parcel_id, digests }) => {
            for digest in digests {
                exec(
                    c,
                    "INSERT OR IGNORE INTO parcel_contacts (digest, parcel_id) VALUES (?1, ?2)",
                    params![digest, id(*parcel_id)],
                )?;
            }
            Ok(())
        }
        Write::Console(ConsoleWrite::Acknowledge(a)) => exec(
            c,
            "INSERT INTO alert_acknowledgements (key, by_name, comment, at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key) DO NOTHING",
            params![a.key, a.by, a.comment, micros(a.at)],
        )
        .map(drop),
        Write::Claims(ClaimWrite::Insert(k)) => exec(
            c,
            "INSERT INTO claims (id, parcel_id, merchant_id, carrier, kind, state, late_days, amount_claimed_cents,
                currency, amount_accepted_cents, reason, occurred_at, deadline_at, next_reminder_at, created_at,
                updated_at, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 1)",
            params![
                id(k.id),
                id(k.parcel_id),
                id(k.merchant_id),
                k.carrier,
                k.kind.as_str(),
                k.state.as_str(),
                k.late_days,
                k.amount_claimed_cents,
                k.currency,
                k.amount_accepted_cents,
                k.reason,
                micros(k.occurred_at),
                micros(k.deadline_at),
                k.next_reminder_at.map(micros),
                micros(k.created_at),
                micros(k.updated_at)
            ],
        )
        .map(drop),
        Write::Claims(ClaimWrite::Update(k)) => exec_versioned(
            c,
            "UPDATE claims SET state = ?1, late_days = ?2, amount_claimed_cents = ?3, amount_accepted_cents = ?4,
                reason = ?5, deadline_at = ?6, next_reminder_at = ?7, updated_at = ?8, version = version + 1
             WHERE id = ?9 AND version = ?10",
            params![
                k.state.as_str(),
                k.late_days,
                k.amount_claimed_cents,
                k.amount_accepted_cents,
                k.reason,
                micros(k.deadline_at),
                k.next_reminder_at.map(micros),
                micros(k.updated_at),
                id(k.id),
                k.version
            ],
        ),
        Write::Claims(ClaimWrite::AddEvidence { claim_id, evidence, added_by, at }) => {
            exec(
                c,
                "INSERT INTO evidence (sha256, content_type, size_bytes, bytes, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT DO NOTHING",
                params![
                    evidence.sha256,
                    evidence.content_type,
                    i64::try_from(evidence.bytes.len()).unwrap_or(i64::MAX),
                    evidence.bytes,
                    micros(*at)
                ],
            )?;
            exec(
                c,
                "INSERT INTO claim_evidence (claim_id, sha256, added_by, added_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
                params![id(*claim_id), evidence.sha256, added_by, micros(*at)],
            )
            .map(drop)
        }
        Write::Tracking(TrackingWrite::AppendEvents { parcel_id, carrier, events, received_at }) => {
            for event in events {
                exec(
                    c,
                    "INSERT INTO carrier_events (parcel_id, at, code, offset_seconds, carrier, description, status,
                        place, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
                    params![
                        id(*parcel_id),
                        micros(event.at.to_utc()),
                        event.code,
                        event.at.offset().local_minus_utc(),
                        carrier,
                        event.description,
                        event.status.as_str(),
                        event.place,
                        micros(*received_at)
                    ],
                )?;
            }
            Ok(())
        }
        Write::Orders(OrderWrite::PutCustomerPoint { merchant_id, contact_digest, point_id, at }) => exec(
            c,
            "INSERT INTO customer_points (merchant_id, contact_digest, point_id, used_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (merchant_id, contact_digest) DO UPDATE SET point_id = excluded.point_id,
                used_at = excluded.used_at",
            params![id(*merchant_id), contact_digest, id(*point_id), micros(*at)],
        )
        .map(drop),
        Write::Numbers(NumberWrite::PutSeries { id: series_id, definition, next_serial, at }) => exec(
            c,
            "INSERT INTO number_series (id, definition, next_serial, version, updated_at) VALUES (?1, ?2, ?4, 1, ?3)
             ON CONFLICT (id) DO UPDATE SET
                next_serial = CASE WHEN number_series.definition = excluded.definition
                    THEN number_series.next_serial ELSE excluded.next_serial END,
                definition = excluded.definition, version = number_series.version + 1, updated_at = excluded.updated_at",
            params![series_id, definition, micros(*at), serial(*next_serial)?],
        )
        .map(drop),
        Write::Numbers(NumberWrite::TakeBlock { series_id, version, definition, start, serials, at }) => {
            let (start, serials) = (serial(*start)?, serial(*serials)?);
            exec_versioned(
                c,
                "UPDATE number_series SET next_serial = ?3, version = version + 1, updated_at = ?4
                 WHERE id = ?1 AND version = ?2",
                params![series_id, version, start + serials, micros(*at)],
            )?;
            exec(
                c,
                "INSERT INTO number_blocks (definition, start_serial, serials, taken_at) VALUES (?1, ?2, ?3, ?4)",
                params![definition, start, serials, micros(*at)],
            )
            .map(drop)
        }
    }
}

/// A serial as SQLite's integer (serials stay under 10^16).
fn serial(n: u64) -> Result<i64, CommitError> {
    i64::try_from(n).map_err(|e| CommitError::Store(StoreError::new(e)))
}

/// The networks a carrier serves, one row each.
fn set_networks(c: &Connection, carrier_id: CarrierId, networks: &[NetworkId]) -> Result<(), CommitError> {
    for network_id in networks {
        exec(
            c,
            "INSERT INTO carrier_networks (carrier_id, network_id) VALUES (?1, ?2)",
            params![id(carrier_id), id(*network_id)],
        )?;
    }
    Ok(())
}

pub(super) fn id<T>(id: Id<T>) -> [u8; 16] {
    *id.as_bytes()
}

pub(super) fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

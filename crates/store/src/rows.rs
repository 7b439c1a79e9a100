//! Rows decoded once for both backends. Each backend reads its rows through [`Columns`] (SQLite keeps
//! ids as 16-byte blobs and instants as microseconds, PostgreSQL as `uuid` and `timestamptz`), and every
//! entity is decoded here, from the same column lists, by one function. The text encodings of composite
//! columns (closures, reminder offsets, sharers, door states, point-change fields) live here too, with
//! their writers, so a column is read the way it is written.
//!
//! A value the domain refuses (an unknown state, an impossible weight) is a corrupt row: a storage
//! error, never a business rule.

use relais_app::ports::{
    AuditAction, AuditEntry, Carrier, ChangeKind, CompartmentCounts, DeviceStatus, ImportRecord, ImportStatus,
    Merchant, OccupancyAlert, OutboxMessage, PointChange, StoreError, StoreResult, StoredCounter, StoredEvent,
};
use relais_app::{ApiKey, Role};
use relais_domain::Timestamp;
use relais_domain::attempts::AttemptCounter;
use relais_domain::compartment::{Compartment, CompartmentState, DoorFault};
use relais_domain::delivery::{Channel, Delivery, DeliveryState, Endpoint, EndpointTarget};
use relais_domain::dropoff::{
    CommandPurpose, CommandState, DoorCommand, DoorState, DropOffItem, DropOffSession, ItemState, SessionPurpose,
};
use relais_domain::ids::{Id, NetworkId, ParcelId};
use relais_domain::kpi::{KpiEvent, KpiFact};
use relais_domain::network::{Network, NetworkRules};
use relais_domain::parcel::{
    Actor, ActorKind, EventKind, IncidentKind, Parcel, ParcelEvent, ParcelState, PickupSecretDigests, Recipient,
};
use relais_domain::point::{Address, Closure, OpeningHours, PickupPoint, PointKind, PointStatus, Services};
use relais_domain::value::{Coordinates, Dimensions, Email, Language, ParcelNumber, Phone, SizeClass, Weight};

/// A row as each backend gives its columns, by position.
pub(crate) trait Columns {
    fn id<T>(&self, index: usize) -> StoreResult<Id<T>>;
    fn opt_id<T>(&self, index: usize) -> StoreResult<Option<Id<T>>>;
    fn text(&self, index: usize) -> StoreResult<&str>;
    fn opt_text(&self, index: usize) -> StoreResult<Option<&str>>;
    fn time(&self, index: usize) -> StoreResult<Timestamp>;
    fn opt_time(&self, index: usize) -> StoreResult<Option<Timestamp>>;
    fn int(&self, index: usize) -> StoreResult<i64>;
    fn opt_int(&self, index: usize) -> StoreResult<Option<i64>>;
    fn real(&self, index: usize) -> StoreResult<f64>;
    fn bytes(&self, index: usize) -> StoreResult<&[u8]>;
    fn json(&self, index: usize) -> StoreResult<serde_json::Value>;
    fn opt_bytes(&self, index: usize) -> StoreResult<Option<&[u8]>>;
    fn opt_json(&self, index: usize) -> StoreResult<Option<serde_json::Value>>;

    fn count(&self, index: usize) -> StoreResult<u32> {
        u32::try_from(self.int(index)?).map_err(|_| corrupt("count"))
    }

    fn owned(&self, index: usize) -> StoreResult<String> {
        self.text(index).map(str::to_owned)
    }

    fn opt_owned(&self, index: usize) -> StoreResult<Option<String>> {
        Ok(self.opt_text(index)?.map(str::to_owned))
    }

    fn digest(&self, index: usize) -> StoreResult<[u8; 32]> {
        self.bytes(index)?.try_into().map_err(|_| corrupt("digest"))
    }
}

/// The columns of a row from `offset` on: one row type decoded where a join puts it after another's.
pub(crate) struct Shifted<'r, C>(pub &'r C, pub usize);

impl<C: Columns> Columns for Shifted<'_, C> {
    fn id<T>(&self, index: usize) -> StoreResult<Id<T>> {
        self.0.id(index + self.1)
    }
    fn opt_id<T>(&self, index: usize) -> StoreResult<Option<Id<T>>> {
        self.0.opt_id(index + self.1)
    }
    fn text(&self, index: usize) -> StoreResult<&str> {
        self.0.text(index + self.1)
    }
    fn opt_text(&self, index: usize) -> StoreResult<Option<&str>> {
        self.0.opt_text(index + self.1)
    }
    fn time(&self, index: usize) -> StoreResult<Timestamp> {
        self.0.time(index + self.1)
    }
    fn opt_time(&self, index: usize) -> StoreResult<Option<Timestamp>> {
        self.0.opt_time(index + self.1)
    }
    fn int(&self, index: usize) -> StoreResult<i64> {
        self.0.int(index + self.1)
    }
    fn opt_int(&self, index: usize) -> StoreResult<Option<i64>> {
        self.0.opt_int(index + self.1)
    }
    fn real(&self, index: usize) -> StoreResult<f64> {
        self.0.real(index + self.1)
    }
    fn bytes(&self, index: usize) -> StoreResult<&[u8]> {
        self.0.bytes(index + self.1)
    }
    fn json(&self, index: usize) -> StoreResult<serde_json::Value> {
        self.0.json(index + self.1)
    }
    fn opt_bytes(&self, index: usize) -> StoreResult<Option<&[u8]>> {
        self.0.opt_bytes(index + self.1)
    }
    fn opt_json(&self, index: usize) -> StoreResult<Option<serde_json::Value>> {
        self.0.opt_json(index + self.1)
    }
}

/// `columns` (one of the `*_COLUMNS` lists) each prefixed with a table's alias, for a join.
fn qualified(alias: &str, columns: &str) -> String {
    columns.split(',').map(|c| format!("{alias}.{}", c.trim())).collect::<Vec<_>>().join(", ")
}

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError(format!("corrupt {what} in the database"))
}

pub(crate) const NETWORK_COLUMNS: &str = "id, name, hold_window_hours, extension_count_max, extension_hours,
    extension_earliest_after_deposit_hours, reminder_offsets_hours, reservation_hours, created_at, label_layout";

pub(crate) fn network(r: &impl Columns) -> StoreResult<Network> {
    Ok(Network {
        id: r.id(0)?,
        name: r.owned(1)?,
        rules: NetworkRules {
            hold_window_hours: r.count(2)?,
            extension_count_max: r.count(3)?,
            extension_hours: r.count(4)?,
            extension_earliest_after_deposit_hours: r.count(5)?,
            reminder_offsets_hours: offsets_from_text(r.text(6)?)?,
            reservation_hours: r.count(7)?,
            label_layout: relais_domain::network::LabelLayout::parse(r.text(9)?)
                .map_err(|_| corrupt("label_layout"))?,
        },
        created_at: r.time(8)?,
    })
}

pub(crate) const MERCHANT_COLUMNS: &str = "id, name, created_at";

/// A merchant's branding (`brand_color, logo_url, sender_name, return_address`).
pub(crate) fn branding(r: &impl Columns) -> StoreResult<relais_app::ports::Branding> {
    Ok(relais_app::ports::Branding {
        color: r.opt_owned(0)?,
        logo_url: r.opt_owned(1)?,
        sender_name: r.opt_owned(2)?,
        return_address: r.opt_owned(3)?,
    })
}

/// A survey answer's columns, `score` and `publish` as integers (PostgreSQL's list casts them).
pub(crate) fn survey_answer(r: &impl Columns) -> StoreResult<relais_domain::survey::SurveyAnswer> {
    Ok(relais_domain::survey::SurveyAnswer {
        parcel_id: r.id(0)?,
        merchant_id: r.id(1)?,
        network_id: r.id(2)?,
        point_id: r.id(3)?,
        carrier_id: r.opt_id(4)?,
        score: u8::try_from(r.int(5)?).ok().filter(|s| *s <= 10).ok_or_else(|| corrupt("score"))?,
        comment: r.opt_owned(6)?,
        publish: r.int(7)? != 0,
        answered_at: r.time(8)?,
    })
}

pub(crate) const ORDER_COLUMNS: &str = "id, merchant_id, reference, idempotency_key, request_digest, customer_name,
    customer_phone, customer_email, customer_language, chosen_point_id, point_id, service_level, shipping_price_cents,
    currency, lines, fallback, state, reason, created_at, updated_at, version";

pub(crate) fn order(r: &impl Columns) -> StoreResult<relais_domain::order::Order> {
    use relais_domain::order::{Fallback, Order, OrderState};
    Ok(Order {
        id: r.id(0)?,
        merchant_id: r.id(1)?,
        reference: r.owned(2)?,
        idempotency_key: r.opt_owned(3)?,
        request_digest: r.owned(4)?,
        customer: Recipient {
            name: r.owned(5)?,
            phone: r.opt_text(6)?.map(Phone::parse).transpose().map_err(|_| corrupt("phone"))?,
            email: r.opt_text(7)?.map(Email::parse).transpose().map_err(|_| corrupt("email"))?,
            language: Language::parse(r.opt_text(8)?.unwrap_or("fr")).map_err(|_| corrupt("language"))?,
        },
        chosen_point_id: r.id(9)?,
        point_id: r.opt_id(10)?,
        service_level: r.owned(11)?,
        shipping_price_cents: r.int(12)?,
        currency: r.owned(13)?,
        lines: order_lines(r.text(14)?)?,
        fallback: Fallback::parse(r.text(15)?).map_err(|_| corrupt("fallback"))?,
        state: OrderState::parse(r.text(16)?).ok_or_else(|| corrupt("order state"))?,
        reason: r.opt_owned(17)?,
        created_at: r.time(18)?,
        updated_at: r.time(19)?,
        version: r.int(20)?,
    })
}

/// An order's lines as stored: a JSON array of `{sku, name, quantity, unit_price_cents}`.
pub(crate) fn order_lines_text(lines: &[relais_domain::order::OrderLine]) -> String {
    let lines: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| {
            serde_json::json!({"sku": l.sku, "name": l.name, "quantity": l.quantity, "unit_price_cents": l.unit_price_cents})
        })
        .collect();
    serde_json::Value::Array(lines).to_string()
}

fn order_lines(text: &str) -> StoreResult<Vec<relais_domain::order::OrderLine>> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| corrupt("order lines"))?;
    let lines = value.as_array().ok_or_else(|| corrupt("order lines"))?;
    lines
        .iter()
        .map(|l| {
            Some(relais_domain::order::OrderLine {
                sku: l["sku"].as_str()?.to_owned(),
                name: l["name"].as_str()?.to_owned(),
                quantity: u32::try_from(l["quantity"].as_u64()?).ok()?,
                unit_price_cents: l["unit_price_cents"].as_i64()?,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| corrupt("order lines"))
}

pub(crate) const CONNECTOR_COLUMNS: &str = "merchant_id, platform, secret_seal, length_mm, width_mm, height_mm,
    weight_g, updated_at, api_url, api_username, api_token_seal";

pub(crate) fn connector(r: &impl Columns) -> StoreResult<relais_app::ports::StoredConnector> {
    Ok(relais_app::ports::StoredConnector {
        merchant_id: r.id(0)?,
        platform: r.owned(1)?,
        secret_seal: r.bytes(2)?.to_vec(),
        length_mm: r.int(3)?,
        width_mm: r.int(4)?,
        height_mm: r.int(5)?,
        weight_g: r.int(6)?,
        updated_at: r.time(7)?,
        api: match (r.opt_owned(8)?, r.opt_bytes(10)?) {
            (Some(url), Some(seal)) => {
                Some(relais_app::ports::ShopApiAccess { url, username: r.opt_owned(9)?, token_seal: seal.to_vec() })
            }
            _ => None,
        },
    })
}

pub(crate) const SHOP_ORDER_COLUMNS: &str = "order_id, merchant_id, platform, shop_order_id, stage, shop_ref,
    attempts, next_attempt_at, last_error, updated_at";

pub(crate) fn shop_order(r: &impl Columns) -> StoreResult<relais_app::ports::ShopWriteBack> {
    Ok(relais_app::ports::ShopWriteBack {
        order_id: r.id(0)?,
        merchant_id: r.id(1)?,
        platform: r.owned(2)?,
        shop_order_id: r.owned(3)?,
        stage: r.owned(4)?,
        shop_ref: r.opt_owned(5)?,
        attempts: r.count(6)?,
        next_attempt_at: r.time(7)?,
        last_error: r.opt_owned(8)?,
        updated_at: r.time(9)?,
    })
}

pub(crate) const TRACKING_COLUMNS: &str = "parcel_id, merchant_id, carrier, tracking_number, status, last_event_at,
    next_poll_at, quiet_polls, failures, last_error, service_days, shipping_price_cents, currency, declared_value_cents,
    service_level, shipped_on, due_on, delivered_at, delay_told_at, delay_reason, next_review_at, created_at, updated_at";

/// An ISO date stored as text.
pub(crate) fn opt_date(r: &impl Columns, index: usize) -> StoreResult<Option<chrono::NaiveDate>> {
    r.opt_owned(index)?
        .map(|text| chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| corrupt("date")))
        .transpose()
}

/// A date as stored.
pub(crate) fn date_text(date: Option<chrono::NaiveDate>) -> Option<String> {
    date.map(|d| d.format("%Y-%m-%d").to_string())
}

pub(crate) fn parcel_tracking(r: &impl Columns) -> StoreResult<relais_app::ports::ParcelTracking> {
    let promise = match (r.opt_int(10)?, r.opt_int(11)?, r.opt_owned(12)?) {
        (Some(days), Some(price), Some(currency)) => Some(relais_app::ports::PromiseTerms {
            service_days: u32::try_from(days).map_err(|_| corrupt("service_days"))?,
            shipping_price_cents: price,
            currency,
            declared_value_cents: r.opt_int(13)?,
            service_level: r.opt_owned(14)?,
        }),
        _ => None,
    };
    Ok(relais_app::ports::ParcelTracking {
        parcel_id: r.id(0)?,
        merchant_id: r.id(1)?,
        carrier: r.owned(2)?,
        tracking_number: r.owned(3)?,
        status: r.opt_owned(4)?,
        last_event_at: r.opt_time(5)?,
        next_poll_at: r.opt_time(6)?,
        quiet_polls: r.count(7)?,
        failures: r.count(8)?,
        last_error: r.opt_owned(9)?,
        promise,
        shipped_on: opt_date(r, 15)?,
        due_on: opt_date(r, 16)?,
        delivered_at: r.opt_time(17)?,
        delay_told_at: r.opt_time(18)?,
        delay_reason: r.opt_owned(19)?,
        next_review_at: r.opt_time(20)?,
        created_at: r.time(21)?,
        updated_at: r.time(22)?,
    })
}

pub(crate) const CONSOLE_ACCOUNT_COLUMNS: &str =
    "id, email, name, role, merchant_id, password_hash, created_at, disabled_at";

pub(crate) fn console_account(r: &impl Columns) -> StoreResult<relais_domain::console::ConsoleAccount> {
    Ok(relais_domain::console::ConsoleAccount {
        id: r.id(0)?,
        email: r.owned(1)?,
        name: r.owned(2)?,
        role: relais_domain::console::ConsoleRole::parse(r.text(3)?).ok_or_else(|| corrupt("console role"))?,
        merchant_id: r.opt_id(4)?,
        password_hash: r.owned(5)?,
        created_at: r.time(6)?,
        disabled_at: r.opt_time(7)?,
    })
}

pub(crate) const CLAIM_COLUMNS: &str = "id, parcel_id, merchant_id, carrier, kind, state, late_days,
    amount_claimed_cents, currency, amount_accepted_cents, reason, occurred_at, deadline_at, next_reminder_at,
    created_at, updated_at, version";

pub(crate) fn claim(r: &impl Columns) -> StoreResult<relais_domain::claims::Claim> {
    use relais_domain::claims::{ClaimKind, ClaimState};
    Ok(relais_domain::claims::Claim {
        id: r.id(0)?,
        parcel_id: r.id(1)?,
        merchant_id: r.id(2)?,
        carrier: r.owned(3)?,
        kind: ClaimKind::parse(&r.owned(4)?).ok_or_else(|| corrupt("claim kind"))?,
        state: ClaimState::parse(&r.owned(5)?).ok_or_else(|| corrupt("claim state"))?,
        late_days: r.count(6)?,
        amount_claimed_cents: r.int(7)?,
        currency: r.owned(8)?,
        amount_accepted_cents: r.opt_int(9)?,
        reason: r.opt_owned(10)?,
        occurred_at: r.time(11)?,
        deadline_at: r.time(12)?,
        next_reminder_at: r.opt_time(13)?,
        created_at: r.time(14)?,
        updated_at: r.time(15)?,
        version: r.int(16)?,
    })
}

pub(crate) fn evidence_entry(r: &impl Columns) -> StoreResult<relais_app::ports::EvidenceEntry> {
    Ok(relais_app::ports::EvidenceEntry {
        sha256: r.owned(0)?,
        content_type: r.owned(1)?,
        size_bytes: u64::try_from(r.int(2)?).map_err(|_| corrupt("size_bytes"))?,
        added_by: r.owned(3)?,
        added_at: r.time(4)?,
    })
}

pub(crate) const CARRIER_EVENT_COLUMNS: &str =
    "parcel_id, carrier, at, offset_seconds, code, description, status, place, received_at";

pub(crate) fn carrier_event(r: &impl Columns) -> StoreResult<relais_app::ports::StoredCarrierEvent> {
    let offset = i32::try_from(r.int(3)?).ok().and_then(chrono::FixedOffset::east_opt);
    let status = relais_tracking::TrackingStatus::parse(&r.owned(6)?);
    Ok(relais_app::ports::StoredCarrierEvent {
        parcel_id: r.id(0)?,
        carrier: r.owned(1)?,
        event: relais_tracking::TrackingEvent {
            at: r.time(2)?.with_timezone(&offset.ok_or_else(|| corrupt("offset_seconds"))?),
            code: r.owned(4)?,
            description: r.owned(5)?,
            status: status.ok_or_else(|| corrupt("carrier event status"))?,
            place: r.opt_owned(7)?,
        },
        received_at: r.time(8)?,
    })
}

pub(crate) fn stored_series(r: &impl Columns) -> StoreResult<relais_app::ports::StoredSeries> {
    Ok(relais_app::ports::StoredSeries {
        id: r.owned(0)?,
        definition: r.owned(1)?,
        next_serial: u64::try_from(r.int(2)?).map_err(|_| corrupt("next_serial"))?,
        version: r.int(3)?,
        updated_at: r.time(4)?,
    })
}

/// A serial as a query parameter (serials stay under 10^16).
pub(crate) fn serial_param(n: u64) -> StoreResult<i64> {
    i64::try_from(n).map_err(StoreError::new)
}

pub(crate) fn stored_template(r: &impl Columns) -> StoreResult<relais_app::ports::StoredTemplate> {
    Ok(relais_app::ports::StoredTemplate {
        notice: r.owned(0)?,
        lang: r.owned(1)?,
        part: r.owned(2)?,
        source: r.owned(3)?,
        updated_at: r.time(4)?,
    })
}

pub(crate) fn channel(r: &impl Columns, index: usize) -> StoreResult<Channel> {
    Channel::parse(r.text(index)?).ok_or_else(|| corrupt("channel"))
}

/// Scores counted per value (`score, COUNT(*)` rows) into 0 to 10.
pub(crate) fn gather_scores(rows: Vec<(i64, i64)>) -> [u64; 11] {
    let mut scores = [0u64; 11];
    for (score, count) in rows {
        if let Some(slot) = usize::try_from(score).ok().and_then(|s| scores.get_mut(s)) {
            *slot = u64::try_from(count).unwrap_or(0);
        }
    }
    scores
}

pub(crate) const CARRIER_COLUMNS: &str = "id, name, created_at";

/// A carrier's row; its networks come from `carrier_networks`, read beside it.
pub(crate) fn carrier(r: &impl Columns) -> StoreResult<Carrier> {
    Ok(Carrier { id: r.id(0)?, name: r.owned(1)?, networks: Vec::new(), created_at: r.time(2)? })
}

pub(crate) fn merchant(r: &impl Columns) -> StoreResult<Merchant> {
    Ok(Merchant { id: r.id(0)?, name: r.owned(1)?, created_at: r.time(2)? })
}

pub(crate) const POINT_COLUMNS: &str = "id, network_id, external_id, kind, name, address_line1, address_line2,
    postcode, city, country, latitude, longitude, timezone, status, shelf_capacity, shelf_occupied, weight_max_g,
    dimensions_sum_max_mm, created_at, version, opening_hours, closures, services, source, updated_at";

pub(crate) fn point(r: &impl Columns) -> StoreResult<PickupPoint> {
    Ok(PickupPoint {
        id: r.id(0)?,
        network_id: r.id(1)?,
        external_id: r.owned(2)?,
        kind: PointKind::parse(r.text(3)?).map_err(|_| corrupt("point kind"))?,
        name: r.owned(4)?,
        address: Address {
            line1: r.owned(5)?,
            line2: r.opt_owned(6)?,
            postcode: r.owned(7)?,
            city: r.owned(8)?,
            country: r.owned(9)?,
        },
        coordinates: Coordinates::parse(r.real(10)?, r.real(11)?).map_err(|_| corrupt("coordinates"))?,
        timezone: r.owned(12)?,
        status: PointStatus::parse(r.text(13)?).map_err(|_| corrupt("point status"))?,
        shelf_capacity: r.count(14)?,
        shelf_occupied: r.count(15)?,
        weight_max: Weight::from_grams(r.int(16)?).map_err(|_| corrupt("weight"))?,
        dimensions_sum_mm_max: r.count(17)?,
        created_at: r.time(18)?,
        version: r.int(19)?,
        opening_hours: r.opt_owned(20)?.map(OpeningHours::from_stored),
        closures: closures_from_text(r.text(21)?)?,
        services: Services::parse(r.text(22)?).map_err(|_| corrupt("point services"))?,
        source: r.owned(23)?,
        updated_at: r.time(24)?,
    })
}

pub(crate) const IMPORT_COLUMNS: &str = "id, network_id, format, source, at, status, rows_total, rows_refused,
    added, changed, moved, closed, reopened, removed, unchanged, problems";

pub(crate) fn import(r: &impl Columns) -> StoreResult<ImportRecord> {
    Ok(ImportRecord {
        id: r.id(0)?,
        network_id: r.id(1)?,
        format: r.owned(2)?,
        source: r.owned(3)?,
        at: r.time(4)?,
        status: ImportStatus::parse(r.text(5)?).ok_or_else(|| corrupt("import status"))?,
        rows_total: r.count(6)?,
        rows_refused: r.count(7)?,
        changes: [r.count(8)?, r.count(9)?, r.count(10)?, r.count(11)?, r.count(12)?, r.count(13)?],
        unchanged: r.count(14)?,
        problems: r.owned(15)?,
    })
}

pub(crate) const POINT_CHANGE_COLUMNS: &str = "seq, point_id, import_id, at, kind, fields";

pub(crate) fn point_change(r: &impl Columns) -> StoreResult<PointChange> {
    Ok(PointChange {
        seq: r.int(0)?,
        point_id: r.id(1)?,
        import_id: r.opt_id(2)?,
        at: r.time(3)?,
        kind: ChangeKind::parse(r.text(4)?).ok_or_else(|| corrupt("point change kind"))?,
        fields: fields_from_text(r.text(5)?)?,
    })
}

/// Compartment counts of one point and size class: point, size, total, free, occupied, reserved.
pub(crate) struct CountsRow {
    point_id: relais_domain::ids::PointId,
    size: SizeClass,
    counts: [u32; 4],
}

pub(crate) fn counts(r: &impl Columns) -> StoreResult<CountsRow> {
    Ok(CountsRow {
        point_id: r.id(0)?,
        size: SizeClass::parse(r.text(1)?).map_err(|_| corrupt("size class"))?,
        counts: [r.count(2)?, r.count(3)?, r.count(4)?, r.count(5)?],
    })
}

/// Count rows sorted by point, gathered per point.
pub(crate) fn gather_counts(rows: Vec<CountsRow>) -> Vec<CompartmentCounts> {
    let mut out: Vec<CompartmentCounts> = Vec::new();
    for CountsRow { point_id, size, counts: [total, free, occupied, reserved] } in rows {
        if out.last().is_none_or(|c| c.point_id != point_id) {
            out.push(CompartmentCounts { point_id, free: [0; 4], total: [0; 4], occupied: [0; 4], reserved: [0; 4] });
        }
        if let Some(counts) = out.last_mut() {
            let size = size as usize;
            counts.total[size] = total;
            counts.free[size] = free;
            counts.occupied[size] = occupied;
            counts.reserved[size] = reserved;
        }
    }
    out
}

pub(crate) const COMPARTMENT_COLUMNS: &str =
    "id, point_id, label, size, state, parcel_id, reserved_until, version, fault, sharers";

pub(crate) fn compartment(r: &impl Columns) -> StoreResult<Compartment> {
    Ok(Compartment {
        id: r.id(0)?,
        point_id: r.id(1)?,
        label: r.owned(2)?,
        size: SizeClass::parse(r.text(3)?).map_err(|_| corrupt("size class"))?,
        state: compartment_state(r.text(4)?, r.opt_id(5)?, r.opt_time(6)?)?,
        sharers: sharers_from_text(r.text(9)?)?,
        fault: r.opt_text(8)?.map(|f| DoorFault::parse(f).ok_or_else(|| corrupt("door fault"))).transpose()?,
        version: r.int(7)?,
    })
}

pub(crate) const SESSION_COLUMNS: &str = "id, point_id, carrier_key_id, opened_at, closed_at, version, purpose";

pub(crate) fn session(r: &impl Columns) -> StoreResult<DropOffSession> {
    Ok(DropOffSession {
        id: r.id(0)?,
        point_id: r.id(1)?,
        carrier_key_id: r.id(2)?,
        opened_at: r.time(3)?,
        closed_at: r.opt_time(4)?,
        version: r.int(5)?,
        purpose: SessionPurpose::parse(r.text(6)?).ok_or_else(|| corrupt("session purpose"))?,
    })
}

/// A session, the key that opened it and the networks its carrier serves, in one statement: one row
/// per network, or one row with none. `param` is the backend's first placeholder.
pub(crate) fn session_with_carrier_sql(param: &str) -> String {
    format!(
        "SELECT {}, {}, n.network_id FROM drop_off_sessions s
         JOIN api_keys k ON k.id = s.carrier_key_id
         LEFT JOIN carrier_networks n ON n.carrier_id = k.carrier_id
         WHERE s.id = {param}",
        qualified("s", SESSION_COLUMNS),
        qualified("k", API_KEY_COLUMNS)
    )
}

/// One row of `session_with_carrier_sql` (fold the rows with `with_networks`).
pub(crate) fn session_key_and_network(r: &impl Columns) -> StoreResult<((DropOffSession, ApiKey), Option<NetworkId>)> {
    const KEY_AT: usize = 7;
    Ok(((session(r)?, api_key(&Shifted(r, KEY_AT))?), r.opt_id(KEY_AT + 9)?))
}

pub(crate) const ITEM_COLUMNS: &str = "session_id, parcel_id, parcel_number, compartment_id, label, state, reason,
    relocation_point_id, scanned_at, done_at, version";

pub(crate) fn item(r: &impl Columns) -> StoreResult<DropOffItem> {
    Ok(DropOffItem {
        session_id: r.id(0)?,
        parcel_id: r.id(1)?,
        parcel_number: r.owned(2)?,
        compartment_id: r.opt_id(3)?,
        label: r.opt_owned(4)?,
        state: ItemState::parse(r.text(5)?).ok_or_else(|| corrupt("item state"))?,
        reason: r.opt_owned(6)?,
        relocation_point_id: r.opt_id(7)?,
        scanned_at: r.time(8)?,
        done_at: r.opt_time(9)?,
        version: r.int(10)?,
    })
}

pub(crate) const COMMAND_COLUMNS: &str =
    "id, point_id, compartment_id, label, purpose, parcel_id, session_id, reason, state, created_at, done_at, version";

pub(crate) fn command(r: &impl Columns) -> StoreResult<DoorCommand> {
    Ok(DoorCommand {
        id: r.id(0)?,
        point_id: r.id(1)?,
        compartment_id: r.id(2)?,
        label: r.owned(3)?,
        purpose: CommandPurpose::parse(r.text(4)?).ok_or_else(|| corrupt("command purpose"))?,
        parcel_id: r.opt_id(5)?,
        session_id: r.opt_id(6)?,
        reason: r.opt_owned(7)?,
        state: CommandState::parse(r.text(8)?).ok_or_else(|| corrupt("command state"))?,
        created_at: r.time(9)?,
        done_at: r.opt_time(10)?,
        version: r.int(11)?,
    })
}

pub(crate) const DEVICE_STATUS_COLUMNS: &str = "point_id, key_id, last_seen_at, doors, firmware, offline_since";

pub(crate) fn device_status(r: &impl Columns) -> StoreResult<DeviceStatus> {
    Ok(DeviceStatus {
        point_id: r.id(0)?,
        key_id: r.id(1)?,
        last_seen_at: r.time(2)?,
        doors: doors_from_text(r.text(3)?)?,
        firmware: r.opt_owned(4)?,
        offline_since: r.opt_time(5)?,
    })
}

pub(crate) const AUDIT_COLUMNS: &str =
    "seq, at, actor_kind, actor_ref, action, point_id, compartment_id, parcel_id, reason";

pub(crate) fn audit(r: &impl Columns) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        seq: r.int(0)?,
        at: r.time(1)?,
        actor: actor(r, 2, 3)?,
        action: AuditAction::parse(r.text(4)?).ok_or_else(|| corrupt("audit action"))?,
        point_id: r.opt_id(5)?,
        compartment_id: r.opt_id(6)?,
        parcel_id: r.opt_id(7)?,
        reason: r.opt_owned(8)?,
    })
}

fn actor(r: &impl Columns, kind: usize, reference: usize) -> StoreResult<Actor> {
    Ok(Actor {
        kind: ActorKind::parse(r.text(kind)?).ok_or_else(|| corrupt("actor"))?,
        reference: r.opt_owned(reference)?,
    })
}

pub(crate) const PARCEL_COLUMNS: &str = "id, number, merchant_id, network_id, point_id, recipient_name,
    recipient_phone, recipient_email, length_mm, width_mm, height_mm, weight_g, state, incident_kind,
    compartment_id, code_digest, qr_digest, deposited_at, pickup_deadline, extensions_used, created_at, updated_at,
    version, reminders_sent, next_reminder_at, relocated_from, carrier_id, recipient_language";

pub(crate) fn parcel(r: &impl Columns) -> StoreResult<Parcel> {
    Ok(Parcel {
        id: r.id(0)?,
        number: ParcelNumber::parse(r.text(1)?).map_err(|_| corrupt("parcel number"))?,
        merchant_id: r.id(2)?,
        network_id: r.id(3)?,
        point_id: r.id(4)?,
        recipient: Recipient {
            name: r.owned(5)?,
            phone: r.opt_text(6)?.map(Phone::parse).transpose().map_err(|_| corrupt("phone"))?,
            email: r.opt_text(7)?.map(Email::parse).transpose().map_err(|_| corrupt("email"))?,
            language: Language::parse(r.text(27)?).map_err(|_| corrupt("language"))?,
        },
        dimensions: Dimensions::from_mm(r.int(8)?, r.int(9)?, r.int(10)?).map_err(|_| corrupt("dimensions"))?,
        weight: Weight::from_grams(r.int(11)?).map_err(|_| corrupt("weight"))?,
        state: ParcelState::parse(r.text(12)?, r.opt_text(13)?).ok_or_else(|| corrupt("parcel state"))?,
        compartment_id: r.opt_id(14)?,
        secrets: PickupSecretDigests { code: r.digest(15)?, qr: r.digest(16)? },
        deposited_at: r.opt_time(17)?,
        pickup_deadline: r.opt_time(18)?,
        extensions_used: r.count(19)?,
        created_at: r.time(20)?,
        updated_at: r.time(21)?,
        version: r.int(22)?,
        reminders_sent: r.count(23)?,
        next_reminder_at: r.opt_time(24)?,
        relocated_from: r.opt_id(25)?,
        carrier_id: r.opt_id(26)?,
    })
}

/// The seal selected after a parcel's columns (`PARCEL_COLUMNS, pickup_seal`).
pub(crate) fn seal_after_parcel(r: &impl Columns) -> StoreResult<Option<Vec<u8>>> {
    Ok(r.opt_bytes(28)?.map(<[u8]>::to_vec))
}

/// The shipment selected after a parcel's columns (`PARCEL_COLUMNS, shipment`).
pub(crate) fn shipment_after_parcel(r: &impl Columns) -> StoreResult<u32> {
    r.count(28)
}

pub(crate) const EVENT_COLUMNS: &str =
    "seq, parcel_id, kind, from_state, to_state, incident_kind, actor_kind, actor_ref, reason, compartment_id, at";

pub(crate) fn event(r: &impl Columns) -> StoreResult<StoredEvent> {
    let incident = r.opt_text(5)?;
    let from = r.opt_text(3)?.map(|s| ParcelState::parse(s, incident).ok_or_else(|| corrupt("state"))).transpose()?;
    Ok(StoredEvent {
        seq: r.int(0)?,
        event: ParcelEvent {
            parcel_id: r.id(1)?,
            kind: EventKind::parse(r.text(2)?).ok_or_else(|| corrupt("event kind"))?,
            from,
            to: ParcelState::parse(r.text(4)?, incident).ok_or_else(|| corrupt("state"))?,
            actor: actor(r, 6, 7)?,
            reason: r.opt_owned(8)?,
            compartment_id: r.opt_id(9)?,
            at: r.time(10)?,
        },
    })
}

pub(crate) const OUTBOX_COLUMNS: &str = "id, topic, parcel_id, payload, created_at";

pub(crate) fn outbox(r: &impl Columns) -> StoreResult<OutboxMessage> {
    Ok(OutboxMessage {
        id: r.id(0)?,
        topic: r.owned(1)?,
        parcel_id: r.opt_id(2)?,
        payload: r.json(3)?,
        created_at: r.time(4)?,
    })
}

pub(crate) const DELIVERY_COLUMNS: &str = "id, outbox_id, topic, parcel_id, channel, address, state, attempts,
    next_attempt_at, last_error, provider_ref, provider_status, created_at, updated_at";

pub(crate) fn delivery(r: &impl Columns) -> StoreResult<Delivery> {
    Ok(Delivery {
        id: r.id(0)?,
        outbox_id: r.id(1)?,
        topic: r.owned(2)?,
        parcel_id: r.opt_id(3)?,
        channel: Channel::parse(r.text(4)?).ok_or_else(|| corrupt("channel"))?,
        address: r.owned(5)?,
        state: DeliveryState::parse(r.text(6)?).ok_or_else(|| corrupt("delivery state"))?,
        attempts: r.count(7)?,
        next_attempt_at: r.time(8)?,
        last_error: r.opt_owned(9)?,
        provider_ref: r.opt_owned(10)?,
        provider_status: r.opt_owned(11)?,
        created_at: r.time(12)?,
        updated_at: r.time(13)?,
    })
}

/// A leased delivery and its message's payload (`o.payload` after the delivery's columns).
pub(crate) fn leased_delivery(r: &impl Columns) -> StoreResult<relais_app::ports::LeasedDelivery> {
    Ok(relais_app::ports::LeasedDelivery { delivery: delivery(r)?, payload: r.opt_json(14)? })
}

/// The SELECT of a lease's deliveries with their payloads; `param` is the lease's placeholder.
pub(crate) fn leased_deliveries_sql(param: &str) -> String {
    format!(
        "SELECT {}, o.payload FROM deliveries d LEFT JOIN outbox o ON o.id = d.outbox_id WHERE d.lease_id = {param}",
        qualified("d", DELIVERY_COLUMNS)
    )
}

pub(crate) const ENDPOINT_COLUMNS: &str = "id, merchant_id, kind, target, topics, disabled_at, disabled_reason,
    failing_since, created_at, version, secret_seal, previous_secret_seal, previous_until";

pub(crate) fn endpoint(r: &impl Columns) -> StoreResult<Endpoint> {
    let target = match r.text(2)? {
        "webhook" => EndpointTarget::Webhook { url: r.owned(3)? },
        "email" => EndpointTarget::Email { address: r.owned(3)? },
        _ => return Err(corrupt("endpoint kind")),
    };
    Ok(Endpoint {
        id: r.id(0)?,
        merchant_id: r.opt_id(1)?,
        target,
        topics: topics_from_text(r.text(4)?),
        disabled_at: r.opt_time(5)?,
        disabled_reason: r.opt_owned(6)?,
        failing_since: r.opt_time(7)?,
        created_at: r.time(8)?,
        version: r.int(9)?,
    })
}

pub(crate) fn endpoint_secrets(r: &impl Columns) -> StoreResult<relais_app::ports::EndpointSecrets> {
    let current = r.opt_bytes(10)?.map(<[u8]>::to_vec);
    let previous = match (r.opt_bytes(11)?, r.opt_time(12)?) {
        (Some(seal), Some(until)) => Some((seal.to_vec(), until)),
        _ => None,
    };
    Ok(relais_app::ports::EndpointSecrets { current, previous })
}

/// An endpoint's kind and target as stored.
pub(crate) fn endpoint_target(target: &EndpointTarget) -> (&'static str, &str) {
    match target {
        EndpointTarget::Webhook { url } => ("webhook", url),
        EndpointTarget::Email { address } => ("email", address),
    }
}

/// Topic patterns as stored: space-separated (a pattern holds no space).
pub(crate) fn topics_to_text(topics: &[String]) -> String {
    topics.join(" ")
}

fn topics_from_text(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

pub(crate) const API_KEY_COLUMNS: &str =
    "id, role, merchant_id, point_id, label, digest, created_at, carrier_id, revoked_at";

pub(crate) fn api_key(r: &impl Columns) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: r.id(0)?,
        role: Role::parse(r.text(1)?).ok_or_else(|| corrupt("role"))?,
        merchant_id: r.opt_id(2)?,
        point_id: r.opt_id(3)?,
        label: r.owned(4)?,
        digest: r.digest(5)?,
        created_at: r.time(6)?,
        carrier_id: r.opt_id(7)?,
        revoked_at: r.opt_time(8)?,
    })
}

/// A live key by its digest with the networks its carrier serves, in one statement: one row per network,
/// or one row with no network for a key of another role. `param` is the backend's first placeholder.
pub(crate) fn api_key_by_digest_sql(param: &str) -> String {
    api_key_and_networks_sql(&format!("digest = {param} AND revoked_at IS NULL"))
}

/// A key by its id, revoked or not, with its carrier's networks: one row per network.
pub(crate) fn api_key_by_id_sql(param: &str) -> String {
    api_key_and_networks_sql(&format!("id = {param}"))
}

/// The key that meets `condition`, one row per network its carrier serves (one row with none).
fn api_key_and_networks_sql(condition: &str) -> String {
    format!(
        "SELECT k.*, n.network_id FROM (SELECT {API_KEY_COLUMNS} FROM api_keys WHERE {condition}) k
         LEFT JOIN carrier_networks n ON n.carrier_id = k.carrier_id ORDER BY n.network_id"
    )
}

/// The live keys of the carriers serving the network `param`, oldest first.
pub(crate) fn carrier_keys_serving_sql(param: &str) -> String {
    format!(
        "SELECT {API_KEY_COLUMNS} FROM api_keys
         WHERE role = 'carrier' AND revoked_at IS NULL
           AND carrier_id IN (SELECT carrier_id FROM carrier_networks WHERE network_id = {param})
         ORDER BY id"
    )
}

/// One row of `api_key_by_digest_sql` or `api_key_by_id_sql` (fold the rows with `with_networks`).
pub(crate) fn api_key_and_network(r: &impl Columns) -> StoreResult<(ApiKey, Option<NetworkId>)> {
    Ok((api_key(r)?, r.opt_id(9)?))
}

/// Rows of one thing with one of its carrier's networks each (a key, or a session and its key: a
/// `LEFT JOIN` on `carrier_networks`) folded into the thing and all those networks.
pub(crate) fn with_networks<T>(rows: Vec<(T, Option<NetworkId>)>) -> Option<(T, Vec<NetworkId>)> {
    let networks = rows.iter().filter_map(|(_, network)| *network).collect();
    rows.into_iter().next().map(|(thing, _)| (thing, networks))
}

pub(crate) const COUNTER_COLUMNS: &str = "failures, window_started_at, locked_until, version, probed_at";

pub(crate) fn counter(r: &impl Columns) -> StoreResult<StoredCounter> {
    Ok(StoredCounter {
        counter: AttemptCounter {
            failures: r.count(0)?,
            window_started_at: r.time(1)?,
            locked_until: r.opt_time(2)?,
            probed_at: r.opt_time(4)?,
        },
        version: r.int(3)?,
    })
}

pub(crate) const ALERT_COLUMNS: &str = "point_id, raised_at, rate";

pub(crate) fn alert(r: &impl Columns) -> StoreResult<OccupancyAlert> {
    Ok(OccupancyAlert { point_id: r.id(0)?, raised_at: r.time(1)?, rate: r.real(2)? })
}

/// `parcel_id, point_id, pickup_deadline, kind, incident_kind, at` of the KPI query.
pub(crate) fn kpi_event(r: &impl Columns) -> StoreResult<KpiEvent> {
    Ok(KpiEvent {
        parcel_id: r.id(0)?,
        point_id: r.id(1)?,
        pickup_deadline: r.opt_time(2)?,
        kind: EventKind::parse(r.text(3)?).ok_or_else(|| corrupt("event kind"))?,
        incident: r.opt_text(4)?.and_then(IncidentKind::parse),
        at: r.time(5)?,
    })
}

/// `point_id, at` of a hardware incident in the audit log.
pub(crate) fn kpi_incident(r: &impl Columns) -> StoreResult<KpiFact> {
    Ok(KpiFact::HardwareIncident { point_id: r.id(0)?, at: r.time(1)? })
}

/// `point_id, scanned_at, done_at` of a parcel deposited through a session.
pub(crate) fn kpi_handling(r: &impl Columns) -> StoreResult<KpiFact> {
    Ok(KpiFact::DepositHandled { point_id: r.id(0)?, scanned_at: r.time(1)?, closed_at: r.time(2)? })
}

/// A compartment's state as stored: its name, the parcel it names, the reservation's expiry.
pub(crate) fn compartment_columns(state: &CompartmentState) -> (&'static str, Option<ParcelId>, Option<Timestamp>) {
    match *state {
        CompartmentState::Available | CompartmentState::OutOfService | CompartmentState::Disabled => {
            (state.name(), None, None)
        }
        CompartmentState::Reserved { parcel_id, expires_at } => (state.name(), Some(parcel_id), expires_at),
        CompartmentState::Occupied { parcel_id } => (state.name(), Some(parcel_id), None),
    }
}

fn compartment_state(
    state: &str,
    parcel: Option<ParcelId>,
    reserved_until: Option<Timestamp>,
) -> StoreResult<CompartmentState> {
    Ok(match (state, parcel) {
        ("available", None) => CompartmentState::Available,
        ("reserved", Some(parcel_id)) => CompartmentState::Reserved { parcel_id, expires_at: reserved_until },
        ("occupied", Some(parcel_id)) => CompartmentState::Occupied { parcel_id },
        ("out_of_service", None) => CompartmentState::OutOfService,
        ("disabled", None) => CompartmentState::Disabled,
        _ => return Err(corrupt("compartment state")),
    })
}

/// Closures as stored: `YYYY-MM-DD..YYYY-MM-DD` ranges joined by `;`.
pub(crate) fn closures_to_text(closures: &[Closure]) -> String {
    closures.iter().map(|c| format!("{}..{}", c.first, c.last)).collect::<Vec<_>>().join(";")
}

fn closures_from_text(text: &str) -> StoreResult<Vec<Closure>> {
    text.split(';')
        .filter(|range| !range.is_empty())
        .map(|range| {
            let (first, last) = range.split_once("..").ok_or_else(|| corrupt("closures"))?;
            Ok(Closure {
                first: first.parse().map_err(|_| corrupt("closures"))?,
                last: last.parse().map_err(|_| corrupt("closures"))?,
            })
        })
        .collect()
}

/// A point change's fields as stored: a JSON array of `{"field", "before", "after"}`.
pub(crate) fn fields_to_text(fields: &[(String, String, String)]) -> String {
    let items: Vec<serde_json::Value> = fields
        .iter()
        .map(|(field, before, after)| serde_json::json!({"field": field, "before": before, "after": after}))
        .collect();
    serde_json::Value::Array(items).to_string()
}

fn fields_from_text(text: &str) -> StoreResult<Vec<(String, String, String)>> {
    let items: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|_| corrupt("point change fields"))?;
    items
        .iter()
        .map(|item| {
            let text = |key: &str| item[key].as_str().map(str::to_owned).ok_or_else(|| corrupt("point change fields"));
            Ok((text("field")?, text("before")?, text("after")?))
        })
        .collect()
}

/// Reminder offsets as stored: hours, comma-separated.
pub(crate) fn offsets_to_text(offsets: &[u32]) -> String {
    offsets.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

fn offsets_from_text(text: &str) -> StoreResult<Vec<u32>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',').map(|n| n.parse().map_err(|_| corrupt("reminder offsets"))).collect()
}

/// The sharers of a compartment as one text column: ids, comma-separated, in order.
pub(crate) fn sharers_to_text(sharers: &[ParcelId]) -> String {
    sharers.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

fn sharers_from_text(text: &str) -> StoreResult<Vec<ParcelId>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',').map(|p| p.parse().map_err(|_| corrupt("compartment sharers"))).collect()
}

/// A device's door states as one text column: `A01=closed,A02=open`.
pub(crate) fn doors_to_text(doors: &[(String, DoorState)]) -> String {
    doors.iter().map(|(label, state)| format!("{label}={}", state.as_str())).collect::<Vec<_>>().join(",")
}

fn doors_from_text(text: &str) -> StoreResult<Vec<(String, DoorState)>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|pair| {
            let (label, state) = pair.split_once('=').ok_or_else(|| corrupt("door states"))?;
            Ok((label.to_owned(), DoorState::parse(state).ok_or_else(|| corrupt("door states"))?))
        })
        .collect()
}

/// A point's registry fields (what an import or an operator sets), boxed for the backend's `ToSql`, in
/// the order both statements that write a point take them first (`INSERT_POINT`, `UPDATE_POINT`):
/// written once for both backends, with their integer and instant encodings.
macro_rules! registry_fields {
    ($p:expr, $int:expr, $instant:expr) => {
        [
            Box::new($p.kind.as_str()),
            Box::new(&$p.name),
            Box::new(&$p.address.line1),
            Box::new(&$p.address.line2),
            Box::new(&$p.address.postcode),
            Box::new(&$p.address.city),
            Box::new(&$p.address.country),
            Box::new($p.coordinates.latitude()),
            Box::new($p.coordinates.longitude()),
            Box::new(&$p.timezone),
            Box::new($p.status.as_str()),
            Box::new($int($p.shelf_capacity)),
            Box::new($int($p.weight_max.grams())),
            Box::new($int($p.dimensions_sum_mm_max)),
            Box::new($p.opening_hours.as_ref().map(|h| h.as_str())),
            Box::new($crate::rows::closures_to_text(&$p.closures)),
            Box::new($p.services.to_string()),
            Box::new(&$p.source),
            Box::new($instant($p.updated_at)),
        ]
    };
}
pub(crate) use registry_fields;

pub(crate) fn enrolment(r: &impl Columns) -> StoreResult<relais_domain::console::Enrolment> {
    Ok(relais_domain::console::Enrolment {
        token_digest: r.bytes(0)?.try_into().map_err(|_| corrupt("token_digest"))?,
        point_id: r.id(1)?,
        label: r.owned(2)?,
        created_by: r.owned(3)?,
        created_at: r.time(4)?,
        expires_at: r.time(5)?,
        used_at: r.opt_time(6)?,
    })
}

pub(crate) fn acknowledgement(r: &impl Columns) -> StoreResult<relais_domain::alert::Acknowledgement> {
    Ok(relais_domain::alert::Acknowledgement {
        key: r.owned(0)?,
        by: r.owned(1)?,
        comment: r.owned(2)?,
        at: r.time(3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_columns_read_back_as_written() {
        let closures = vec![Closure {
            first: chrono::NaiveDate::from_ymd_opt(2026, 8, 1).unwrap_or_default(),
            last: chrono::NaiveDate::from_ymd_opt(2026, 8, 15).unwrap_or_default(),
        }];
        assert_eq!(closures_from_text(&closures_to_text(&closures)).ok(), Some(closures));
        let fields = vec![("name".to_owned(), "A, \"B\"".to_owned(), String::new())];
        assert_eq!(fields_from_text(&fields_to_text(&fields)).ok(), Some(fields));
        assert_eq!(offsets_from_text(&offsets_to_text(&[24, 6])).ok(), Some(vec![24, 6]));
        assert_eq!(offsets_from_text("").ok(), Some(Vec::new()));
        let doors = vec![("A01".to_owned(), DoorState::Closed), ("B02".to_owned(), DoorState::Jammed)];
        assert_eq!(doors_from_text(&doors_to_text(&doors)).ok(), Some(doors));
        for corrupt in ["A01", "A01=ajar"] {
            assert!(doors_from_text(corrupt).is_err(), "{corrupt}");
        }
        assert!(compartment_state("occupied", None, None).is_err());
    }
}

//! A merchant's orders (docs/orders.md): one order, its lines and its parcels, announced to the point
//! the customer chose in one command, or to the merchant's fallback when that point cannot take them
//! (the nearest suitable point of its network or of any network, home delivery, or hold for a
//! decision), the reason kept and the merchant told. The same idempotency key gives the same answer and
//! creates nothing twice; the pickup codes in a replayed answer come from the parcels' seals, while
//! they are live (ADR 14). Remainders of an order go later as another shipment.

use chrono::NaiveDate;
use relais_domain::ids::{CarrierId, MerchantId, OrderId, PointId};
use relais_domain::order::{Fallback, Order, OrderLine, OrderState, cents, currency, reference};
use relais_domain::parcel::{Parcel, Recipient};
use relais_domain::value::{Dimensions, Email, Language, ParcelNumber, ParseError, Phone, Weight, parse_text};
use relais_registry::index::{Filter, Refusal};
use sha2::{Digest, Sha256};

use crate::App;
use crate::auth::{Caller, Role};
use crate::error::AppError;
use crate::numbers::SeriesOwner;
use crate::parcels::{AnnouncePoints, ParcelToAnnounce, announcing_merchant, check_reachable};
use crate::ports::{OrderWrite, Write};

/// The most parcels one order (or one shipment) carries.
pub const PARCELS_MAX: usize = 50;
/// The most lines one order has.
pub const LINES_MAX: usize = 500;
/// How far a fallback point may be from the chosen one.
pub const FALLBACK_RADIUS_M: f64 = 10_000.0;
/// How many nearby points are tried as the fallback.
const FALLBACK_CANDIDATES: usize = 5;

/// An order as the merchant sends it (not yet parsed).
#[derive(Debug, Clone, Default)]
pub struct NewOrder {
    /// Required when an operator creates it on a merchant's behalf.
    pub merchant_id: Option<MerchantId>,
    pub reference: String,
    /// The request's `Idempotency-Key`.
    pub idempotency_key: Option<String>,
    pub customer_name: String,
    pub customer_phone: Option<String>,
    pub customer_email: Option<String>,
    pub customer_language: Option<String>,
    pub point_id: PointId,
    pub carrier_id: Option<CarrierId>,
    pub service_level: Option<String>,
    pub shipping_price_cents: i64,
    pub currency: String,
    pub lines: Vec<NewLine>,
    pub parcels: Vec<NewOrderParcel>,
    pub fallback: Option<String>,
    /// The local day the parcels are expected at the point: a point closed that day is not chosen.
    pub expected_arrival: Option<NaiveDate>,
    /// The shop platform and its own id of the order, for an order a connector made: its fulfilment
    /// is written back to the shop (`connectors::write_back`).
    pub shop: Option<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewLine {
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price_cents: i64,
}

#[derive(Debug, Clone, Default)]
pub struct NewOrderParcel {
    /// None: the merchant's next SSCC.
    pub parcel_number: Option<String>,
    pub length_mm: i64,
    pub width_mm: i64,
    pub height_mm: i64,
    pub weight_g: i64,
}

/// An order and its parcels, each with its pickup code and QR token while they are live.
#[derive(Debug, Clone)]
pub struct OrderView {
    pub order: Order,
    pub parcels: Vec<OrderParcel>,
    /// The answer of an earlier request with the same idempotency key.
    pub replayed: bool,
}

#[derive(Debug, Clone)]
pub struct OrderParcel {
    pub parcel: Parcel,
    pub shipment: u32,
    pub pickup: Option<(relais_domain::value::PickupCode, String)>,
}

/// An order's parcels checked and numbered.
struct Prepared {
    merchant_id: MerchantId,
    customer: Recipient,
    language: Option<Language>,
    carrier: Option<crate::ports::Carrier>,
    parcels: Vec<(Dimensions, Weight, Option<ParcelNumber>)>,
}

/// An order's own fields, checked.
#[derive(Debug, Clone)]
struct OrderDraft {
    merchant_id: MerchantId,
    key: Option<String>,
    digest: String,
    reference: String,
    service_level: String,
    shipping_price_cents: i64,
    currency: String,
    lines: Vec<OrderLine>,
}

/// Where an order's parcels go.
struct Destination {
    state: OrderState,
    point_id: Option<PointId>,
    reason: Option<String>,
}

impl App {
    /// Creates an order and announces its parcels, all or nothing.
    pub async fn create_order(&self, caller: &Caller, input: NewOrder) -> Result<OrderView, AppError> {
        let merchant_id = announcing_merchant(caller, input.merchant_id)?;
        let key = match input.idempotency_key.as_deref().map(str::trim) {
            Some(key) if key.is_empty() || key.len() > 255 || !key.is_ascii() => {
                return Err(ParseError::new("Idempotency-Key", "is 1 to 255 ASCII characters").into());
            }
            key => key.map(str::to_owned),
        };
        let digest = request_digest(&input, merchant_id);
        if let Some(key) = &key
            && let Some(existing) = self.store.order_by_idempotency_key(merchant_id, key).await?
        {
            return self.replay(existing, &digest).await;
        }
        let reference = reference(&input.reference)?;
        let fallback = input.fallback.as_deref().map(Fallback::parse).transpose()?.unwrap_or_default();
        let service_level = match input.service_level.as_deref() {
            Some(level) => parse_text("service_level", level, 32)?,
            None => "standard".to_owned(),
        };
        let shipping_price_cents = cents("shipping_price.amount_cents", input.shipping_price_cents)?;
        let currency = currency(&input.currency)?;
        if input.lines.len() > LINES_MAX {
            return Err(ParseError::new("lines", format!("an order has at most {LINES_MAX} lines")).into());
        }
        let lines = input
            .lines
            .iter()
            .map(|l| OrderLine::new(&l.sku, &l.name, l.quantity, l.unit_price_cents))
            .collect::<Result<Vec<_>, _>>()?;
        let prepared = self.prepare(caller, merchant_id, &input, &input.parcels).await?;
        let destination = self.destination(input.point_id, &prepared, fallback, input.expected_arrival)?;
        let numbers = self.numbers_for(&prepared).await?;
        let first = destination.point_id == Some(input.point_id);
        let settled =
            OrderDraft { merchant_id, key, digest, reference, service_level, shipping_price_cents, currency, lines };
        match self.create_at(caller, &input, &settled, &prepared, &numbers, destination, fallback).await {
            // The index said there was room, but the doors went meanwhile (it follows commits within a
            // second): the fallback decides, as if the index had known.
            Err(AppError::NoFittingCompartment(nofit)) if first => {
                let reason = nofit.message();
                let destination =
                    self.fallback_for(input.point_id, &prepared, fallback, input.expected_arrival, reason);
                self.create_at(caller, &input, &settled, &prepared, &numbers, destination, fallback).await
            }
            other => other,
        }
    }

    /// Writes the order and announces its parcels to its destination, in one command.
    #[allow(clippy::too_many_arguments)]
    async fn create_at(
        &self,
        caller: &Caller,
        input: &NewOrder,
        settled: &OrderDraft,
        prepared: &Prepared,
        numbers: &[ParcelNumber],
        destination: Destination,
        fallback: Fallback,
    ) -> Result<OrderView, AppError> {
        let OrderDraft { merchant_id, key, digest, reference, service_level, shipping_price_cents, currency, lines } =
            settled.clone();
        let order = Order {
            id: self.new_id(),
            merchant_id,
            reference,
            idempotency_key: key,
            request_digest: digest,
            customer: prepared.customer.clone(),
            chosen_point_id: input.point_id,
            point_id: destination.point_id,
            service_level,
            shipping_price_cents,
            currency,
            lines,
            fallback,
            state: destination.state,
            reason: destination.reason,
            created_at: self.now(),
            updated_at: self.now(),
            version: 0,
        };
        let to_announce = self.to_announce(prepared, numbers);
        let created = self
            .run(|| async {
                let mut tx = self.tx();
                let order = Order { created_at: tx.now, updated_at: tx.now, ..order.clone() };
                tx.write(Write::Orders(OrderWrite::Insert(order.clone())));
                if let Some((platform, shop_order_id)) = &input.shop {
                    let link = crate::connectors::write_back::new_shop_order(&order, platform, shop_order_id, tx.now);
                    tx.write(Write::Orders(OrderWrite::PutShopWriteBack(link)));
                }
                let mut parcels = Vec::new();
                if let Some(point_id) = order.point_id {
                    let mut points = AnnouncePoints::default();
                    for parcel in &to_announce {
                        let announced = self.announce_in(&mut tx, caller, parcel, point_id, &mut points).await?;
                        tx.write(Write::Orders(OrderWrite::LinkParcel {
                            order_id: order.id,
                            parcel_id: parcel.id,
                            shipment: 1,
                        }));
                        parcels.push(OrderParcel {
                            parcel: announced.parcel,
                            shipment: 1,
                            pickup: Some((announced.pickup_code, announced.qr_token)),
                        });
                    }
                }
                if let Some(point_id) = order.point_id {
                    self.remember_point(&mut tx, &order.customer, order.merchant_id, point_id);
                }
                tell_merchant(&mut tx, "order.created", &order);
                if order.reason.is_some() {
                    let topic = match order.state {
                        OrderState::Announced => "order.redirected",
                        OrderState::OnHold => "order.on_hold",
                        OrderState::HomeDelivery => "order.home_delivery",
                    };
                    tell_merchant(&mut tx, topic, &order);
                }
                Ok(tx.done(OrderView { order, parcels, replayed: false }))
            })
            .await;
        match created {
            // A request with the same key that won the race: its answer.
            Err(AppError::AlreadyExists { what: "idempotency_key" }) => match &order.idempotency_key {
                Some(key) => match self.store.order_by_idempotency_key(merchant_id, key).await? {
                    Some(existing) => self.replay(existing, &order.request_digest).await,
                    None => Err(AppError::Busy),
                },
                None => Err(AppError::Busy),
            },
            other => other,
        }
    }

    /// Another shipment of an order: the remainders sent later, to the order's point or another.
    pub async fn add_shipment(
        &self,
        caller: &Caller,
        order_id: OrderId,
        parcels: Vec<NewOrderParcel>,
        point_id: Option<PointId>,
    ) -> Result<OrderView, AppError> {
        let order = self.load_order(caller, order_id).await?;
        let point_id = point_id.or(order.point_id).ok_or_else(|| {
            ParseError::new("point_id", "the order has no point (on hold or home delivery): name one")
        })?;
        let input = NewOrder {
            merchant_id: Some(order.merchant_id),
            customer_name: order.customer.name.clone(),
            customer_phone: order.customer.phone.as_ref().map(|p| p.as_str().to_owned()),
            customer_email: order.customer.email.as_ref().map(|e| e.as_str().to_owned()),
            customer_language: Some(order.customer.language.as_str().to_owned()),
            point_id,
            ..NewOrder::default()
        };
        let prepared = self.prepare(caller, order.merchant_id, &input, &parcels).await?;
        let destination = self.destination(point_id, &prepared, Fallback::Hold, None)?;
        if destination.point_id.is_none() {
            return Err(AppError::NoFittingCompartment(relais_domain::compartment::NoFit::PointUnavailable));
        }
        let numbers = self.numbers_for(&prepared).await?;
        let to_announce = self.to_announce(&prepared, &numbers);
        self.run(|| async {
            let mut tx = self.tx();
            let existing = self.store.order_parcels(order.id).await?;
            let shipment = existing.iter().map(|(_, s)| *s).max().unwrap_or(0) + 1;
            let mut points = AnnouncePoints::default();
            for parcel in &to_announce {
                self.announce_in(&mut tx, caller, parcel, point_id, &mut points).await?;
                tx.write(Write::Orders(OrderWrite::LinkParcel { order_id: order.id, parcel_id: parcel.id, shipment }));
            }
            // An order on hold or sent home that gets a shipment to a point is announced there now.
            if order.point_id.is_none() {
                tx.write(Write::Orders(OrderWrite::Update(Order {
                    point_id: Some(point_id),
                    state: OrderState::Announced,
                    updated_at: tx.now,
                    ..order.clone()
                })));
            }
            tell_merchant(&mut tx, "order.shipment_added", &order);
            Ok(tx.done(()))
        })
        .await?;
        self.order_view(caller, order_id).await
    }

    /// An order with its parcels (their codes while live), as its merchant or an operator sees it.
    pub async fn order_view(&self, caller: &Caller, order_id: OrderId) -> Result<OrderView, AppError> {
        let order = self.load_order(caller, order_id).await?;
        self.view_of(order, false).await
    }

    /// A merchant's order by its reference.
    pub async fn order_by_reference(
        &self,
        caller: &Caller,
        merchant_id: Option<MerchantId>,
        reference: &str,
    ) -> Result<OrderView, AppError> {
        let merchant_id = caller.merchant_in_scope(merchant_id)?;
        let order = self
            .store
            .order_by_reference(merchant_id, reference.trim())
            .await?
            .ok_or_else(|| AppError::not_found("order", reference))?;
        self.view_of(order, false).await
    }

    /// An order the caller may read (a merchant its own, an operator any), without its parcels.
    pub(crate) async fn load_order(&self, caller: &Caller, order_id: OrderId) -> Result<Order, AppError> {
        let not_found = || AppError::not_found("order", order_id);
        match caller.role {
            Role::Operator | Role::Merchant => {}
            _ => return Err(AppError::Forbidden { role: caller.role }),
        }
        let order = self.store.order(order_id).await?.ok_or_else(not_found)?;
        if caller.role == Role::Merchant && caller.merchant_id != Some(order.merchant_id) {
            return Err(not_found());
        }
        Ok(order)
    }

    async fn replay(&self, existing: Order, digest: &str) -> Result<OrderView, AppError> {
        if existing.request_digest != digest {
            return Err(AppError::IdempotencyKeyReused);
        }
        self.view_of(existing, true).await
    }

    async fn view_of(&self, order: Order, replayed: bool) -> Result<OrderView, AppError> {
        let mut parcels = Vec::new();
        for (parcel, shipment) in self.store.order_parcels(order.id).await? {
            let sealed = self.store.pickup_seal(parcel.id).await?;
            let pickup = sealed.and_then(|sealed| self.secrets.open_pickup(parcel.id, &sealed));
            parcels.push(OrderParcel { parcel, shipment, pickup });
        }
        Ok(OrderView { order, parcels, replayed })
    }

    /// The customer and the parcels of an order (or shipment), checked.
    async fn prepare(
        &self,
        caller: &Caller,
        merchant_id: MerchantId,
        input: &NewOrder,
        parcels: &[NewOrderParcel],
    ) -> Result<Prepared, AppError> {
        let customer = Recipient {
            name: parse_text("customer.name", &input.customer_name, Recipient::NAME_LENGTH_MAX)?,
            phone: input.customer_phone.as_deref().map(Phone::parse).transpose()?,
            email: input.customer_email.as_deref().map(Email::parse).transpose()?,
            language: Language::Fr,
        };
        check_reachable(&customer)?;
        let language = input.customer_language.as_deref().map(Language::parse).transpose()?;
        if parcels.is_empty() || parcels.len() > PARCELS_MAX {
            return Err(ParseError::new("parcels", format!("an order ships 1 to {PARCELS_MAX} parcels")).into());
        }
        let parcels = parcels
            .iter()
            .map(|p| {
                let dimensions = Dimensions::from_mm(p.length_mm, p.width_mm, p.height_mm)?;
                let weight = Weight::from_grams(p.weight_g)?;
                let number = p.parcel_number.as_deref().map(ParcelNumber::parse).transpose()?;
                Ok((dimensions, weight, number))
            })
            .collect::<Result<Vec<_>, ParseError>>()?;
        self.check_merchant(caller, merchant_id).await?;
        let carrier = match input.carrier_id {
            Some(carrier_id) => Some(self.load_carrier(carrier_id).await?),
            None => None,
        };
        Ok(Prepared { merchant_id, customer, language, carrier, parcels })
    }

    /// The chosen point if it can take every parcel, else the merchant's fallback.
    fn destination(
        &self,
        chosen: PointId,
        prepared: &Prepared,
        fallback: Fallback,
        arrival: Option<NaiveDate>,
    ) -> Result<Destination, AppError> {
        let index = self.registry.index();
        // A point the index does not know yet (created within the second), or an unknown one: the
        // announce itself checks it (room, size, weight), and refuses an unknown one.
        let mut refusals = refusals_at(&index, chosen, prepared, arrival).unwrap_or_default();
        refusals.sort_by_key(|r| r.code());
        refusals.dedup_by_key(|r| r.code());
        if refusals.is_empty() {
            return Ok(Destination { state: OrderState::Announced, point_id: Some(chosen), reason: None });
        }
        let reason = refusals.iter().map(|r| r.message()).collect::<Vec<_>>().join("; ");
        Ok(self.fallback_for(chosen, prepared, fallback, arrival, &reason))
    }

    /// Where the merchant's fallback sends an order the chosen point cannot take, and why.
    fn fallback_for(
        &self,
        chosen: PointId,
        prepared: &Prepared,
        fallback: Fallback,
        arrival: Option<NaiveDate>,
        reason: &str,
    ) -> Destination {
        let index = self.registry.index();
        let network = index.point(chosen).map(|p| p.network_id);
        let alternative = match fallback {
            Fallback::NearestSameNetwork | Fallback::OtherNetwork => {
                let networks = match fallback {
                    Fallback::NearestSameNetwork => network.into_iter().collect(),
                    _ => Vec::new(),
                };
                // The heaviest parcel picks the candidates; each must then take every parcel.
                let largest = prepared.parcels.iter().max_by_key(|(d, w, _)| (w.grams(), d.sum_mm()));
                largest.and_then(|(dimensions, weight, _)| {
                    index
                        .alternatives(
                            chosen,
                            FALLBACK_RADIUS_M,
                            FALLBACK_CANDIDATES,
                            &order_filter((*dimensions, *weight), networks, arrival),
                        )
                        .into_iter()
                        .map(|hit| hit.point.id)
                        .find(|candidate| {
                            refusals_at(&index, *candidate, prepared, arrival).is_some_and(|r| r.is_empty())
                        })
                })
            }
            Fallback::HomeDelivery | Fallback::Hold => None,
        };
        let (state, point_id) = Order::settle(fallback, alternative);
        let reason = reason.to_owned();
        let reason = match (state, point_id) {
            (OrderState::Announced, Some(_)) => {
                format!("the chosen point cannot take the parcels ({reason}): sent to the nearest that can")
            }
            (OrderState::OnHold, _) if fallback != Fallback::Hold => {
                format!(
                    "the chosen point cannot take the parcels ({reason}) and no point nearby can: waiting for the merchant"
                )
            }
            _ => format!("the chosen point cannot take the parcels ({reason})"),
        };
        Destination { state, point_id, reason: Some(reason) }
    }

    /// The numbers of the parcels that came without one: the merchant's next SSCCs.
    async fn numbers_for(&self, prepared: &Prepared) -> Result<Vec<ParcelNumber>, AppError> {
        let mut numbers = Vec::with_capacity(prepared.parcels.len());
        for (_, _, given) in &prepared.parcels {
            numbers.push(match given {
                Some(number) => number.clone(),
                None => self.issue_number(SeriesOwner::Merchant(prepared.merchant_id), "sscc").await?,
            });
        }
        Ok(numbers)
    }

    fn to_announce(&self, prepared: &Prepared, numbers: &[ParcelNumber]) -> Vec<ParcelToAnnounce> {
        prepared
            .parcels
            .iter()
            .zip(numbers)
            .map(|((dimensions, weight, _), number)| ParcelToAnnounce {
                id: self.new_id(),
                number: number.clone(),
                merchant_id: prepared.merchant_id,
                carrier: prepared.carrier.clone(),
                recipient: prepared.customer.clone(),
                language: prepared.language,
                dimensions: *dimensions,
                weight: *weight,
            })
            .collect()
    }
}

/// An order's news for its merchant's endpoints (`order.*`).
fn tell_merchant(tx: &mut crate::command::Tx<'_>, topic: &str, order: &Order) {
    let payload = serde_json::json!({
        "order_id": order.id.to_string(),
        "reference": order.reference,
        "merchant_id": order.merchant_id.to_string(),
        "state": order.state.as_str(),
        "chosen_point_id": order.chosen_point_id.to_string(),
        "point_id": order.point_id.map(|p| p.to_string()),
        "reason": order.reason,
        "at": tx.now.to_rfc3339(),
    });
    tx.message(topic, None, payload);
}

/// What identifies a request's content: a key sent again with another order is caught.
fn request_digest(input: &NewOrder, merchant_id: MerchantId) -> String {
    let mut hasher = Sha256::new();
    // `Debug` of the parsed-once input: every field, in a fixed order.
    hasher.update(format!("{merchant_id}|{input:?}").as_bytes());
    crate::secrets::hex(&hasher.finalize())
}

/// A parcel as the merchant's ERP pulls it back: its state, point and dates, with its order.
#[derive(Debug, Clone)]
pub struct ExportedParcel {
    pub parcel: Parcel,
    pub order_reference: Option<String>,
    pub shipment: Option<u32>,
}

/// The CSV header of `GET /v1/parcels/export`.
pub const EXPORT_HEADER: &str =
    "parcel_id,parcel_number,order_reference,shipment,state,point_id,deposited_at,pickup_deadline,updated_at";

impl ExportedParcel {
    /// The CSV row (RFC 3339 instants in UTC, empty when none).
    pub fn csv_row(&self) -> String {
        let p = &self.parcel;
        let time = |t: Option<relais_domain::Timestamp>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
        crate::csv_out::line(&[
            &p.id.to_string(),
            p.number.as_str(),
            self.order_reference.as_deref().unwrap_or_default(),
            &self.shipment.map(|s| s.to_string()).unwrap_or_default(),
            p.state.as_str(),
            &p.point_id.to_string(),
            &time(p.deposited_at),
            &time(p.pickup_deadline),
            &p.updated_at.to_rfc3339(),
        ])
    }
}

/// The most parcels one export reads.
pub const EXPORT_PARCELS_MAX: usize = 100_000;

impl App {
    /// The merchant's parcels changed since `since` (all when none), oldest first, with their orders:
    /// what an ERP pulls back. A merchant its own; an operator names the merchant.
    pub async fn export_parcels(
        &self,
        caller: &Caller,
        merchant_id: Option<MerchantId>,
        since: Option<relais_domain::Timestamp>,
    ) -> Result<Vec<ExportedParcel>, AppError> {
        let merchant_id = caller.merchant_in_scope(merchant_id)?;
        let filter = crate::ports::ParcelFilter { merchant_id: Some(merchant_id), ..Default::default() };
        let limit = self.limits.page_size_max;
        let mut after = None;
        let mut exported = Vec::new();
        loop {
            let page = self.store.parcels(&filter, crate::ports::Page { after, limit }).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            let full = page.len() == limit as usize;
            let page: Vec<Parcel> = page.into_iter().filter(|p| since.is_none_or(|s| p.updated_at >= s)).collect();
            let ids: Vec<_> = page.iter().map(|p| p.id).collect();
            let references: std::collections::HashMap<_, _> =
                self.store.order_references(&ids).await?.into_iter().map(|(id, r, s)| (id, (r, s))).collect();
            for parcel in page {
                let order = references.get(&parcel.id).cloned();
                exported.push(ExportedParcel {
                    order_reference: order.as_ref().map(|(r, _)| r.clone()),
                    shipment: order.map(|(_, s)| s),
                    parcel,
                });
            }
            if !full || exported.len() >= EXPORT_PARCELS_MAX {
                break;
            }
        }
        Ok(exported)
    }
}

impl App {
    /// Remembers the point a merchant's customer chose, by their contacts' keyed digests.
    fn remember_point(
        &self,
        tx: &mut crate::command::Tx<'_>,
        customer: &Recipient,
        merchant_id: MerchantId,
        point_id: PointId,
    ) {
        let contacts =
            customer.email.as_ref().map(|e| e.as_str()).into_iter().chain(customer.phone.as_ref().map(|p| p.as_str()));
        for contact in contacts {
            let contact_digest = self.secrets.contact_digest(contact);
            let at = tx.now;
            tx.write(Write::Orders(OrderWrite::PutCustomerPoint { merchant_id, contact_digest, point_id, at }));
        }
    }

    /// The point the caller's customer (a merchant's key, by the customer's e-mail address or phone
    /// number) used last, and when: proposed first at checkout. None when relais has not seen them.
    pub async fn customer_last_point(
        &self,
        caller: &Caller,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<Option<(PointId, relais_domain::Timestamp)>, AppError> {
        let Some(merchant_id) = caller.merchant_id.filter(|_| caller.role == Role::Merchant) else {
            return Err(AppError::Forbidden { role: caller.role });
        };
        let email = email.map(Email::parse).transpose()?;
        let phone = phone.map(Phone::parse).transpose()?;
        let digests: Vec<String> = email
            .iter()
            .map(|e| e.as_str().to_owned())
            .chain(phone.iter().map(|p| p.as_str().to_owned()))
            .map(|c| self.secrets.contact_digest(&c))
            .collect();
        if digests.is_empty() {
            return Err(ParseError::new("email", "give the customer's e-mail address or phone number").into());
        }
        Ok(self.store.customer_point(merchant_id, &digests).await?)
    }
}

/// The index's filter for one parcel of an order: its size and weight, room now, open on its arrival
/// day; in `networks` (any when empty).
fn order_filter(
    parcel: (Dimensions, Weight),
    networks: Vec<relais_domain::ids::NetworkId>,
    arrival: Option<NaiveDate>,
) -> Filter {
    Filter { networks, parcel: Some(parcel), arrival, free_capacity: true, ..Filter::default() }
}

/// Why `point` cannot take every parcel of an order (empty: it can); `None` when the index does not
/// know the point.
fn refusals_at(
    index: &relais_registry::index::PointIndex,
    point: PointId,
    prepared: &Prepared,
    arrival: Option<NaiveDate>,
) -> Option<Vec<Refusal>> {
    let mut all = Vec::new();
    for (dimensions, weight, _) in &prepared.parcels {
        let (_, refusals) =
            index.check(point, None, f64::INFINITY, &order_filter((*dimensions, *weight), Vec::new(), arrival))?;
        all.extend(refusals);
    }
    Some(all)
}

impl App {
    /// A merchant's search for its customer: the point they used last first, when it is among the
    /// points that suit the search; whether it is.
    pub async fn search_points_for_customer(
        &self,
        caller: &Caller,
        search: &crate::points::search::PointSearch,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<(crate::points::search::SearchResult, bool), AppError> {
        let mut result = self.search_points(caller, search)?;
        let Some((point, _)) = self.customer_last_point(caller, email, phone).await? else {
            return Ok((result, false));
        };
        let first = crate::points::search::put_first(&mut result, point);
        Ok((result, first))
    }
}

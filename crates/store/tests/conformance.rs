//! The storage conformance suite: the same stories run unchanged on SQLite and, when
//! `RELAIS_TEST_DATABASE_URL` is set, on PostgreSQL. They go through the use cases, so they also
//! prove the lifecycle rules end to end on each backend.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use relais_app::keys::{IssuedApiKey, NewApiKey};
use relais_app::parcels::{AnnounceParcel, PickupSecret};
use relais_app::points::{ImportLimits, ImportRequest, Near, PointSearch};
use relais_app::ports::{
    AttemptScope, Carrier, CommitError, IndexChange, IndexNotice, ManualClock, MessageWrite, Page, ParcelFilter,
    SeededRandom, Write,
};
use relais_app::setup::{CreatedPoint, NewCompartment, NewPoint};
use relais_app::{App, AppError, Caller, Role, Secrets, Store};
use relais_domain::compartment::{CompartmentState, DoorFault, NoFit};
use relais_domain::ids::{CarrierId, NetworkId};
use relais_domain::network::{Network, NetworkRules};
use relais_domain::parcel::{EventKind, IncidentKind, ParcelState, TransitionError};
use relais_domain::point::PickupPoint;
use relais_registry::formats::{Encoding, Format};
use relais_registry::index::Filter;
use relais_store::testing::{self, TestStore};

struct World {
    app: App,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    network: Network,
    locker: PickupPoint,
    counter: PickupPoint,
    merchant: Caller,
    carrier: Caller,
    device: Caller,
    counter_device: Caller,
    _store: TestStore,
}

/// A carrier of its own serving `network`, through a key of its own.
async fn carrier_of(w: &World, network: NetworkId, name: &str) -> Caller {
    let carrier = w.app.create_carrier(&Caller::system(), name, &[network]).await.unwrap();
    let issued = w.app.create_api_key(&Caller::system(), NewApiKey::carrier(carrier.id, name)).await.unwrap();
    w.app.authenticate(&issued.secret).await.unwrap()
}

/// A point's audit entries without the issuing of its device's key (every world issues one).
fn doors_audit(entries: Vec<relais_app::ports::AuditEntry>) -> Vec<relais_app::ports::AuditEntry> {
    entries.into_iter().filter(|e| e.action != relais_app::ports::AuditAction::ApiKeyCreated).collect()
}

/// What counter staff check before a hand-over.
fn passport() -> relais_app::counters::IdentityCheck {
    relais_app::counters::IdentityCheck {
        document: "passport".into(),
        name_matches: true,
        number_last4: Some("1234".into()),
    }
}

fn start() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap()
}

/// A network with one locker (2 x A, 1 x B, 1 x C) and one counter with 2 shelf slots.
async fn world(test: TestStore) -> World {
    let clock = Arc::new(ManualClock::new(start()));
    let app = App::new(test.store.clone(), clock.clone(), Arc::new(SeededRandom::new(42)), Secrets::new([7; 32]));
    let system = Caller::system();
    let network = app.create_network(&system, "Réseau test", NetworkRules::default()).await.unwrap();
    let merchant = app.create_merchant(&system, "Boutique").await.unwrap();
    let point = |kind: &str, external: &str, compartments: Vec<(&str, &str)>, shelf: Option<u32>| NewPoint {
        network_id: network.id,
        external_id: external.into(),
        kind: kind.into(),
        name: format!("{kind} {external}"),
        address_line1: "1 place de la Gare".into(),
        address_line2: None,
        postcode: "69002".into(),
        city: "Lyon".into(),
        country: "FR".into(),
        latitude: 45.75,
        longitude: 4.83,
        timezone: None,
        status: None,
        shelf_capacity: shelf,
        weight_max_g: None,
        dimensions_sum_max_mm: None,
        opening_hours: None,
        closures: Vec::new(),
        services: None,
        compartments: compartments
            .into_iter()
            .map(|(label, size)| NewCompartment { label: label.into(), size: size.into() })
            .collect(),
    };
    let CreatedPoint { point: locker, .. } = app
        .create_point(
            &system,
            point("locker", "L1", vec![("A01", "A"), ("A02", "A"), ("B01", "B"), ("C01", "C")], None),
        )
        .await
        .unwrap();
    let CreatedPoint { point: counter, .. } =
        app.create_point(&system, point("counter", "C1", vec![], Some(2))).await.unwrap();
    let carrier = app.create_carrier(&system, "Transports", &[network.id]).await.unwrap();
    let key = |input: NewApiKey| {
        let app = app.clone();
        async move {
            let issued = app.create_api_key(&Caller::system(), input).await.unwrap();
            app.authenticate(&issued.secret).await.unwrap()
        }
    };
    World {
        merchant: key(NewApiKey::merchant(merchant.id, "test")).await,
        carrier: key(NewApiKey::carrier(carrier.id, "test")).await,
        device: key(NewApiKey::device(locker.id, "test")).await,
        counter_device: key(NewApiKey::device(counter.id, "test")).await,
        store: test.store.clone(),
        app,
        clock,
        network,
        locker,
        counter,
        _store: test,
    }
}

async fn worlds() -> Vec<World> {
    let mut out = Vec::new();
    for store in testing::all().await {
        out.push(world(store).await);
    }
    out
}

/// A parcel for a recipient of its own (a phone number made from its parcel number), so that no two
/// parcels of a story share a compartment unless the story says so ([`announce_for`]).
fn announce(point: &PickupPoint, number: &str, dims: (i64, i64, i64)) -> AnnounceParcel {
    let digits = number.bytes().fold(17u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))) % 10_000_000;
    announce_for(point, number, dims, &format!("+3361{digits:07}"))
}

/// A parcel for the recipient with this phone number.
fn announce_for(point: &PickupPoint, number: &str, dims: (i64, i64, i64), phone: &str) -> AnnounceParcel {
    AnnounceParcel {
        merchant_id: None,
        carrier_id: None,
        point_id: point.id,
        parcel_number: Some(number.into()),
        recipient_name: "Ana Martin".into(),
        recipient_phone: Some(phone.into()),
        recipient_email: None,
        recipient_language: None,
        length_mm: dims.0,
        width_mm: dims.1,
        height_mm: dims.2,
        weight_g: 1200,
    }
}

/// The channels of the delivery worker as a test sees them: what each send would have sent, all
/// accepted. (The channels' own clients are tested against real servers: `relais-edge`'s tests.)
#[derive(Default)]
struct Recorder {
    sent: std::sync::Mutex<Vec<relais_app::notify::Outgoing>>,
}

#[async_trait::async_trait]
impl relais_app::notify::Outlets for Recorder {
    async fn send(&self, message: relais_app::notify::Outgoing) -> relais_domain::delivery::AttemptOutcome {
        self.sent.lock().unwrap().push(message);
        relais_domain::delivery::AttemptOutcome::Accepted { provider_ref: None }
    }
}

/// Runs the delivery worker until it has nothing left to do now; what it sent.
async fn deliver(w: &World) -> Vec<relais_app::notify::Outgoing> {
    let recorder = Arc::new(Recorder::default());
    let outlets: Arc<dyn relais_app::notify::Outlets> = recorder.clone();
    let settings = relais_app::notify::DeliverySettings::default();
    while !w.app.deliver_round(&outlets, &settings).await.unwrap().is_idle() {}
    let sent = std::mem::take(&mut *recorder.sent.lock().unwrap());
    // In the order they were sent, as the worker's tasks finish in any order.
    let mut sent = sent;
    sent.sort_by_key(relais_app::notify::Outgoing::delivery_id);
    sent
}

/// The SMS bodies among what was sent.
fn sms_bodies(sent: &[relais_app::notify::Outgoing]) -> Vec<String> {
    sent.iter()
        .filter_map(|m| match m {
            relais_app::notify::Outgoing::Sms(sms) => Some(sms.body.clone()),
            _ => None,
        })
        .collect()
}

const SMALL: (i64, i64, i64) = (300, 200, 50);
const MEDIUM: (i64, i64, i64) = (300, 200, 150);

#[tokio::test]
async fn a_parcel_life_at_a_locker() {
    for w in worlds().await {
        let name = w.store.backend();
        let announced = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCEL0001", SMALL)).await.unwrap();
        let reserved = announced.reservation.clone().expect("a locker reserves a compartment");
        assert_eq!(reserved.label, "A01", "{name}: best fit is the smallest class");
        assert_eq!(announced.parcel.state, ParcelState::Announced);

        w.clock.advance(Duration::hours(5));
        let deposit = w.app.deposit(&w.carrier, announced.parcel.id).await.unwrap();
        assert_eq!(deposit.failure, None);
        assert_eq!(deposit.compartment.as_ref().map(|c| c.id), Some(reserved.id), "{name}: its own reservation");
        assert_eq!(deposit.parcel.state, ParcelState::ReadyForPickup);
        assert_eq!(deposit.parcel.pickup_deadline, Some(start() + Duration::hours(5 + 72)));

        w.clock.advance(Duration::hours(1));
        let code = announced.pickup_code.as_str().to_owned();
        let collected = w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::Code(code.clone())).await.unwrap();
        assert_eq!(collected.parcel.state, ParcelState::Collected);
        assert_eq!(collected.compartment.as_ref().map(|c| c.label.as_str()), Some("A01"));

        let (_, compartments) = w.app.point(&w.carrier, w.locker.id).await.unwrap();
        assert!(compartments.iter().all(|c| c.state == CompartmentState::Available), "{name}: compartment freed");

        // A code works once. Sent again at once (a double tap, a retried request) it is told the parcel
        // is collected, not counted as a wrong code; minutes later it is a code like any other.
        let again = w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::Code(code.clone())).await;
        assert!(
            matches!(
                again,
                Err(AppError::InvalidTransition(TransitionError::Invalid { from: ParcelState::Collected, .. }))
            ),
            "{name}: {again:?}"
        );
        assert!(
            w.store.attempt_counter(AttemptScope::Point(w.locker.id)).await.unwrap().is_none(),
            "{name}: not counted"
        );
        w.clock.advance(Duration::minutes(3));
        let later = w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::Code(code)).await;
        assert!(matches!(later, Err(AppError::InvalidPickupCode)), "{name}: {later:?}");

        let events = w.app.parcel_events(&w.merchant, announced.parcel.id).await.unwrap();
        let kinds: Vec<EventKind> = events.iter().map(|e| e.event.kind).collect();
        assert_eq!(kinds, vec![EventKind::Announced, EventKind::Deposited, EventKind::Collected], "{name}");
        assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
        assert_eq!(events[1].event.compartment_id, Some(reserved.id));

        let outbox = w.store.outbox(None, 100).await.unwrap();
        let topics: Vec<&str> = outbox.iter().map(|m| m.topic.as_str()).collect();
        assert_eq!(topics, vec!["parcel.announced", "parcel.deposited", "parcel.collected"], "{name}");
        assert_eq!(outbox[2].payload["parcel_number"], "PARCEL0001");
    }
}

/// A locker's doors read back exactly as the database holds them after every step of a parcel's life
/// (SQLite serves them from a copy its writer keeps current), and a change another process writes to
/// the same database is seen within a moment.
#[tokio::test]
async fn doors_read_back_as_stored_and_follow_other_writers() {
    for w in worlds().await {
        let name = w.store.backend();
        let url = w._store.url.clone();
        // A store opened afresh reads the database itself.
        let stored = |url: String, point| async move {
            relais_store::open(&url).await.unwrap().compartments(point).await.unwrap()
        };
        let read = || w.store.compartments(w.locker.id);
        assert_eq!(read().await.unwrap(), stored(url.clone(), w.locker.id).await, "{name}: first read");

        let announced = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCEL0001", SMALL)).await.unwrap();
        assert_eq!(read().await.unwrap(), stored(url.clone(), w.locker.id).await, "{name}: after the reservation");
        w.clock.advance(Duration::hours(1));
        w.app.deposit(&w.carrier, announced.parcel.id).await.unwrap();
        assert_eq!(read().await.unwrap(), stored(url.clone(), w.locker.id).await, "{name}: after the deposit");
        let code = announced.pickup_code.as_str().to_owned();
        w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::Code(code)).await.unwrap();
        let doors = read().await.unwrap();
        assert_eq!(doors, stored(url.clone(), w.locker.id).await, "{name}: after the pickup");

        // Another process marks a door jammed.
        let other = relais_store::open(&url).await.unwrap();
        let jammed = relais_domain::compartment::Compartment { fault: Some(DoorFault::Jammed), ..doors[1].clone() };
        other.commit(vec![Write::UpdateCompartment(jammed)]).await.unwrap();
        let mut seen = false;
        for _ in 0..100 {
            if read().await.unwrap()[1].fault == Some(DoorFault::Jammed) {
                seen = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(seen, "{name}: the other process's change is never seen");
        assert_eq!(read().await.unwrap(), stored(url.clone(), w.locker.id).await, "{name}: after the other writer");
        // And the next parcel is not given the jammed door: the writer's copy follows.
        let next = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCEL0002", SMALL)).await.unwrap();
        assert_ne!(next.reservation.map(|k| k.id), Some(doors[1].id), "{name}");
        assert_eq!(read().await.unwrap(), stored(url, w.locker.id).await, "{name}: at the end");
    }
}

/// A point's opening hours and closures come back as they were given (hours in canonical form).
#[tokio::test]
async fn point_hours_and_closures_round_trip() {
    for w in worlds().await {
        let input = NewPoint {
            network_id: w.network.id,
            external_id: "H1".into(),
            kind: "counter".into(),
            name: "Tabac des Halles".into(),
            address_line1: "12 rue des Halles".into(),
            address_line2: None,
            postcode: "69001".into(),
            city: "Lyon".into(),
            country: "FR".into(),
            latitude: 45.76,
            longitude: 4.83,
            timezone: Some("Europe/Paris".into()),
            status: None,
            shelf_capacity: Some(10),
            weight_max_g: None,
            dimensions_sum_max_mm: None,
            opening_hours: Some("Mo-Fr 09:00-12:00,14:00-19:00 ;  Sa 09:00-12:00; PH off".into()),
            closures: vec![("2026-12-24".into(), "2026-12-26".into()), ("2026-08-03".into(), "2026-08-16".into())],
            services: Some("collect,return".into()),
            compartments: Vec::new(),
        };
        let CreatedPoint { point: created, .. } = w.app.create_point(&Caller::system(), input).await.unwrap();
        let stored = w.app.point(&Caller::system(), created.id).await.unwrap().0;
        assert_eq!(stored, created);
        assert_eq!(
            stored.opening_hours.as_ref().map(|h| h.as_str()),
            Some("Mo-Fr 09:00-12:00,14:00-19:00; Sa 09:00-12:00; PH closed")
        );
        let days: Vec<String> = stored.closures.iter().map(|c| format!("{}..{}", c.first, c.last)).collect();
        assert_eq!(days, vec!["2026-08-03..2026-08-16", "2026-12-24..2026-12-26"], "sorted by first day");
        // Points without hours stay without.
        let locker = w.app.point(&Caller::system(), w.locker.id).await.unwrap().0;
        assert_eq!((locker.opening_hours, locker.closures), (None, Vec::new()));
    }
}

const IMPORT_HEADER: &str =
    "external_id,kind,name,address_line1,postcode,city,country,latitude,longitude,opening_hours,compartments\n";

fn import(network: relais_domain::ids::NetworkId, csv: &str, dry_run: bool, limits: ImportLimits) -> ImportRequest {
    ImportRequest {
        network_id: network,
        format: Format::Csv,
        encoding: Encoding::Utf8,
        source: "points.csv".into(),
        bytes: format!("{IMPORT_HEADER}{csv}").into_bytes(),
        dry_run,
        limits,
        progress: None,
    }
}

/// An import applies its whole diff in one transaction and records it; a refused file changes nothing
/// but is recorded; a dry run records nothing. The search index follows.
#[tokio::test]
async fn imports_apply_atomically_and_keep_history() {
    let v1 = "\
P1,counter,Tabac du Parc,1 rue A,69001,Lyon,FR,45.7600,4.8300,Mo-Sa 09:00-19:00,
P2,counter,Presse,2 rue B,69002,Lyon,FR,45.7500,4.8300,,
P3,counter,Épicerie,3 rue C,69003,Lyon,FR,45.7550,4.8500,,
L1,locker,Consigne,4 rue D,69003,Lyon,FR,45.7560,4.8510,24/7,\"A:2,B:1\"
";
    // P1 renamed, P2 moved ~220 m, P3 gone, L1 the same, and one bad row.
    let v2 = "\
P1,counter,Tabac du Parc et Loto,1 rue A,69001,Lyon,FR,45.7600,4.8300,Mo-Sa 09:00-19:00,
P2,counter,Presse,2 rue B,69002,Lyon,FR,45.7520,4.8300,,
L1,locker,Consigne,4 rue D,69003,Lyon,FR,45.7560,4.8510,24/7,\"A:2,B:1\"
X1,counter,Broken,5 rue E,69004,Lyon,FR,north,4.83,,
";
    for w in worlds().await {
        let system = Caller::system();
        let network = w.app.create_network(&system, "Import", NetworkRules::default()).await.unwrap();
        let first = w.app.import_points(&system, import(network.id, v1, false, ImportLimits::default())).await.unwrap();
        assert_eq!((first.record.status.as_str(), first.record.changes), ("applied", [4, 0, 0, 0, 0, 0]));
        let points = w.store.points(Some(network.id), Page { after: None, limit: 100 }).await.unwrap();
        let by_id = |external: &str| points.iter().find(|p| p.external_id == external).unwrap().clone();
        let (p1, l1) = (by_id("P1"), by_id("L1"));
        assert_eq!(p1.source, "import:csv:points.csv");
        let counts = w.store.compartment_counts(Some(l1.id), w.app.now()).await.unwrap();
        assert_eq!((counts[0].free, counts[0].total), ([2, 1, 0, 0], [2, 1, 0, 0]));

        // Too many bad rows: refused, recorded, nothing changed. (Imports come minutes apart at least.)
        w.clock.advance(Duration::minutes(5));
        let refused =
            w.app.import_points(&system, import(network.id, v2, false, ImportLimits::default())).await.unwrap();
        assert!(refused.refusal.as_deref().unwrap().contains("1 of 4 rows"), "{:?}", refused.refusal);
        assert_eq!(refused.row_errors[0].to_string(), "line 5 (X1): latitude \"north\" is not a number");
        assert_eq!(w.store.point(p1.id).await.unwrap().unwrap().name, "Tabac du Parc");

        // Accepted with looser limits: the diff, one transaction, the history.
        w.clock.advance(Duration::minutes(5));
        let loose = ImportLimits { error_share_max: 0.3, removal_share_max: 0.5, ..ImportLimits::default() };
        let applied = w.app.import_points(&system, import(network.id, v2, false, loose)).await.unwrap();
        assert_eq!((applied.record.status.as_str(), applied.record.changes), ("applied", [0, 1, 1, 0, 0, 1]));
        assert_eq!((applied.record.unchanged, applied.record.rows_refused), (1, 1));
        let p1_after = w.store.point(p1.id).await.unwrap().unwrap();
        assert_eq!((p1_after.name.as_str(), p1_after.version), ("Tabac du Parc et Loto", p1.version + 1));
        let p3 = w.store.point(by_id("P3").id).await.unwrap().unwrap();
        assert_eq!(p3.status, relais_domain::point::PointStatus::Decommissioned);
        let history = w.app.point_history(&system, p1.id).await.unwrap();
        let kinds: Vec<&str> = history.iter().map(|c| c.kind.as_str()).collect();
        assert_eq!(kinds, ["added", "changed"]);
        assert_eq!(history[1].import_id, Some(applied.record.id));
        assert_eq!(
            history[1].fields,
            [("name".to_owned(), "Tabac du Parc".to_owned(), "Tabac du Parc et Loto".to_owned())]
        );

        // A dry run reports and records nothing.
        w.clock.advance(Duration::minutes(5));
        let dry = w.app.import_points(&system, import(network.id, v1, true, loose)).await.unwrap();
        assert_eq!((dry.record.status.as_str(), dry.record.changes), ("dry_run", [0, 1, 1, 0, 1, 0]));
        let imports = w.app.imports(&system, network.id, Page { after: None, limit: 10 }).await.unwrap();
        let statuses: Vec<&str> = imports.iter().map(|i| i.status.as_str()).collect();
        assert_eq!(statuses, ["applied", "refused", "applied"], "newest first, no dry run");
        assert!(imports[1].problems.starts_with("1 of 4 rows"), "{}", imports[1].problems);

        // The index followed the import: P3 is gone from searches, P1 has its new name.
        let search = PointSearch {
            near: Some(Near::Position(relais_domain::value::Coordinates::parse(45.76, 4.83).unwrap())),
            radius_m: Some(5_000.0),
            limit: Some(10),
            filter: Filter { networks: vec![network.id], ..Filter::default() },
        };
        let found = w.app.search_points(&system, &search).unwrap();
        let names: Vec<&str> = found.hits.iter().map(|h| h.point.name.as_str()).collect();
        assert_eq!(names, ["Tabac du Parc et Loto", "Presse", "Consigne"]);
    }
}

/// Capacity in the index follows deposits and pickups (after the refresh the server runs every second).
#[tokio::test]
async fn the_index_follows_capacity_changes() {
    for w in worlds().await {
        w.app.rebuild_index().await.unwrap();
        let system = Caller::system();
        let free = |app: &App| {
            let search = PointSearch {
                near: Some(Near::Position(w.locker.coordinates)),
                radius_m: Some(1_000.0),
                limit: Some(10),
                filter: Filter { networks: vec![w.network.id], ..Filter::default() },
            };
            let hits = app.search_points(&system, &search).unwrap().hits;
            hits.iter().find(|h| h.point.id == w.locker.id).unwrap().capacity.unwrap().free
        };
        assert_eq!(free(&w.app), [2, 1, 1, 0]);
        let announced = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELIX01", SMALL)).await.unwrap();
        assert_eq!(w.app.refresh_capacities().await.unwrap(), 1);
        assert_eq!(free(&w.app), [1, 1, 1, 0], "a reservation takes a door");
        w.app.deposit(&w.carrier, announced.parcel.id).await.unwrap();
        w.app.refresh_capacities().await.unwrap();
        assert_eq!(free(&w.app), [1, 1, 1, 0]);
        w.app.pickup_parcel(&w.device, announced.parcel.id, announced.pickup_code.as_str(), None).await.unwrap();
        w.app.refresh_capacities().await.unwrap();
        assert_eq!(free(&w.app), [2, 1, 1, 0]);
    }
}

/// The free doors per size class the search gives for a point, or `None` when it does not find it.
fn free_doors(app: &App, network: &Network, point: &PickupPoint) -> Option<[u32; 4]> {
    let search = PointSearch {
        near: Some(Near::Position(point.coordinates)),
        radius_m: Some(1_000.0),
        limit: Some(50),
        filter: Filter { networks: vec![network.id], ..Filter::default() },
    };
    let hits = app.search_points(&Caller::system(), &search).unwrap().hits;
    hits.iter().find(|h| h.point.id == point.id).map(|h| h.capacity.unwrap().free)
}

/// A point created through the API is in the search at the next refresh (the server runs one every
/// second), with its doors, and its capacity follows from then on.
#[tokio::test]
async fn a_point_created_is_searchable_after_the_next_refresh() {
    for w in worlds().await {
        let name = w.store.backend();
        w.app.rebuild_index().await.unwrap();
        let doors = ["A01", "A02", "B01"].into_iter().map(|l| NewCompartment { label: l.into(), size: l[..1].into() });
        let new = new_point(w.network.id, "L3", "locker", (45.7545, 4.8301), doors.collect(), None);
        let CreatedPoint { point: added, .. } = w.app.create_point(&Caller::system(), new).await.unwrap();
        assert_eq!(free_doors(&w.app, &w.network, &added), None, "{name}: not before the refresh");
        assert_eq!(w.app.refresh_index().await.unwrap(), 1, "{name}");
        assert_eq!(free_doors(&w.app, &w.network, &added), Some([2, 1, 0, 0]), "{name}");
        w.app.announce_parcel(&w.merchant, announce(&added, "PARCELNEW1", SMALL)).await.unwrap();
        w.app.refresh_index().await.unwrap();
        assert_eq!(free_doors(&w.app, &w.network, &added), Some([1, 1, 0, 0]), "{name}");
        // The points already there kept their capacity through the update.
        assert_eq!(free_doors(&w.app, &w.network, &w.locker), Some([2, 1, 1, 0]), "{name}");
        // A point written behind this process's back (as by another process's import) comes in when a
        // notice asks for a rebuild.
        let input = new_point(w.network.id, "C9", "counter", (45.755, 4.83), Vec::new(), Some(3));
        let id = w.app.new_id();
        let validated = relais_registry::PointValidator::new().validate(
            &input,
            id,
            relais_app::Clock::now(w.clock.as_ref()),
            "test",
            relais_registry::Compartments::Optional,
        );
        let unmarked = validated.unwrap();
        w.store.commit(vec![Write::InsertPoint(unmarked.clone())]).await.unwrap();
        w.app.refresh_index().await.unwrap();
        assert_eq!(free_doors(&w.app, &w.network, &unmarked), None, "{name}: nothing said, nothing seen");
        w.app.hear(IndexNotice::Rebuild);
        assert_eq!(w.app.refresh_index().await.unwrap(), 4, "{name}: the whole index, rebuilt");
        assert!(free_doors(&w.app, &w.network, &unmarked).is_some(), "{name}");
        // Only PostgreSQL has other processes to follow.
        assert_eq!(w.app.follow_other_processes().await.unwrap(), name == "postgres", "{name}");
    }
}

/// The batch reads the index job makes each second give what the single reads give.
#[tokio::test]
async fn points_and_counts_read_by_the_batch_match_one_by_one() {
    for w in worlds().await {
        let name = w.store.backend();
        w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELBAT1", SMALL)).await.unwrap();
        let unknown = relais_domain::ids::Id::from_parts(1, [9; 10]);
        let mut points = w.store.points_by_id(&[w.counter.id, unknown, w.locker.id]).await.unwrap();
        points.sort_by_key(|p| p.id);
        let mut one_by_one = vec![
            w.store.point(w.locker.id).await.unwrap().unwrap(),
            w.store.point(w.counter.id).await.unwrap().unwrap(),
        ];
        one_by_one.sort_by_key(|p| p.id);
        assert_eq!(points, one_by_one, "{name}");
        let counts = w.store.compartment_counts_of(&[w.counter.id, w.locker.id, unknown], w.app.now()).await.unwrap();
        assert_eq!(
            counts,
            w.store.compartment_counts(Some(w.locker.id), w.app.now()).await.unwrap(),
            "{name}: lockers only"
        );
        assert_eq!((counts[0].free, counts[0].reserved), ([1, 1, 1, 0], [1, 0, 0, 0]), "{name}");
        assert!(w.store.points_by_id(&[]).await.unwrap().is_empty(), "{name}");
    }
}

/// Refreshes `app`'s index as its job does every second, until `seen` holds (10 s at most).
async fn refreshed_until(app: &App, seen: impl Fn(&App) -> bool) -> bool {
    for _ in 0..200 {
        if seen(app) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        app.refresh_index().await.unwrap();
    }
    seen(app)
}

/// Two processes sharing one PostgreSQL database: what one commits that changes the search (a new
/// point, a reservation) reaches the other's search within a moment; a transaction that rolls back
/// tells nobody; a process does not hear itself.
#[tokio::test]
async fn other_processes_hear_what_changes_the_search() {
    let Some(test) = testing::postgres().await else { return };
    let url = test.url.clone();
    let w = world(test).await;
    let other_store = relais_store::open(&url).await.unwrap();
    let other = App::new(other_store.clone(), w.clock.clone(), Arc::new(SeededRandom::new(7)), Secrets::new([7; 32]));
    assert!(other.follow_other_processes().await.unwrap());
    other.rebuild_index().await.unwrap();
    w.app.rebuild_index().await.unwrap();
    assert_eq!(free_doors(&other, &w.network, &w.locker), Some([2, 1, 1, 0]));
    let doors = ["B01"].into_iter().map(|l| NewCompartment { label: l.into(), size: l[..1].into() });
    let new = new_point(w.network.id, "L5", "locker", (45.7550, 4.8302), doors.collect(), None);
    let CreatedPoint { point: added, .. } = w.app.create_point(&Caller::system(), new).await.unwrap();
    let heard = refreshed_until(&other, |app| free_doors(app, &w.network, &added) == Some([0, 1, 0, 0])).await;
    assert!(heard, "the new point is heard");

    let first = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELHEAR", SMALL)).await.unwrap();
    let heard = refreshed_until(&other, |app| free_doors(app, &w.network, &w.locker) == Some([1, 1, 1, 0])).await;
    assert!(heard, "the reservation is heard");

    // The first process fills the locker. The other hears it full, but the occupancy alert is for the
    // process that made the change to raise: one change, one alert.
    w.app.deposit(&w.carrier, first.parcel.id).await.unwrap();
    for n in 0..3 {
        let announced = w.app.announce_parcel(&w.merchant, announce(&w.locker, &format!("FILL{n:06}"), SMALL));
        w.app.deposit(&w.carrier, announced.await.unwrap().parcel.id).await.unwrap();
    }
    let heard = refreshed_until(&other, |app| free_doors(app, &w.network, &w.locker) == Some([0, 0, 0, 0])).await;
    assert!(heard, "the full locker is heard");
    assert!(w.store.occupancy_alert(w.locker.id).await.unwrap().is_none(), "not raised by the other process");
    w.app.refresh_index().await.unwrap();
    assert!(w.store.occupancy_alert(w.locker.id).await.unwrap().is_some(), "raised by the process that filled it");

    // Store level: a rolled-back transaction sends no notice, and a store does not hear its own.
    let mut heard_by_other = other_store.index_notices().await.unwrap().unwrap();
    let mut heard_by_first = w.store.index_notices().await.unwrap().unwrap();
    let door = w.store.compartments(w.locker.id).await.unwrap().remove(0);
    let stale = relais_domain::compartment::Compartment { version: door.version - 1, ..door };
    assert!(matches!(w.store.commit(vec![Write::UpdateCompartment(stale)]).await, Err(CommitError::Conflict)));
    let counter = w.store.point(w.counter.id).await.unwrap().unwrap();
    let shelf = PickupPoint { shelf_occupied: 1, ..counter };
    other_store.commit(vec![Write::UpdatePointShelf(shelf)]).await.unwrap();
    let wait = std::time::Duration::from_secs(10);
    let first_notice = tokio::time::timeout(wait, heard_by_first.recv()).await.unwrap().unwrap();
    assert_eq!(first_notice, IndexNotice::Changes(vec![IndexChange::Capacity(w.counter.id)]));
    let counter = w.store.point(w.counter.id).await.unwrap().unwrap();
    w.store.commit(vec![Write::UpdatePointShelf(PickupPoint { shelf_occupied: 0, ..counter })]).await.unwrap();
    // Had the rolled-back transaction told anyone, its notice would come first.
    let notice = tokio::time::timeout(wait, heard_by_other.recv()).await.unwrap().unwrap();
    assert_eq!(notice, IndexNotice::Changes(vec![IndexChange::Capacity(w.counter.id)]), "not the rolled-back one");

    // The listening connections are cut (a database restart, a proxy): each listener connects again
    // and, having perhaps missed notices meanwhile, asks for a rebuild; then it hears again.
    let channel = format!("LISTEN \"relais_index.{}\"", url.rsplit("search_path%3D").next().unwrap());
    let cut = "SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity WHERE query = $1";
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let cut: i32 = admin.query_one(cut, &[&channel]).await.unwrap().get(0);
    assert_eq!(cut, 3, "the other app's, and one per store above");
    assert_eq!(tokio::time::timeout(wait, heard_by_other.recv()).await.unwrap(), Some(IndexNotice::Rebuild));
    let counter = w.store.point(w.counter.id).await.unwrap().unwrap();
    w.store.commit(vec![Write::UpdatePointShelf(PickupPoint { shelf_occupied: 1, ..counter })]).await.unwrap();
    let notice = tokio::time::timeout(wait, heard_by_other.recv()).await.unwrap().unwrap();
    assert_eq!(notice, IndexNotice::Changes(vec![IndexChange::Capacity(w.counter.id)]), "heard again");
}

#[tokio::test]
async fn a_qr_token_collects_once_and_only_at_its_point() {
    for w in worlds().await {
        let announced = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELQR01", SMALL)).await.unwrap();
        w.app.deposit(&w.carrier, announced.parcel.id).await.unwrap();
        let token = PickupSecret::QrToken(announced.qr_token.clone());
        let neighbour = neighbour_locker(&w).await;
        let elsewhere = w.app.pickup_at_point(&Caller::device(neighbour.id), neighbour.id, token.clone()).await;
        assert!(matches!(elsewhere, Err(AppError::InvalidPickupCode)), "{elsewhere:?}");
        let forbidden = w.app.pickup_at_point(&w.device, neighbour.id, token.clone()).await;
        assert!(matches!(forbidden, Err(AppError::Forbidden { .. })), "a device acts only at its own point");
        // A counter hands over with an identity check, never on a code or token alone.
        let counter = w.app.pickup_at_point(&w.counter_device, w.counter.id, token.clone()).await;
        assert!(matches!(counter, Err(AppError::Validation(ref e)) if e.field == "point_id"), "{counter:?}");
        let collected = w.app.pickup_at_point(&w.device, w.locker.id, token.clone()).await.unwrap();
        assert_eq!(collected.parcel.state, ParcelState::Collected);
        assert!(matches!(w.app.pickup_at_point(&w.device, w.locker.id, token).await, Err(AppError::InvalidPickupCode)));
    }
}

#[tokio::test]
async fn best_fit_refusals_and_deposit_failures() {
    for w in worlds().await {
        let name = w.store.backend();
        let too_big = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELBIG1", (900, 900, 900))).await;
        assert!(matches!(too_big, Err(AppError::NoFittingCompartment(NoFit::TooLarge))), "{name}: {too_big:?}");
        assert!(w.store.parcels_by_number(&"PARCELBIG1".parse_number(), 2).await.unwrap().is_empty(), "nothing stored");

        // Medium parcels fit B and C only: two reserve them, the third is refused.
        let first = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELMED1", MEDIUM)).await.unwrap();
        let second = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELMED2", MEDIUM)).await.unwrap();
        assert_eq!(first.reservation.unwrap().label, "B01");
        assert_eq!(second.reservation.unwrap().label, "C01");
        let third = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELMED3", MEDIUM)).await;
        assert!(matches!(third, Err(AppError::NoFittingCompartment(NoFit::AllFittingBusy))), "{name}: {third:?}");

        // After the reservations lapse, a parcel announced at the counter... and one deposit at the locker
        // without a reservation takes a lapsed compartment.
        w.clock.advance(Duration::hours(73));
        let late = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELMED4", MEDIUM)).await.unwrap();
        assert_eq!(late.reservation.unwrap().label, "B01", "{name}: a lapsed reservation is free");
        // The first parcel lost its reservation; C01 is still free for it.
        let deposit = w.app.deposit(&w.carrier, first.parcel.id).await.unwrap();
        assert_eq!(deposit.compartment.unwrap().label, "C01");
        // The second finds nothing: deposit_failed with the reason, recorded as an event.
        let failed = w.app.deposit(&w.carrier, second.parcel.id).await.unwrap();
        assert_eq!(failed.failure, Some(NoFit::AllFittingBusy));
        assert_eq!(failed.parcel.state, ParcelState::DepositFailed);
        let events = w.app.parcel_events(&w.carrier, second.parcel.id).await.unwrap();
        assert_eq!(events.last().unwrap().event.reason.as_deref(), Some("all_fitting_compartments_busy"));
        // Trying again while still full changes nothing.
        let retry = w.app.deposit(&w.carrier, second.parcel.id).await;
        assert!(matches!(retry, Err(AppError::NoFittingCompartment(NoFit::AllFittingBusy))), "{retry:?}");
        assert_eq!(w.app.parcel_events(&w.carrier, second.parcel.id).await.unwrap().len(), events.len());
    }
}

trait ParseNumber {
    fn parse_number(&self) -> relais_domain::value::ParcelNumber;
}
impl ParseNumber for str {
    fn parse_number(&self) -> relais_domain::value::ParcelNumber {
        relais_domain::value::ParcelNumber::parse(self).unwrap()
    }
}

#[tokio::test]
async fn counter_shelf_capacity_and_hand_over() {
    for w in worlds().await {
        let mut parcels = Vec::new();
        for n in 0..3 {
            parcels.push(
                w.app
                    .announce_parcel(&w.merchant, announce(&w.counter, &format!("COUNTER{n:03}"), MEDIUM))
                    .await
                    .unwrap(),
            );
        }
        assert!(parcels[0].reservation.is_none());
        for p in &parcels[..2] {
            let outcome = w.app.deposit(&w.carrier, p.parcel.id).await.unwrap();
            assert_eq!(outcome.parcel.state, ParcelState::ReadyForPickup);
        }
        let full = w.app.deposit(&w.carrier, parcels[2].parcel.id).await.unwrap();
        assert_eq!(full.failure, Some(NoFit::ShelfFull));
        assert_eq!(w.store.point(w.counter.id).await.unwrap().unwrap().shelf_occupied, 2);

        // Hand-over with the parcel named: the wrong code counts, the right one collects.
        let wrong = w.app.pickup_parcel(&w.counter_device, parcels[0].parcel.id, "00000000", Some(&passport())).await;
        assert!(matches!(wrong, Err(AppError::InvalidPickupCode)));
        let ok = w
            .app
            .pickup_parcel(&w.counter_device, parcels[0].parcel.id, parcels[0].pickup_code.as_str(), Some(&passport()))
            .await;
        assert_eq!(ok.unwrap().parcel.state, ParcelState::Collected);
        assert_eq!(w.store.point(w.counter.id).await.unwrap().unwrap().shelf_occupied, 1);
        // The freed slot takes the failed parcel on a new try.
        let retried = w.app.deposit(&w.carrier, parcels[2].parcel.id).await.unwrap();
        assert_eq!(retried.parcel.state, ParcelState::ReadyForPickup);
    }
}

/// Past the limit of wrong codes a locker's keypad checks one code per probe period until the lockout
/// ends: the guesser gets a few tries a minute, a recipient with the right code waits seconds, and a QR
/// token (a signature no one can guess) is not held up at all.
#[tokio::test]
async fn wrong_codes_slow_the_guesser_not_the_lockers_other_users() {
    for w in worlds().await {
        let name = w.store.backend();
        let a = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELLOCK", SMALL)).await.unwrap();
        let b = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELLOCQ", SMALL)).await.unwrap();
        w.app.deposit(&w.carrier, a.parcel.id).await.unwrap();
        w.app.deposit(&w.carrier, b.parcel.id).await.unwrap();
        let limits = w.app.limits().point_attempts;
        let probe = Duration::seconds(i64::from(limits.probe_seconds));
        assert!(limits.probe_seconds > 0, "a keypad is probed");
        let right = PickupSecret::Code(a.pickup_code.as_str().to_owned());
        let wrong =
            PickupSecret::Code(if a.pickup_code.as_str() == "11111111" { "22222222" } else { "11111111" }.into());
        let try_code = |secret: PickupSecret| w.app.pickup_at_point(&w.device, w.locker.id, secret);
        for _ in 0..limits.failures_max {
            let r = try_code(wrong.clone()).await;
            assert!(matches!(r, Err(AppError::InvalidPickupCode)), "{name}: {r:?}");
        }
        // Locked: the next code, even the right one, waits for the next probe.
        let locked = try_code(right.clone()).await;
        assert!(
            matches!(locked, Err(AppError::RateLimited { retry_after_seconds, .. }) if retry_after_seconds == probe.num_seconds() as u64),
            "{name}: {locked:?}"
        );
        // A QR token goes through.
        let by_qr = try_code(PickupSecret::QrToken(b.qr_token.clone())).await.unwrap();
        assert_eq!(by_qr.parcel.state, ParcelState::Collected, "{name}");
        // One code per probe period: a wrong one keeps the lock, and the right one waits for the next.
        w.clock.advance(probe);
        assert!(matches!(try_code(wrong.clone()).await, Err(AppError::InvalidPickupCode)), "{name}");
        assert!(matches!(try_code(right.clone()).await, Err(AppError::RateLimited { .. })), "{name}");
        w.clock.advance(probe);
        let collected = try_code(right).await.unwrap();
        assert_eq!(collected.parcel.state, ParcelState::Collected, "{name}");
        let stored = w.store.attempt_counter(AttemptScope::Point(w.locker.id)).await.unwrap().unwrap();
        assert_eq!(stored.counter.failures, limits.failures_max, "{name}: probes keep the lock, not add to it");
        // The lockout ends: a fresh window.
        w.clock.advance(Duration::seconds(i64::from(limits.lockout_seconds)));
        assert!(matches!(try_code(wrong).await, Err(AppError::InvalidPickupCode)), "{name}");
        let stored = w.store.attempt_counter(AttemptScope::Point(w.locker.id)).await.unwrap().unwrap();
        assert_eq!((stored.counter.failures, stored.counter.locked_until), (1, None), "{name}");
    }
}

/// However many wrong codes arrive at once, exactly the limit of them are checked; the others are
/// refused as rate-limited without being tried.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_codes_are_checked_up_to_the_limit_exactly() {
    for w in worlds().await {
        let name = w.store.backend();
        let a = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELRUSH", SMALL)).await.unwrap();
        w.app.deposit(&w.carrier, a.parcel.id).await.unwrap();
        let limits = w.app.limits().point_attempts;
        let mut tasks = Vec::new();
        for n in 0..150u32 {
            let (app, device, locker) = (w.app.clone(), w.device.clone(), w.locker.id);
            let code = format!("{:08}", 30_000_000 + n);
            assert_ne!(code, a.pickup_code.as_str());
            tasks.push(tokio::spawn(
                async move { app.pickup_at_point(&device, locker, PickupSecret::Code(code)).await },
            ));
        }
        let (mut checked, mut limited) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Err(AppError::InvalidPickupCode) => checked += 1,
                Err(AppError::RateLimited { .. }) => limited += 1,
                other => panic!("{name}: {other:?}"),
            }
        }
        assert_eq!((checked, limited), (limits.failures_max, 150 - limits.failures_max), "{name}");
        let stored = w.store.attempt_counter(AttemptScope::Point(w.locker.id)).await.unwrap().unwrap();
        assert_eq!(stored.counter.failures, limits.failures_max, "{name}");
    }
}

#[tokio::test]
async fn extension_expiry_and_return() {
    for w in worlds().await {
        let name = w.store.backend();
        let a = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELEXP1", SMALL)).await.unwrap();
        let b = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELEXP2", SMALL)).await.unwrap();
        w.app.deposit(&w.carrier, a.parcel.id).await.unwrap();
        w.app.deposit(&w.carrier, b.parcel.id).await.unwrap();

        w.clock.advance(Duration::hours(10));
        let early = w.app.extend(&w.merchant, a.parcel.id).await;
        assert!(matches!(early, Err(AppError::InvalidTransition(TransitionError::ExtensionRefused(_)))), "{early:?}");
        w.clock.advance(Duration::hours(30));
        let extended = w.app.extend(&w.merchant, a.parcel.id).await.unwrap();
        assert_eq!(extended.pickup_deadline, Some(start() + Duration::hours(72 + 48)));

        let system = Caller::system();
        w.clock.set(start() + Duration::hours(71));
        assert_eq!(w.app.expire_due(&system, 100).await.unwrap(), 0, "{name}: nothing due yet");
        w.clock.set(start() + Duration::hours(72));
        assert_eq!(w.app.expire_due(&system, 100).await.unwrap(), 1, "{name}: only the unextended parcel");
        assert_eq!(w.app.expire_due(&system, 100).await.unwrap(), 0, "{name}: idempotent");
        let expired = w.app.parcel(&w.merchant, b.parcel.id).await.unwrap();
        assert_eq!(expired.state, ParcelState::Expired);
        assert!(expired.compartment_id.is_some(), "still physically in the locker");

        let late =
            w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::Code(b.pickup_code.as_str().into())).await;
        assert!(matches!(late, Err(AppError::InvalidPickupCode)), "an expired parcel is no longer collectable");

        let returning = w.app.collect_return(&w.carrier, b.parcel.id).await.unwrap();
        assert_eq!(returning.state, ParcelState::Returning);
        let compartment = w.store.compartment(expired.compartment_id.unwrap()).await.unwrap().unwrap();
        assert_eq!(compartment.state, CompartmentState::Available);
        let back = w.app.return_to_sender(&w.carrier, b.parcel.id).await.unwrap();
        assert_eq!(back.state, ParcelState::ReturnedToSender);
        let again = w.app.collect_return(&w.carrier, b.parcel.id).await;
        assert!(matches!(again, Err(AppError::InvalidTransition(_))));
    }
}

#[tokio::test]
async fn invalid_transitions_change_nothing() {
    for w in worlds().await {
        let name = w.store.backend();
        let p = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELINV1", SMALL)).await.unwrap();
        let before = w.app.parcel(&w.merchant, p.parcel.id).await.unwrap();
        let pickup = w.app.pickup_parcel(&w.device, p.parcel.id, p.pickup_code.as_str(), None).await;
        assert!(matches!(pickup, Err(AppError::InvalidTransition(_))), "{name}: pickup before deposit: {pickup:?}");
        let expire = w.app.collect_return(&w.carrier, p.parcel.id).await;
        assert!(matches!(expire, Err(AppError::InvalidTransition(_))));
        assert_eq!(w.app.parcel(&w.merchant, p.parcel.id).await.unwrap(), before, "{name}: unchanged");

        w.app.deposit(&w.carrier, p.parcel.id).await.unwrap();
        let twice = w.app.deposit(&w.carrier, p.parcel.id).await;
        assert!(matches!(twice, Err(AppError::InvalidTransition(_))), "{name}: deposit twice: {twice:?}");
        let cancel = w.app.cancel(&w.merchant, p.parcel.id, None).await;
        assert!(matches!(cancel, Err(AppError::InvalidTransition(_))));
        w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::Code(p.pickup_code.as_str().into())).await.unwrap();
        let incident = w.app.report_incident(&w.carrier, p.parcel.id, IncidentKind::Lost, None).await;
        assert!(matches!(incident, Err(AppError::InvalidTransition(_))));
        assert_eq!(w.app.parcel_events(&w.merchant, p.parcel.id).await.unwrap().len(), 3);
    }
}

#[tokio::test]
async fn cancel_and_incident_release_what_the_parcel_held() {
    for w in worlds().await {
        let a = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELCAN1", SMALL)).await.unwrap();
        let reserved = a.reservation.unwrap();
        let cancelled = w.app.cancel(&w.merchant, a.parcel.id, Some("customer changed mind")).await.unwrap();
        assert_eq!(cancelled.state, ParcelState::Cancelled);
        assert_eq!(w.store.compartment(reserved.id).await.unwrap().unwrap().state, CompartmentState::Available);

        let b = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELLOST", SMALL)).await.unwrap();
        let placed = w.app.deposit(&w.carrier, b.parcel.id).await.unwrap().compartment.unwrap();
        let lost =
            w.app.report_incident(&w.carrier, b.parcel.id, IncidentKind::Lost, Some("door found open")).await.unwrap();
        assert_eq!(lost.state, ParcelState::Incident(IncidentKind::Lost));
        assert_eq!(w.store.compartment(placed.id).await.unwrap().unwrap().state, CompartmentState::Available);

        let c = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELDMG1", SMALL)).await.unwrap();
        let placed = w.app.deposit(&w.carrier, c.parcel.id).await.unwrap().compartment.unwrap();
        w.app.report_incident(&w.carrier, c.parcel.id, IncidentKind::Damaged, None).await.unwrap();
        let still = w.store.compartment(placed.id).await.unwrap().unwrap().state;
        assert_eq!(still, CompartmentState::Occupied { parcel_id: c.parcel.id }, "a damaged parcel is still there");
    }
}

#[tokio::test]
async fn merchants_see_only_their_own_parcels() {
    for w in worlds().await {
        let system = Caller::system();
        let other = w.app.create_merchant(&system, "Autre boutique").await.unwrap();
        let other_key = w.app.create_api_key(&system, NewApiKey::merchant(other.id, "other")).await.unwrap();
        let other_caller = w.app.authenticate(&other_key.secret).await.unwrap();
        let mine = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELMINE", SMALL)).await.unwrap();
        let theirs = w.app.announce_parcel(&other_caller, announce(&w.counter, "PARCELTHEIRS", SMALL)).await.unwrap();

        assert!(matches!(w.app.parcel(&other_caller, mine.parcel.id).await, Err(AppError::NotFound { .. })));
        assert!(matches!(w.app.cancel(&other_caller, mine.parcel.id, None).await, Err(AppError::NotFound { .. })));
        let listed =
            w.app.parcels(&other_caller, ParcelFilter::default(), Page { after: None, limit: 100 }).await.unwrap();
        assert_eq!(listed.iter().map(|p| p.id).collect::<Vec<_>>(), vec![theirs.parcel.id]);
        // Asking for someone else's merchant id in the filter does not widen the view.
        let sneaky = ParcelFilter { merchant_id: Some(mine.parcel.merchant_id), ..Default::default() };
        let listed = w.app.parcels(&other_caller, sneaky, Page { after: None, limit: 100 }).await.unwrap();
        assert_eq!(listed.len(), 1);
        let all = w.app.parcels(&system, ParcelFilter::default(), Page { after: None, limit: 100 }).await.unwrap();
        assert_eq!(all.len(), 2);
        assert!(matches!(w.app.deposit(&w.merchant, mine.parcel.id).await, Err(AppError::Forbidden { .. })));
        assert!(matches!(w.app.authenticate("rk_merchant_nope").await, Err(AppError::Unauthorized)));
    }
}

/// A carrier serving the world's network and a second one, its networks, and a key of it.
async fn carrier_of_two_networks(w: &World) -> (Carrier, Vec<NetworkId>, IssuedApiKey) {
    let system = Caller::system();
    let second = w.app.create_network(&system, "Second", NetworkRules::default()).await.unwrap();
    let both = vec![w.network.id, second.id];
    let carrier = w.app.create_carrier(&system, "Two networks", &both).await.unwrap();
    let issued = w.app.create_api_key(&system, NewApiKey::carrier(carrier.id, "both")).await.unwrap();
    (carrier, both, issued)
}

#[tokio::test]
async fn a_key_authenticates_with_its_carriers_networks_until_revoked() {
    for w in worlds().await {
        let system = Caller::system();
        let (carrier, mut both, issued) = carrier_of_two_networks(&w).await;
        let caller = w.app.authenticate(&issued.secret).await.unwrap();
        both.sort();
        let mut networks = caller.networks.clone();
        networks.sort();
        assert_eq!((caller.role, caller.carrier_id, networks), (Role::Carrier, Some(carrier.id), both.clone()));
        assert!(w.merchant.networks.is_empty() && w.device.networks.is_empty());

        w.app.revoke_api_key(&system, issued.key.id, "courier left").await.unwrap();
        assert!(matches!(w.app.authenticate(&issued.secret).await, Err(AppError::Unauthorized)));
        // By its id (who opened a courier session), revoked or not, with the same networks.
        let (key, mut networks) = w.store.api_key_with_networks(issued.key.id).await.unwrap().unwrap();
        networks.sort();
        assert_eq!(
            (key.id, key.carrier_id, key.revoked_at.is_some(), networks),
            (issued.key.id, Some(carrier.id), true, both)
        );
        let merchant_key = w.merchant.key_id.unwrap();
        let (key, networks) = w.store.api_key_with_networks(merchant_key).await.unwrap().unwrap();
        assert_eq!((key.id, networks), (merchant_key, vec![]));
        assert!(w.store.api_key_with_networks(relais_domain::ids::Id::from_parts(1, [7; 10])).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn the_keys_serving_a_network_are_the_live_keys_of_its_carriers_oldest_first() {
    for w in worlds().await {
        let system = Caller::system();
        let second = w.app.create_network(&system, "Second", NetworkRules::default()).await.unwrap();
        let both = w.app.create_carrier(&system, "Both", &[w.network.id, second.id]).await.unwrap();
        let elsewhere = w.app.create_carrier(&system, "Elsewhere", &[second.id]).await.unwrap();
        let key = |carrier: CarrierId, label: &'static str| {
            let app = &w.app;
            async move { app.create_api_key(&Caller::system(), NewApiKey::carrier(carrier, label)).await.unwrap().key.id }
        };
        let kept = key(both.id, "kept").await;
        let revoked = key(both.id, "revoked").await;
        let other_network = key(elsewhere.id, "elsewhere").await;
        w.app.revoke_api_key(&system, revoked, "handheld lost").await.unwrap();

        let store = &w.store;
        let serving = |network| async move {
            store.carrier_keys_serving(network).await.unwrap().into_iter().map(|k| k.id).collect::<Vec<_>>()
        };
        let mut expected = vec![w.carrier.key_id.unwrap(), kept];
        expected.sort();
        assert_eq!(serving(w.network.id).await, expected);
        let mut expected = vec![kept, other_network];
        expected.sort();
        assert_eq!(serving(second.id).await, expected);
        let nobody = w.app.create_network(&system, "Nobody", NetworkRules::default()).await.unwrap();
        assert_eq!(serving(nobody.id).await, vec![]);
    }
}

#[tokio::test]
async fn a_session_is_read_with_the_key_that_opened_it_and_its_carriers_networks() {
    for w in worlds().await {
        let system = Caller::system();
        let (carrier, mut both, issued) = carrier_of_two_networks(&w).await;
        let handheld = w.app.authenticate(&issued.secret).await.unwrap();
        let code = w.app.courier_code(&handheld, w.locker.id, None).await.unwrap();
        let session = w.app.open_drop_off_session(&w.device, w.locker.id, &code.code).await.unwrap();

        let (read, key, mut networks) = w.store.drop_off_session_with_carrier(session.id).await.unwrap().unwrap();
        networks.sort();
        both.sort();
        assert_eq!((read, key.id, key.carrier_id, networks), (session.clone(), issued.key.id, Some(carrier.id), both));
        // Revoked since: still the key that opened it.
        w.app.revoke_api_key(&system, issued.key.id, "handheld lost").await.unwrap();
        let (_, key, _) = w.store.drop_off_session_with_carrier(session.id).await.unwrap().unwrap();
        assert!(key.revoked_at.is_some());
        let unknown = relais_domain::ids::Id::from_parts(1, [7; 10]);
        assert!(w.store.drop_off_session_with_carrier(unknown).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn a_session_scans_only_the_parcels_its_carrier_handles() {
    for w in worlds().await {
        let system = Caller::system();
        let name = w.store.backend();
        let rival = w.app.create_carrier(&system, "Rival", &[w.network.id]).await.unwrap();
        let rival_key = w.app.create_api_key(&system, NewApiKey::carrier(rival.id, "rival")).await.unwrap();
        let rival_handheld = w.app.authenticate(&rival_key.secret).await.unwrap();
        // One parcel handed to the world's carrier by name, one to whoever serves the network.
        let named = AnnounceParcel { carrier_id: w.carrier.carrier_id, ..announce(&w.locker, "NAMED0001", SMALL) };
        w.app.announce_parcel(&w.merchant, named).await.unwrap();
        w.app.announce_parcel(&w.merchant, announce(&w.locker, "ANYONE0001", SMALL)).await.unwrap();

        // The rival's courier types its own code on the keypad: the session is the rival's.
        let code = w.app.courier_code(&rival_handheld, w.locker.id, None).await.unwrap();
        let session = w.app.open_drop_off_session(&w.device, w.locker.id, &code.code).await.unwrap();
        assert_eq!(session.carrier_key_id, rival_key.key.id, "{name}");
        let refused = w.app.scan_into_session(&w.device, session.id, "NAMED0001").await;
        assert!(matches!(refused, Err(AppError::NotFound { .. })), "{name}: {refused:?}");
        let scanned = w.app.scan_into_session(&w.device, session.id, "ANYONE0001").await.unwrap();
        assert!(scanned.command.is_some(), "{name}: a parcel no carrier was named for is the rival's too");

        // The world's carrier, in a session of its own, scans the parcel named for it.
        let code = w.app.courier_code(&w.carrier, w.locker.id, None).await.unwrap();
        let own = w.app.open_drop_off_session(&w.device, w.locker.id, &code.code).await.unwrap();
        let scanned = w.app.scan_into_session(&w.device, own.id, "NAMED0001").await.unwrap();
        assert!(scanned.command.is_some(), "{name}");
        // Nobody else's session is found, whatever it holds.
        let unknown = relais_domain::ids::Id::from_parts(1, [9; 10]);
        let missing = w.app.scan_into_session(&w.device, unknown, "ANYONE0001").await;
        assert!(matches!(missing, Err(AppError::NotFound { .. })), "{name}: {missing:?}");
    }
}

#[tokio::test]
async fn the_pickup_code_is_kept_sealed_while_it_is_live_and_erased_when_it_dies() {
    for w in worlds().await {
        let name = w.store.backend();
        // The world's instance key (`world`): only it opens the seals.
        let secrets = Secrets::new([7; 32]);
        let system = Caller::system();
        let a = w.app.announce_parcel(&w.merchant, announce(&w.locker, "SEALED0001", SMALL)).await.unwrap();
        let id = a.parcel.id;
        let sealed = w.store.pickup_seal(id).await.unwrap().unwrap();
        assert!(!sealed.windows(8).any(|b| b == a.pickup_code.as_str().as_bytes()), "{name}: not in clear");
        assert_eq!(secrets.open_pickup(id, &sealed), Some((a.pickup_code.clone(), a.qr_token.clone())), "{name}");
        assert_eq!(Secrets::new([8; 32]).open_pickup(id, &sealed), None, "{name}: another instance's key");

        // Deposited: still live, still sealed. A lost code re-issued: the seal holds the new one.
        w.app.deposit(&w.carrier, id).await.unwrap();
        let reissued = w.app.reissue_pickup_code(&system, id).await.unwrap();
        let sealed = w.store.pickup_seal(id).await.unwrap().unwrap();
        assert_eq!(secrets.open_pickup(id, &sealed), Some((reissued.pickup_code.clone(), reissued.qr_token)), "{name}");

        // Collected: the code dies, and its seal with it.
        w.app.pickup_parcel(&w.device, id, reissued.pickup_code.as_str(), None).await.unwrap();
        assert_eq!(w.store.pickup_seal(id).await.unwrap(), None, "{name}");
        // A cancelled parcel's too.
        let b = w.app.announce_parcel(&w.merchant, announce(&w.locker, "SEALED0002", SMALL)).await.unwrap();
        assert!(w.store.pickup_seal(b.parcel.id).await.unwrap().is_some(), "{name}");
        w.app.cancel(&w.merchant, b.parcel.id, None).await.unwrap();
        assert_eq!(w.store.pickup_seal(b.parcel.id).await.unwrap(), None, "{name}");
    }
}

#[tokio::test]
async fn cursor_pagination_visits_every_parcel_once() {
    for w in worlds().await {
        let system = Caller::system();
        for n in 0..7 {
            w.app.announce_parcel(&w.merchant, announce(&w.counter, &format!("PAGE{n:04}"), SMALL)).await.unwrap();
        }
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = w.app.parcels(&system, ParcelFilter::default(), Page { after, limit: 3 }).await.unwrap();
            if page.is_empty() {
                break;
            }
            after = page.last().map(|p| p.id);
            seen.extend(page.into_iter().map(|p| p.number.as_str().to_owned()));
        }
        seen.sort();
        assert_eq!(seen, (0..7).map(|n| format!("PAGE{n:04}")).collect::<Vec<_>>());
        let ready = ParcelFilter { state: Some(ParcelState::ReadyForPickup), ..Default::default() };
        assert!(w.app.parcels(&system, ready, Page { after: None, limit: 10 }).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_commit_is_all_or_nothing() {
    for w in worlds().await {
        let name = w.store.backend();
        let (_, compartments) = w.app.point(&Caller::system(), w.locker.id).await.unwrap();
        let merchant = w.app.create_merchant(&Caller::system(), "Atomic").await.unwrap();
        let stale = compartments[0].clone();
        // Move the compartment on, so `stale` carries an old version.
        let disabled = relais_domain::compartment::Compartment { state: CompartmentState::Disabled, ..stale.clone() };
        w.store.commit(vec![Write::UpdateCompartment(disabled)]).await.unwrap();
        let new_merchant = relais_app::ports::Merchant { id: w.app.new_id(), name: "half".into(), created_at: start() };
        let result =
            w.store.commit(vec![Write::InsertMerchant(new_merchant.clone()), Write::UpdateCompartment(stale)]).await;
        assert!(matches!(result, Err(CommitError::Conflict)), "{name}: {result:?}");
        assert!(w.store.merchant(new_merchant.id).await.unwrap().is_none(), "{name}: nothing half-applied");

        let duplicate = relais_app::ports::Merchant { name: "again".into(), ..merchant };
        let result = w.store.commit(vec![Write::InsertMerchant(duplicate)]).await;
        assert!(matches!(result, Err(CommitError::Duplicate { what: "id" })), "{name}: {result:?}");

        let p = w.app.announce_parcel(&w.merchant, announce(&w.counter, "PARCELDUP1", SMALL)).await.unwrap();
        let again = w.app.announce_parcel(&w.merchant, announce(&w.counter, "PARCELDUP1", SMALL)).await;
        assert!(matches!(again, Err(AppError::AlreadyExists { what: "parcel_number" })), "{name}: {again:?}");
        assert_eq!(w.store.parcels_by_number(&"PARCELDUP1".parse_number(), 2).await.unwrap()[0].id, p.parcel.id);
    }
}

/// Many commands at once, so that the store commits them in batches (SQLite's writer, PostgreSQL's commit
/// lanes): a command that fails in a batch gets its own error and leaves nothing behind, and every other
/// command of the batch still commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commands_committed_together_keep_their_own_answers() {
    for w in worlds().await {
        let name = w.store.backend();
        let (_, compartments) = w.app.point(&Caller::system(), w.locker.id).await.unwrap();
        let taken = w.app.create_merchant(&Caller::system(), "Taken").await.unwrap();
        // A stale copy: the door moves on, so an update made from this one matches no row.
        let stale = compartments[0].clone();
        let moved = relais_domain::compartment::Compartment { state: CompartmentState::Disabled, ..stale.clone() };
        w.store.commit(vec![Write::UpdateCompartment(moved)]).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..60 {
            let store = w.store.clone();
            let merchant =
                relais_app::ports::Merchant { id: w.app.new_id(), name: format!("M{n}"), created_at: start() };
            // Every fifth command repeats a merchant id, every fifth (offset) carries a stale door.
            let writes = match n % 5 {
                1 => vec![Write::InsertMerchant(relais_app::ports::Merchant { id: taken.id, ..merchant.clone() })],
                3 => vec![Write::InsertMerchant(merchant.clone()), Write::UpdateCompartment(stale.clone())],
                _ => vec![Write::InsertMerchant(merchant.clone())],
            };
            tasks.spawn(async move { (n, merchant.id, store.commit(writes).await) });
        }
        let mut outcomes = Vec::new();
        while let Some(done) = tasks.join_next().await {
            outcomes.push(done.unwrap());
        }
        assert_eq!(outcomes.len(), 60);
        for (n, id, result) in outcomes {
            let stored = w.store.merchant(id).await.unwrap();
            match n % 5 {
                1 => assert!(matches!(result, Err(CommitError::Duplicate { what: "id" })), "{name} {n}: {result:?}"),
                3 => {
                    assert!(matches!(result, Err(CommitError::Conflict)), "{name} {n}: {result:?}");
                    assert!(stored.is_none(), "{name} {n}: nothing of a failed command is kept");
                }
                _ => {
                    assert!(result.is_ok(), "{name} {n}: {result:?}");
                    assert_eq!(stored.unwrap().name, format!("M{n}"), "{name} {n}");
                }
            }
        }
        assert_eq!(w.store.merchant(taken.id).await.unwrap().unwrap().name, "Taken", "{name}");
    }
}

/// PostgreSQL only: another process's transaction holds a row lock (as an import holds its points). The
/// command that needs that row waits for it, and only that one: the commands that would have been
/// committed with it, or after it by the same commit lane, go through meanwhile (ADR 11).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_elsewhere_holds_up_only_the_command_that_needs_it() {
    let Some(test) = testing::postgres().await else { return };
    let url = test.url.clone();
    let w = world(test).await;
    let (_, doors) = w.app.point(&Caller::system(), w.locker.id).await.unwrap();
    let (elsewhere, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    elsewhere.batch_execute("BEGIN").await.unwrap();
    elsewhere.execute("SELECT 1 FROM compartments WHERE id = $1 FOR UPDATE", &[&doors[0].id.uuid()]).await.unwrap();

    let disable = |door: &relais_domain::compartment::Compartment| {
        vec![Write::UpdateCompartment(relais_domain::compartment::Compartment {
            state: CompartmentState::Disabled,
            ..door.clone()
        })]
    };
    let store = w.store.clone();
    let blocked = tokio::spawn({
        let writes = disable(&doors[0]);
        async move { store.commit(writes).await }
    });
    // Let the blocked command reach its lane before the others, which name the same locker (so the same
    // lane) or no locker at all.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut others = tokio::task::JoinSet::new();
    for door in &doors[1..] {
        let (store, writes) = (w.store.clone(), disable(door));
        others.spawn(async move { store.commit(writes).await });
    }
    for n in 0..8 {
        let store = w.store.clone();
        let merchant = relais_app::ports::Merchant { id: w.app.new_id(), name: format!("M{n}"), created_at: start() };
        others.spawn(async move { store.commit(vec![Write::InsertMerchant(merchant)]).await });
    }
    // A guard against a hang, not a measure: these must all finish while the lock is still held.
    let done = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        let mut results = Vec::new();
        while let Some(result) = others.join_next().await {
            results.push(result.unwrap());
        }
        results
    })
    .await
    .expect("commands that need no locked row wait for none");
    assert_eq!(done.len(), doors.len() - 1 + 8);
    assert!(done.iter().all(Result::is_ok), "{done:?}");
    assert!(!blocked.is_finished(), "the command on the locked row waits for it");

    elsewhere.batch_execute("COMMIT").await.unwrap();
    let result = tokio::time::timeout(std::time::Duration::from_secs(30), blocked).await.unwrap().unwrap();
    assert!(result.is_ok(), "{result:?}");
    let (_, doors) = w.app.point(&Caller::system(), w.locker.id).await.unwrap();
    assert!(doors.iter().all(|d| d.state == CompartmentState::Disabled), "{doors:?}");
}

#[tokio::test]
async fn lapsed_reservations_are_tidied() {
    for w in worlds().await {
        let a = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELLAPS", SMALL)).await.unwrap();
        let system = Caller::system();
        assert_eq!(w.app.release_lapsed_reservations(&system, 10).await.unwrap(), 0);
        w.clock.advance(Duration::hours(i64::from(w.network.rules.reservation_hours)));
        assert_eq!(w.app.release_lapsed_reservations(&system, 10).await.unwrap(), 1);
        let c = w.store.compartment(a.reservation.unwrap().id).await.unwrap().unwrap();
        assert_eq!(c.state, CompartmentState::Available);
    }
}

/// The store counts a compartment free exactly when the domain says it is (`Compartment::is_free`):
/// every state a compartment can be in, before and after a soft reservation lapses. The search's free
/// capacity and the occupancy figures are these counts.
#[tokio::test]
async fn free_compartments_are_counted_as_the_domain_counts_them() {
    use relais_domain::compartment::Compartment;
    for w in worlds().await {
        let name = w.store.backend();
        let doors = (1..=9).map(|n| NewCompartment { label: format!("A{n:02}"), size: "A".into() }).collect();
        let input = new_point(w.network.id, "FREE1", "locker", (45.76, 4.84), doors, None);
        let CreatedPoint { point: locker, compartments, .. } =
            w.app.create_point(&Caller::system(), input).await.unwrap();
        let now = w.app.now();
        let (soon, later, past) = (now + Duration::hours(1), now + Duration::hours(3), now - Duration::hours(1));
        let parcel = |n: u8| relais_domain::ids::Id::from_parts(1_800_000_000_000, [n; 10]);
        let mut occupied_with_fault = compartments[6].occupy(parcel(7), now).unwrap();
        occupied_with_fault.fault = Some(DoorFault::Jammed);
        let states: Vec<Compartment> = vec![
            compartments[0].clone(),
            compartments[1].reserve(parcel(2), soon, now).unwrap(),
            compartments[2].reserve(parcel(3), later, now).unwrap(),
            Compartment {
                state: CompartmentState::Reserved { parcel_id: parcel(4), expires_at: Some(past) },
                ..compartments[3].clone()
            },
            Compartment {
                state: CompartmentState::Reserved { parcel_id: parcel(5), expires_at: None },
                ..compartments[4].clone()
            },
            compartments[5].occupy(parcel(6), now).unwrap().share(parcel(16)).unwrap(),
            occupied_with_fault,
            compartments[7].report_fault(DoorFault::Broken).compartment,
            Compartment { state: CompartmentState::Disabled, ..compartments[8].clone() },
        ];
        for compartment in &states {
            w.store.commit(vec![Write::UpdateCompartment(compartment.clone())]).await.unwrap();
        }
        for at in [now, soon, later + Duration::seconds(1)] {
            let counts = w.store.compartment_counts(Some(locker.id), at).await.unwrap();
            let free = states.iter().filter(|c| c.is_free(at)).count() as u32;
            let reserved = states
                .iter()
                .filter(|c| matches!(c.state, CompartmentState::Reserved { .. }) && !c.is_free(at) && c.fault.is_none())
                .count() as u32;
            assert_eq!(counts[0].total[0], 9, "{name}");
            assert_eq!(counts[0].free[0], free, "{name} at {at}: free as the domain counts it");
            assert_eq!(counts[0].reserved[0], reserved, "{name} at {at}: a lapsed reservation is not reserved");
            assert_eq!(counts[0].occupied[0], 2, "{name}");
            let batch = w.store.compartment_counts_of(&[locker.id], at).await.unwrap();
            assert_eq!(batch, counts, "{name}: the batch read counts the same");
        }
    }
}

/// More parcels than compartments, deposited from many tasks at once: no compartment ever gets two
/// parcels that do not share it by rule, every parcel ends deposited or `deposit_failed`, and the counts
/// add up. With one recipient for all, they share doors up to what each door holds, and no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deposits_never_share_a_compartment() {
    for w in worlds().await {
        concurrent_deposits(&w, false).await;
        concurrent_deposits(&w, true).await;
    }
}

async fn concurrent_deposits(w: &World, one_recipient: bool) {
    {
        let name = format!("{} (one recipient: {one_recipient})", w.store.backend());
        let system = Caller::system();
        let labels: Vec<(String, &str)> = (0..12).map(|i| (format!("X{i:02}"), ["A", "B", "C"][i % 3])).collect();
        // A network that does not reserve at announce: more parcels can be on their way than there are
        // compartments, and the deposits decide who gets one.
        let rules = NetworkRules { reservation_hours: 0, ..NetworkRules::default() };
        let network = w.app.create_network(&system, "No reservations", rules).await.unwrap();
        let carrier = carrier_of(w, network.id, "Busy").await;
        let CreatedPoint { point: locker, .. } = w
            .app
            .create_point(
                &system,
                NewPoint {
                    network_id: network.id,
                    external_id: format!("BUSY{one_recipient}"),
                    kind: "locker".into(),
                    name: "Busy locker".into(),
                    address_line1: "2 rue".into(),
                    address_line2: None,
                    postcode: "69001".into(),
                    city: "Lyon".into(),
                    country: "FR".into(),
                    latitude: 45.76,
                    longitude: 4.83,
                    timezone: None,
                    status: None,
                    shelf_capacity: None,
                    weight_max_g: None,
                    dimensions_sum_max_mm: None,
                    opening_hours: None,
                    closures: Vec::new(),
                    services: None,
                    compartments: labels
                        .iter()
                        .map(|(l, s)| NewCompartment { label: l.clone(), size: (*s).into() })
                        .collect(),
                },
            )
            .await
            .unwrap();
        let mut ids = Vec::new();
        for n in 0..40 {
            let number = format!("RACE{n:04}{}", u8::from(one_recipient));
            let parcel = if one_recipient {
                announce_for(&locker, &number, SMALL, "+33699999999")
            } else {
                announce(&locker, &number, SMALL)
            };
            let announced = w.app.announce_parcel(&w.merchant, parcel).await;
            let announced = announced.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(announced.reservation.is_none(), "{name}: this network does not reserve");
            ids.push(announced.parcel.id);
        }
        let too_big = w
            .app
            .announce_parcel(&w.merchant, announce(&locker, &format!("RACEBIG{one_recipient}"), (900, 900, 900)))
            .await;
        assert!(matches!(too_big, Err(AppError::NoFittingCompartment(NoFit::TooLarge))), "{name}: {too_big:?}");
        let mut tasks = Vec::new();
        for id in ids.clone() {
            let app = w.app.clone();
            let carrier = carrier.clone();
            tasks.push(tokio::spawn(async move { app.deposit(&carrier, id).await }));
        }
        let mut deposited = 0;
        let mut failed = 0;
        for task in tasks {
            let outcome = task.await.unwrap().unwrap_or_else(|e| panic!("{name}: {e}"));
            match outcome.failure {
                None => deposited += 1,
                Some(NoFit::AllFittingBusy) => failed += 1,
                Some(other) => panic!("{name}: unexpected {other:?}"),
            }
        }
        let compartments = w.store.compartments(locker.id).await.unwrap();
        if one_recipient {
            // 50 mm thick each: an A door (80 mm) takes one, a B (190 mm) three, a C (410 mm) eight; 48 in all.
            assert_eq!((deposited, failed), (40, 0), "{name}");
            let mut inside = Vec::new();
            for c in &compartments {
                assert!(matches!(c.state, CompartmentState::Occupied { .. }), "{name}: {} is {:?}", c.label, c.state);
                let mut sizes = Vec::new();
                for holder in c.holders() {
                    let p = w.store.parcel(holder).await.unwrap().unwrap();
                    assert_eq!((p.state, p.compartment_id), (ParcelState::ReadyForPickup, Some(c.id)), "{name}");
                    sizes.push((p.dimensions, p.weight));
                    inside.push(holder);
                }
                assert!(c.size.holds_together(&sizes), "{name}: {} holds {} parcels", c.label, sizes.len());
            }
            inside.sort();
            inside.dedup();
            assert_eq!(inside.len(), 40, "{name}: each parcel in one compartment");
            return;
        }
        assert_eq!(deposited, 12, "{name}: every compartment used once");
        assert_eq!(failed, 28, "{name}");
        let mut holders: Vec<_> = compartments
            .iter()
            .map(|c| match c.state {
                CompartmentState::Occupied { parcel_id } => parcel_id,
                other => panic!("{name}: {} is {other:?}", c.label),
            })
            .collect();
        holders.sort();
        holders.dedup();
        assert_eq!(holders.len(), 12, "{name}: twelve different parcels");
        for id in ids {
            let p = w.store.parcel(id).await.unwrap().unwrap();
            match p.state {
                ParcelState::ReadyForPickup => {
                    let c = compartments.iter().find(|c| Some(c.id) == p.compartment_id).unwrap();
                    assert_eq!(c.state, CompartmentState::Occupied { parcel_id: id });
                }
                ParcelState::DepositFailed => assert_eq!(p.compartment_id, None),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn both_schemas_describe_the_same_tables_and_columns() {
    let sqlite = testing::sqlite();
    let Some(postgres) = testing::postgres().await else {
        eprintln!("PostgreSQL not configured ({}): schema comparison skipped", testing::DATABASE_URL_VAR);
        return;
    };
    let sqlite_store = relais_store::SqliteStore::open(std::path::Path::new(&sqlite.url)).unwrap();
    let postgres_store = relais_store::PostgresStore::connect(&postgres.url).await.unwrap();
    let left = sqlite_store.schema_columns().unwrap();
    let right = postgres_store.schema_columns().await.unwrap();
    assert!(left.len() >= 9, "{left:?}");
    assert_eq!(left, right);
}

/// An import reports its stages in order, with the row count while validating, and always finishes.
#[tokio::test]
async fn an_import_reports_its_progress() {
    use relais_app::points::ImportProgress;
    #[derive(Default)]
    struct Recorded(std::sync::Mutex<Vec<String>>);
    impl ImportProgress for Recorded {
        fn stage(&self, name: &'static str, total: u64) {
            self.0.lock().unwrap().push(format!("{name}/{total}"));
        }
        fn advance(&self, done: u64) {
            self.0.lock().unwrap().push(format!("+{done}"));
        }
        fn finish(&self) {
            self.0.lock().unwrap().push("finish".into());
        }
    }
    for w in worlds().await {
        let network = w.app.create_network(&Caller::system(), "Progress", NetworkRules::default()).await.unwrap();
        let recorded = Arc::new(Recorded::default());
        let rows = "P1,counter,A,1 rue A,69001,Lyon,FR,45.76,4.83,,\nP2,counter,B,2 rue B,69001,Lyon,FR,45.77,4.83,,\n";
        let mut request = import(network.id, rows, false, ImportLimits::default());
        request.progress = Some(recorded.clone());
        w.app.import_points(&Caller::system(), request).await.unwrap();
        let seen = recorded.0.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                "reading/0",
                "validating/2",
                "+0",
                "+2",
                "comparing/0",
                "applying/5",
                "updating the search index/0",
                "finish"
            ]
        );
        // A refused file finishes too.
        let recorded = Arc::new(Recorded::default());
        let mut request = import(network.id, "", false, ImportLimits::default());
        request.bytes = b"   ".to_vec();
        request.progress = Some(recorded.clone());
        let outcome = w.app.import_points(&Caller::system(), request).await.unwrap();
        assert!(outcome.refusal.is_some());
        assert_eq!(recorded.0.lock().unwrap().last().map(String::as_str), Some("finish"));
    }
}

/// A locker row with bad doors is refused alone, with its line; the other rows are imported.
#[tokio::test]
async fn bad_doors_refuse_their_row_only() {
    for w in worlds().await {
        let network = w.app.create_network(&Caller::system(), "Doors", NetworkRules::default()).await.unwrap();
        let rows = "\
L1,locker,Good,1 rue A,69001,Lyon,FR,45.76,4.83,24/7,\"A:2,B:1\"
L2,locker,Bad size,2 rue B,69001,Lyon,FR,45.77,4.83,24/7,\"A:2,Z:1\"
C1,counter,Shop,3 rue C,69001,Lyon,FR,45.78,4.83,,
";
        let loose = ImportLimits { error_share_max: 0.5, ..ImportLimits::default() };
        let outcome = w.app.import_points(&Caller::system(), import(network.id, rows, false, loose)).await.unwrap();
        assert_eq!((outcome.record.status.as_str(), outcome.record.changes[0]), ("applied", 2));
        let errors: Vec<String> = outcome.row_errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors, ["line 3 (L2): size must be one of A, B, C, D"]);
        let points = w.store.network_points(network.id).await.unwrap();
        let l1 = points.iter().find(|p| p.external_id == "L1").unwrap();
        assert_eq!(w.store.compartments(l1.id).await.unwrap().len(), 3);
    }
}

/// A locker going above 85 % occupancy raises one alert through the outbox; expired parcels are listed
/// for rotation, oldest first; taking one back brings the locker under the threshold and clears it.
#[tokio::test]
async fn occupancy_alert_rises_and_clears_through_the_outbox() {
    for w in worlds().await {
        let system = Caller::system();
        w.app.rebuild_index().await.unwrap();
        let topics = |w: &World| {
            let store = w.store.clone();
            async move {
                let outbox = store.outbox(None, 1000).await.unwrap();
                outbox.into_iter().filter(|m| m.topic.starts_with("point.")).map(|m| m.topic).collect::<Vec<_>>()
            }
        };
        let mut parcels = Vec::new();
        for n in 0..4 {
            w.clock.advance(Duration::minutes(1));
            let announced =
                w.app.announce_parcel(&w.merchant, announce(&w.locker, &format!("OCCUPY{n:04}"), SMALL)).await.unwrap();
            w.app.deposit(&w.carrier, announced.parcel.id).await.unwrap();
            w.app.refresh_capacities().await.unwrap();
            parcels.push(announced.parcel.id);
            let expected: &[&str] = if n < 3 { &[] } else { &["point.occupancy_high"] };
            assert_eq!(topics(&w).await, expected, "after {} deposits", n + 1);
        }
        let report = w.app.occupancy(&system, w.locker.id).await.unwrap();
        assert_eq!((report.occupancy.rate(), report.occupancy.occupied), (1.0, [2, 1, 1, 0]));
        assert!(report.alert.is_some());
        // The console's alerts list it, with its rate.
        let alerts = w.app.alerts(&system).await.unwrap();
        let raised: Vec<_> =
            alerts.open.iter().filter(|a| a.kind == relais_domain::alert::AlertKind::Occupancy).collect();
        assert_eq!(raised.len(), 1);
        assert_eq!(
            (&raised[0].subject, raised[0].detail.as_str()),
            (&relais_domain::alert::AlertSubject::Point(w.locker.id), "100 %")
        );
        // Nothing changed: no second alert.
        w.app.refresh_capacities().await.unwrap();
        assert_eq!(topics(&w).await.len(), 1);

        // Past the hold window the four expire: the rotation lists them, oldest deadline first.
        w.clock.advance(Duration::hours(73));
        assert_eq!(w.app.expire_due(&system, 100).await.unwrap(), 4);
        let report = w.app.occupancy(&system, w.locker.id).await.unwrap();
        let listed: Vec<_> = report.expired.iter().map(|p| p.id).collect();
        assert_eq!(listed, parcels);

        w.app.collect_return(&w.carrier, parcels[0]).await.unwrap();
        w.app.refresh_capacities().await.unwrap();
        assert_eq!(topics(&w).await, ["point.occupancy_high", "point.occupancy_normal"]);
        let report = w.app.occupancy(&system, w.locker.id).await.unwrap();
        assert_eq!((report.occupancy.rate(), report.alert), (0.75, None));
        let alerts = w.app.alerts(&system).await.unwrap();
        assert!(alerts.open.iter().all(|a| a.kind != relais_domain::alert::AlertKind::Occupancy), "cleared");
    }
}

/// A simulated day on the manual clock, and its KPIs computed by hand (docs/kpis.md):
/// - locker: P1 deposited 09:00, collected 18:00 (0.375 day); P2 deposited 09:00, extended on day 2,
///   collected on day 5 at 09:00 (4 days, in its extended window); P3 deposited 09:00, expired, taken
///   back on day 4 at 12:00 (3.125 days, not collected);
/// - counter (2 slots): P4 deposited 10:00, lost on day 2 at 10:00 (1 day); P5 deposited 10:00,
///   collected 12:00 (0.0833 day); P6 finds the shelf full (deposit failed).
///
/// Deposited 5, failed 1, collected in the window 3 (P1, P2, P5), within 7 days 3, removed 5, lost 1:
/// pickup rate 0.6, deposit error rate 0.2, mean occupancy (0.375 + 4 + 3.125 + 1 + 1/12) / 5 days.
#[tokio::test]
async fn kpis_of_a_simulated_day_computed_by_hand() {
    use relais_app::kpis::KpiQuery;
    use relais_domain::dropoff::DoorReport;
    for w in worlds().await {
        let system = Caller::system();
        let day1 = Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap();
        let at = |days: i64, hours: i64| day1 + Duration::days(days) + Duration::hours(hours);
        let set = |t| w.clock.set(t);
        set(at(0, 8));
        let mut ids = Vec::new();
        for (n, point) in
            [(1, &w.locker), (2, &w.locker), (3, &w.locker), (4, &w.counter), (5, &w.counter), (6, &w.counter)]
        {
            let a = w.app.announce_parcel(&w.merchant, announce(point, &format!("KPIDAY{n:04}"), SMALL)).await.unwrap();
            ids.push((a.parcel.id, a.pickup_code.as_str().to_owned()));
        }
        // The courier scans P1-P3 in a session at 08:59; the doors are reported closed at 09:00.
        set(at(0, 9) - Duration::minutes(1));
        let code = w.app.courier_code(&w.carrier, w.locker.id, None).await.unwrap();
        let session = w.app.open_drop_off_session(&w.device, w.locker.id, &code.code).await.unwrap();
        let mut doors = Vec::new();
        for n in 1..=3 {
            let scan = w.app.scan_into_session(&w.device, session.id, &format!("KPIDAY{n:04}")).await.unwrap();
            doors.push(scan.item.label.unwrap());
        }
        set(at(0, 9));
        for door in &doors {
            w.app.report_door(&w.device, w.locker.id, door, DoorReport::Closed).await.unwrap();
        }
        w.app.close_drop_off_session(&w.device, session.id).await.unwrap();
        set(at(0, 10));
        for (id, _) in &ids[3..] {
            w.app.deposit(&w.carrier, *id).await.unwrap();
        }
        assert_eq!(w.app.parcel(&system, ids[5].0).await.unwrap().state, ParcelState::DepositFailed);
        // The empty door C01 jams: one hardware incident at the locker.
        set(at(0, 11));
        w.app.report_door(&w.device, w.locker.id, "C01", DoorReport::Jammed).await.unwrap();
        set(at(0, 12));
        w.app.pickup_parcel(&w.counter_device, ids[4].0, &ids[4].1, Some(&passport())).await.unwrap();
        set(at(0, 18));
        w.app.pickup_parcel(&w.device, ids[0].0, &ids[0].1, None).await.unwrap();
        set(at(1, 10));
        w.app.report_incident(&w.carrier, ids[3].0, IncidentKind::Lost, Some("not on the shelf")).await.unwrap();
        set(at(1, 22));
        w.app.extend(&w.merchant, ids[1].0).await.unwrap();
        // Reminders 24 h before the deadlines: P3's is due on day 2 at 09:00; P2's moved with its extension.
        set(at(2, 9));
        assert_eq!(w.app.remind_due(&system, 100).await.unwrap(), 1, "P3's reminder");
        set(at(3, 9));
        assert_eq!(w.app.expire_due(&system, 100).await.unwrap(), 1, "P3 only: P2 was extended");
        let list = w.app.return_list(&w.carrier, w.locker.id).await.unwrap();
        assert_eq!(list.iter().map(|(p, _)| p.id).collect::<Vec<_>>(), [ids[2].0], "the return list: P3");
        set(at(3, 12));
        w.app.collect_return(&w.carrier, ids[2].0).await.unwrap();
        set(at(4, 9));
        w.app.pickup_parcel(&w.device, ids[1].0, &ids[1].1, None).await.unwrap();

        let query = KpiQuery {
            first: day1.date_naive(),
            last: day1.date_naive(),
            point_id: None,
            network_id: Some(w.network.id),
            nps_by_day: false,
        };
        let report = w.app.kpis(&system, query).await.unwrap();
        let t = report.total;
        assert_eq!((t.deposited, t.deposit_failed, t.collected_in_window, t.collected_within_7_days), (5, 1, 3, 3));
        assert_eq!((t.removed, t.lost), (5, 1));
        assert_eq!((t.pickup_rate_window(), t.deposit_error_rate()), (Some(0.6), Some(0.2)));
        let mean = t.mean_occupancy_days().unwrap();
        assert!((mean - (0.375 + 4.0 + 3.125 + 1.0 + 1.0 / 12.0) / 5.0).abs() < 1e-9, "{mean}");
        let locker = report.cohorts[&(w.locker.id, day1.date_naive())];
        assert_eq!((locker.deposited, locker.collected_in_window, locker.removed), (3, 2, 3));
        // One door fault for 3 deposits at the locker (1 for 5 in the network); 60 s from scan to door.
        assert_eq!((locker.hardware_incidents, locker.handled), (1, 3));
        assert!((locker.hardware_incidents_per_1000_deposits().unwrap() - 1000.0 / 3.0).abs() < 1e-9);
        assert_eq!(t.hardware_incidents_per_1000_deposits(), Some(200.0));
        assert_eq!(t.mean_deposit_handling_seconds(), Some(60.0));
        let counter = report.cohorts[&(w.counter.id, day1.date_naive())];
        assert_eq!((counter.deposited, counter.deposit_failed, counter.lost), (2, 1, 1));
        // The next day has no deposits; a merchant may not read KPIs.
        let next = KpiQuery { first: at(1, 0).date_naive(), last: at(1, 0).date_naive(), ..query };
        assert_eq!(w.app.kpis(&system, next).await.unwrap().total.deposited, 0);
        assert!(matches!(w.app.kpis(&w.merchant, query).await, Err(AppError::Forbidden { .. })));
    }
}

/// A point of the network `network_id` at (`latitude`, `longitude`) in Lyon, with these doors or shelf.
fn new_point(
    network_id: relais_domain::ids::NetworkId,
    external_id: &str,
    kind: &str,
    (latitude, longitude): (f64, f64),
    doors: Vec<NewCompartment>,
    shelf_capacity: Option<u32>,
) -> NewPoint {
    NewPoint {
        network_id,
        external_id: external_id.into(),
        kind: kind.into(),
        name: format!("{kind} {external_id}"),
        address_line1: "10 cours de Verdun".into(),
        address_line2: None,
        postcode: "69002".into(),
        city: "Lyon".into(),
        country: "FR".into(),
        latitude,
        longitude,
        timezone: None,
        status: None,
        shelf_capacity,
        weight_max_g: None,
        dimensions_sum_max_mm: None,
        opening_hours: None,
        closures: Vec::new(),
        services: None,
        compartments: doors,
    }
}

/// A second locker of the network 400 m away, with free doors: where a parcel that finds no room is
/// proposed to go.
async fn neighbour_locker(w: &World) -> PickupPoint {
    let doors = ["A01", "B01", "C01"].into_iter().map(|l| NewCompartment { label: l.into(), size: l[..1].into() });
    let new = new_point(w.network.id, "L2", "locker", (45.7536, 4.83), doors.collect(), None);
    let CreatedPoint { point, .. } = w.app.create_point(&Caller::system(), new).await.unwrap();
    w.app.rebuild_index().await.unwrap();
    point
}

/// A courier's session at the locker: a scan holds a door and orders it open, the deposit happens when
/// the locker reports the door closed; a refused door and a jammed door send the parcel elsewhere or
/// fail it with a relocation proposal; the closed session's proof of deposit is signed and verifies
/// with the published key.
#[tokio::test]
async fn a_courier_session_deposits_when_the_door_closes() {
    use relais_app::signed;
    use relais_domain::dropoff::{CommandPurpose, DoorRefusal, DoorReport, ItemState};
    for w in worlds().await {
        let name = w.store.backend();
        let neighbour = neighbour_locker(&w).await;
        // Locker L1: A01, A02, B01, C01. Three parcels announced: two small, one medium (reserved A01,
        // A02, B01); C01 is free.
        let mut parcels = Vec::new();
        for (n, dims) in [SMALL, SMALL, MEDIUM].into_iter().enumerate() {
            let a =
                w.app.announce_parcel(&w.merchant, announce(&w.locker, &format!("SESS{n:04}"), dims)).await.unwrap();
            parcels.push(a);
        }
        let code = w.app.courier_code(&w.carrier, w.locker.id, None).await.unwrap();
        assert_eq!((code.code.len(), code.day.to_string().as_str()), (8, "2026-11-27"), "{name}");
        // The courier types the code on the locker's screen: the locker device opens the session.
        let session = w.app.open_drop_off_session(&w.device, w.locker.id, &code.code).await.unwrap();
        assert_eq!(session.carrier_key_id, w.carrier.key_id.unwrap(), "{name}: the code names its carrier");

        // Scan: the parcel's own reservation is held and its door ordered open; nothing is deposited yet.
        let first = w.app.scan_into_session(&w.device, session.id, "SESS0000").await.unwrap();
        let command = first.command.clone().unwrap();
        assert_eq!((command.label.as_str(), command.purpose), ("A01", CommandPurpose::Deposit), "{name}");
        assert_eq!(first.item.state, ItemState::Assigned);
        let waiting = w.store.parcel(parcels[0].parcel.id).await.unwrap().unwrap();
        assert_eq!(waiting.state, ParcelState::Announced, "{name}: not deposited before the door closes");
        let heartbeat = w.app.heartbeat(&w.device, w.locker.id, Default::default()).await.unwrap();
        assert_eq!(heartbeat.commands.iter().map(|c| c.id).collect::<Vec<_>>(), vec![command.id], "{name}");

        // A door that was never opened cannot close.
        let never = w.app.report_door(&w.device, w.locker.id, "C01", DoorReport::Closed).await;
        assert!(matches!(never, Err(AppError::DoorNotOpen { .. })), "{name}: {never:?}");
        let closed = w.app.report_door(&w.device, w.locker.id, "A01", DoorReport::Closed).await.unwrap();
        let deposited = closed.deposited.unwrap();
        assert_eq!(
            (deposited.state, deposited.compartment_id),
            (ParcelState::ReadyForPickup, Some(closed.compartment.id))
        );
        let events = w.store.events(deposited.id).await.unwrap();
        let last = &events.last().unwrap().event;
        assert_eq!(
            (last.kind, last.actor.reference.clone()),
            (EventKind::Deposited, w.carrier.key_id.map(|k| k.to_string()))
        );
        let twice = w.app.report_door(&w.device, w.locker.id, "A01", DoorReport::Closed).await;
        assert!(matches!(twice, Err(AppError::DoorNotOpen { .. })), "{name}: the command is done");

        // Too large for A02: the next larger free door (C01, since B01 is reserved for the medium parcel).
        let second = w.app.scan_into_session(&w.device, session.id, "SESS0001").await.unwrap();
        assert_eq!(second.item.label.as_deref(), Some("A02"), "{name}");
        let moved =
            w.app.refuse_door(&w.device, session.id, parcels[1].parcel.id, DoorRefusal::TooLarge).await.unwrap();
        assert_eq!(moved.item.label.as_deref(), Some("C01"), "{name}");
        assert_eq!(moved.item.reason.as_deref(), Some("too_large"));
        let a02 = w.store.compartments(w.locker.id).await.unwrap().into_iter().find(|c| c.label == "A02").unwrap();
        assert_eq!((a02.state, a02.fault), (CompartmentState::Available, None), "{name}: a small door is not faulty");
        w.app.report_door(&w.device, w.locker.id, "C01", DoorReport::Closed).await.unwrap();

        // The medium parcel's door B01 jams: out of service, and no other door fits it now (A02 is too
        // small, C01 taken): it fails, with the nearest point with room proposed (the network's counter
        // at the same address, before the neighbour locker 400 m away).
        let third = w.app.scan_into_session(&w.device, session.id, "SESS0002").await.unwrap();
        assert_eq!(third.item.label.as_deref(), Some("B01"));
        let jam = w.app.report_door(&w.device, w.locker.id, "B01", DoorReport::Jammed).await.unwrap();
        assert_eq!(
            (jam.compartment.state, jam.compartment.fault),
            (CompartmentState::OutOfService, Some(DoorFault::Jammed))
        );
        let reassigned = jam.reassigned.unwrap();
        assert_eq!(reassigned.item.state, ItemState::Failed, "{name}");
        assert_eq!(reassigned.item.reason.as_deref(), Some("all_fitting_compartments_busy"));
        assert_eq!(reassigned.item.relocation_point_id, Some(w.counter.id), "{name}: the nearest point with room");
        let failed = w.store.parcel(parcels[2].parcel.id).await.unwrap().unwrap();
        assert_eq!(failed.state, ParcelState::DepositFailed);
        let audit = doors_audit(w.app.audit_log(&Caller::system(), Some(w.locker.id), None, None, None).await.unwrap());
        assert_eq!(audit.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(), ["door_jammed"], "{name}");
        let outbox = w.store.outbox(None, 500).await.unwrap();
        let failure = outbox.iter().find(|m| m.topic == "parcel.deposit_failed").unwrap();
        assert_eq!(failure.payload["relocation_point_id"], w.counter.id.to_string(), "{name}");
        assert!(outbox.iter().any(|m| m.topic == "point.door_fault" && m.payload["door"] == "B01"), "{name}");

        // Scanned again, a parcel answers the same; a fourth, announced now (A02 is free again), is scanned
        // and never put in.
        w.app.announce_parcel(&w.merchant, announce(&w.locker, "SESS0003", SMALL)).await.unwrap();
        let again = w.app.scan_into_session(&w.device, session.id, "SESS0000").await.unwrap();
        assert_eq!((again.item.state, again.command.is_none()), (ItemState::Deposited, true), "{name}");
        let fourth = w.app.scan_into_session(&w.device, session.id, "SESS0003").await.unwrap();
        assert_eq!(fourth.item.label.as_deref(), Some("A02"));
        let view = w.app.close_drop_off_session(&w.device, session.id).await.unwrap();
        let states: Vec<ItemState> = view.items.iter().map(|i| i.state).collect();
        assert_eq!(
            states,
            [ItemState::Deposited, ItemState::Deposited, ItemState::Failed, ItemState::NotDeposited],
            "{name}"
        );
        let a02 = w.store.compartments(w.locker.id).await.unwrap().into_iter().find(|c| c.label == "A02").unwrap();
        assert_eq!(a02.state, CompartmentState::Available, "{name}: the hold is given back");
        assert!(w.store.pending_door_commands(w.locker.id).await.unwrap().is_empty(), "{name}");
        let late = w.app.scan_into_session(&w.device, session.id, "SESS0003").await;
        assert!(matches!(late, Err(AppError::SessionClosed { .. })), "{name}: {late:?}");
        assert!(matches!(
            w.app.close_drop_off_session(&w.device, session.id).await,
            Err(AppError::SessionClosed { .. })
        ));

        // The proof of deposit, signed; it verifies with the public key alone, and not once altered.
        let receipt = w.app.drop_off_receipt(&w.carrier, session.id).await.unwrap();
        let signed = receipt.signed.clone();
        let public = signed::parse_public_key(&w.app.public_key().public_key).unwrap();
        let document = signed::verify_document(&public, &signed).unwrap();
        let doors: Vec<(&str, &str)> = document["deposited"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["parcel_number"].as_str().unwrap(), d["door"].as_str().unwrap()))
            .collect();
        assert_eq!(doors, [("SESS0000", "A01"), ("SESS0001", "C01")], "{name}");
        assert_eq!(document["not_deposited"][0]["relocation_point_id"], w.counter.id.to_string());
        assert_ne!(neighbour.id, w.counter.id);
        assert_eq!(document["closed_at"], "2026-11-27T08:00:00Z");
        let mut forged = signed.clone();
        forged["document"]["deposited"][0]["door"] = "C01".into();
        assert!(signed::verify_document(&public, &forged).is_err(), "{name}");
        let pdf = receipt.pdf();
        assert!(pdf.starts_with(b"%PDF-1.4"), "{name}");

        // Nobody else sees the session: another carrier, another locker's device.
        let other = w
            .app
            .create_api_key(&Caller::system(), NewApiKey::carrier(w.carrier.carrier_id.unwrap(), "other"))
            .await
            .unwrap();
        let other = w.app.authenticate(&other.secret).await.unwrap();
        for caller in [&other, &w.counter_device, &w.merchant] {
            let seen = w.app.drop_off_session(caller, session.id).await;
            assert!(matches!(seen, Err(AppError::NotFound { .. })), "{name}: {seen:?}");
        }
    }
}

/// A courier code opens one locker, for one carrier, on one local day; wrong codes lock the locker's
/// keypad for courier codes until the lockout ends.
#[tokio::test]
async fn courier_codes_are_per_carrier_locker_and_day() {
    for w in worlds().await {
        let name = w.store.backend();
        let neighbour = neighbour_locker(&w).await;
        let today = w.app.courier_code(&w.carrier, w.locker.id, None).await.unwrap();
        let elsewhere = w.app.courier_code(&w.carrier, neighbour.id, None).await.unwrap();
        assert_ne!(today.code, elsewhere.code);
        let other_locker = w.app.open_drop_off_session(&w.device, w.locker.id, &elsewhere.code).await;
        assert!(matches!(other_locker, Err(AppError::InvalidCourierCode)), "{name}: {other_locker:?}");
        // A carrier's handheld only tries its own code.
        let other = w
            .app
            .create_api_key(&Caller::system(), NewApiKey::carrier(w.carrier.carrier_id.unwrap(), "other"))
            .await
            .unwrap();
        let other = w.app.authenticate(&other.secret).await.unwrap();
        let borrowed = w.app.open_drop_off_session(&other, w.locker.id, &today.code).await;
        assert!(matches!(borrowed, Err(AppError::InvalidCourierCode)), "{name}: {borrowed:?}");
        for bad in ["1234", "abcdefgh", "123456789"] {
            let r = w.app.open_drop_off_session(&w.device, w.locker.id, bad).await;
            assert!(matches!(r, Err(AppError::Validation(_))), "{name}: {bad}: {r:?}");
        }
        assert!(matches!(
            w.app.open_drop_off_session(&w.merchant, w.locker.id, &today.code).await,
            Err(AppError::Forbidden { .. })
        ));
        assert!(matches!(
            w.app.open_drop_off_session(&w.counter_device, w.locker.id, &today.code).await,
            Err(AppError::Forbidden { .. })
        ));
        // Paris midnight is 23:00 UTC in November: yesterday's code stops working then.
        assert_eq!(today.valid_until, Utc.with_ymd_and_hms(2026, 11, 27, 23, 0, 0).unwrap());
        w.clock.set(Utc.with_ymd_and_hms(2026, 11, 27, 23, 30, 0).unwrap());
        let expired = w.app.open_drop_off_session(&w.device, w.locker.id, &today.code).await;
        assert!(matches!(expired, Err(AppError::InvalidCourierCode)), "{name}: {expired:?}");
        let tomorrow = w.app.courier_code(&w.carrier, w.locker.id, None).await.unwrap();
        assert_ne!(tomorrow.code, today.code, "{name}");

        // Brute force at the keypad: 10 wrong codes within the window (the expired code was the first at
        // 23:30) lock it for courier codes; then one code is checked per probe period.
        let limits = w.app.limits().courier_attempts;
        let wrong = if tomorrow.code == "00000000" { "11111111" } else { "00000000" };
        for _ in 1..limits.failures_max {
            let r = w.app.open_drop_off_session(&w.device, w.locker.id, wrong).await;
            assert!(matches!(r, Err(AppError::InvalidCourierCode)), "{name}: {r:?}");
        }
        let locked = w.app.open_drop_off_session(&w.device, w.locker.id, &tomorrow.code).await;
        assert!(
            matches!(locked, Err(AppError::RateLimited { what: relais_app::Throttled::CourierCodes, .. })),
            "{name}: it says courier codes: {locked:?}"
        );
        let system = Caller::system();
        let issued = w.app.create_api_key(&system, NewApiKey::device(neighbour.id, "n")).await.unwrap();
        let neighbour_device = w.app.authenticate(&issued.secret).await.unwrap();
        let next_door = w.app.courier_code(&w.carrier, neighbour.id, None).await.unwrap();
        assert!(
            w.app.open_drop_off_session(&neighbour_device, neighbour.id, &next_door.code).await.is_ok(),
            "{name}: only that locker locks"
        );
        w.clock.advance(Duration::seconds(i64::from(limits.probe_seconds)));
        let opened = w.app.open_drop_off_session(&w.device, w.locker.id, &tomorrow.code).await.unwrap();
        assert_eq!(opened.carrier_key_id, w.carrier.key_id.unwrap(), "{name}: the right code on a probe");
        w.clock.advance(Duration::seconds(i64::from(limits.lockout_seconds)));
        assert!(w.app.open_drop_off_session(&w.device, w.locker.id, &tomorrow.code).await.is_ok(), "{name}");
    }
}

/// Wrong courier codes sent through the API count against that carrier key at that locker only: a
/// carrier scripting guesses locks itself out, not the locker's keypad nor the other carriers.
#[tokio::test]
async fn a_carrier_key_guessing_courier_codes_locks_only_itself() {
    for w in worlds().await {
        let name = w.store.backend();
        let limits = w.app.limits().courier_attempts;
        let today = w.app.courier_code(&w.carrier, w.locker.id, None).await.unwrap();
        let other = NewApiKey::carrier(w.carrier.carrier_id.unwrap(), "other");
        let other = w.app.create_api_key(&Caller::system(), other).await.unwrap();
        let other = w.app.authenticate(&other.secret).await.unwrap();
        let others_code = w.app.courier_code(&other, w.locker.id, None).await.unwrap();
        let wrong = if today.code == "00000000" { "11111111" } else { "00000000" };
        for _ in 0..limits.failures_max {
            let r = w.app.open_drop_off_session(&w.carrier, w.locker.id, wrong).await;
            assert!(matches!(r, Err(AppError::InvalidCourierCode)), "{name}: {r:?}");
        }
        let own = w.app.open_drop_off_session(&w.carrier, w.locker.id, &today.code).await;
        assert!(matches!(own, Err(AppError::RateLimited { .. })), "{name}: {own:?}");
        let scope = AttemptScope::CarrierCourierCode(w.locker.id, w.carrier.key_id.unwrap());
        assert!(w.store.attempt_counter(scope).await.unwrap().unwrap().counter.locked_until.is_some(), "{name}");
        assert!(w.store.attempt_counter(AttemptScope::CourierCode(w.locker.id)).await.unwrap().is_none(), "{name}");
        assert!(w.app.open_drop_off_session(&other, w.locker.id, &others_code.code).await.is_ok(), "{name}");
        assert!(w.app.open_drop_off_session(&w.device, w.locker.id, &today.code).await.is_ok(), "{name}: the keypad");
    }
}

/// Two couriers of two carriers fill one locker at the same time, each through their own session: no
/// door is given twice, every parcel ends deposited or failed, and the counts add up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_couriers_deposit_in_one_locker_at_once() {
    use relais_domain::dropoff::{DoorReport, ItemState};
    for w in worlds().await {
        let name = w.store.backend();
        let system = Caller::system();
        let rules = NetworkRules { reservation_hours: 0, ..NetworkRules::default() };
        let network = w.app.create_network(&system, "Two couriers", rules).await.unwrap();
        let doors: Vec<NewCompartment> =
            (0..10).map(|i| NewCompartment { label: format!("D{i:02}"), size: ["A", "B"][i % 2].into() }).collect();
        let new = new_point(network.id, "TWO", "locker", (45.76, 4.85), doors, None);
        let CreatedPoint { point: locker, .. } = w.app.create_point(&system, new).await.unwrap();
        let device = w.app.create_api_key(&system, NewApiKey::device(locker.id, "d")).await.unwrap();
        let device = w.app.authenticate(&device.secret).await.unwrap();
        let first = carrier_of(&w, network.id, "first carrier").await;
        let second = carrier_of(&w, network.id, "second carrier").await;
        for n in 0..16 {
            w.app.announce_parcel(&w.merchant, announce(&locker, &format!("TWO{n:04}"), SMALL)).await.unwrap();
        }
        let mut tasks = Vec::new();
        for (courier, range) in [(first.clone(), 0..8), (second.clone(), 8..16)] {
            let app = w.app.clone();
            let device = device.clone();
            tasks.push(tokio::spawn(async move {
                let code = app.courier_code(&courier, locker.id, None).await.unwrap();
                let session = app.open_drop_off_session(&courier, locker.id, &code.code).await.unwrap();
                for n in range {
                    let scan = app.scan_into_session(&courier, session.id, &format!("TWO{n:04}")).await.unwrap();
                    if let Some(door) = scan.item.label.filter(|_| scan.item.state == ItemState::Assigned) {
                        app.report_door(&device, locker.id, &door, DoorReport::Closed).await.unwrap();
                    }
                }
                app.close_drop_off_session(&courier, session.id).await.unwrap()
            }));
        }
        let mut deposited = 0;
        let mut failed = 0;
        for task in tasks {
            for item in task.await.unwrap().items {
                match item.state {
                    ItemState::Deposited => deposited += 1,
                    ItemState::Failed => failed += 1,
                    other => panic!("{name}: {other:?}"),
                }
            }
        }
        assert_eq!((deposited, failed), (10, 6), "{name}: ten doors, sixteen parcels");
        let compartments = w.store.compartments(locker.id).await.unwrap();
        let mut holders: Vec<_> = compartments
            .iter()
            .map(|c| match c.state {
                CompartmentState::Occupied { parcel_id } => parcel_id,
                other => panic!("{name}: {} is {other:?}", c.label),
            })
            .collect();
        holders.sort();
        holders.dedup();
        assert_eq!(holders.len(), 10, "{name}: ten different parcels in ten doors");
    }
}

/// QR tokens are signed: a locker can check one offline with the public key; a forged one opens
/// nothing; a token works once, whether it is presented online or reported after an offline
/// collection.
#[tokio::test]
async fn signed_qr_tokens_work_once_online_or_offline() {
    use relais_app::signed;
    for w in worlds().await {
        let name = w.store.backend();
        let a = w.app.announce_parcel(&w.merchant, announce(&w.locker, "QRSIGN001", SMALL)).await.unwrap();
        let b = w.app.announce_parcel(&w.merchant, announce(&w.locker, "QRSIGN002", SMALL)).await.unwrap();
        w.app.deposit(&w.carrier, a.parcel.id).await.unwrap();
        w.app.deposit(&w.carrier, b.parcel.id).await.unwrap();
        // What the locker knows offline: the public key.
        let public = signed::parse_public_key(&w.app.public_key().public_key).unwrap();
        let claims = signed::verify_qr(&public, &a.qr_token).unwrap();
        assert_eq!((claims.parcel_id, claims.point_id), (a.parcel.id, w.locker.id), "{name}");

        // A forgery: b's token with a's id swapped in keeps b's signature, which no longer matches.
        let mut forged = b.qr_token.clone();
        forged.replace_range(4..26, &a.qr_token[4..26]);
        assert!(signed::verify_qr(&public, &forged).is_err());
        let refused = w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::QrToken(forged.clone())).await;
        assert!(matches!(refused, Err(AppError::InvalidPickupCode)), "{name}: {refused:?}");
        let reported = w.app.report_offline_collection(&w.device, w.locker.id, &forged, None).await;
        assert!(matches!(reported, Err(AppError::InvalidPickupCode)), "{name}: {reported:?}");
        // A real token at another point opens nothing there.
        let neighbour = neighbour_locker(&w).await;
        let token = PickupSecret::QrToken(a.qr_token.clone());
        let elsewhere = w.app.pickup_at_point(&Caller::device(neighbour.id), neighbour.id, token).await;
        assert!(matches!(elsewhere, Err(AppError::InvalidPickupCode)), "{name}: {elsewhere:?}");

        // Online: once.
        let online = w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::QrToken(a.qr_token.clone())).await;
        assert_eq!(online.unwrap().parcel.state, ParcelState::Collected, "{name}");
        let again = w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::QrToken(a.qr_token.clone())).await;
        assert!(matches!(again, Err(AppError::InvalidPickupCode)), "{name}: {again:?}");

        // Offline: the locker reports it 20 minutes later, with the time it opened the door; a replay of
        // the report, or of the token at the keypad, is refused.
        let opened_at = start() + Duration::minutes(5);
        w.clock.advance(Duration::minutes(20));
        let late = w.app.report_offline_collection(&w.device, w.locker.id, &b.qr_token, Some(opened_at)).await.unwrap();
        assert_eq!(late.parcel.state, ParcelState::Collected);
        let events = w.store.events(b.parcel.id).await.unwrap();
        assert_eq!(events.last().unwrap().event.at, opened_at, "{name}: collected when the door opened");
        let replay = w.app.report_offline_collection(&w.device, w.locker.id, &b.qr_token, Some(opened_at)).await;
        assert!(matches!(replay, Err(AppError::InvalidTransition(_))), "{name}: {replay:?}");
        let keypad = w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::QrToken(b.qr_token.clone())).await;
        assert!(matches!(keypad, Err(AppError::InvalidPickupCode)), "{name}: {keypad:?}");
    }
}

/// The device protocol: a heartbeat reporting a jammed door takes it out of service and flags the parcel
/// inside; an operator opens a door remotely with a reason, the locker closes it, the operator repairs
/// the door; every action is in the audit log with its actor and reason.
#[tokio::test]
async fn door_faults_remote_openings_and_the_audit_log() {
    use relais_app::lockers::Heartbeat;
    use relais_domain::dropoff::{CommandPurpose, DoorReport};
    for w in worlds().await {
        let name = w.store.backend();
        let a = w.app.announce_parcel(&w.merchant, announce(&w.locker, "JAMMED001", SMALL)).await.unwrap();
        let deposit = w.app.deposit(&w.carrier, a.parcel.id).await.unwrap();
        let door = deposit.compartment.unwrap().label;
        let doors = |state: &str| Heartbeat {
            doors: vec![(door.clone(), state.into()), ("C01".into(), "closed".into())],
            firmware: Some("lc-2.4.1".into()),
        };
        let beat = w.app.heartbeat(&w.device, w.locker.id, doors("closed")).await.unwrap();
        assert!(beat.commands.is_empty() && beat.taken_out_of_service.is_empty(), "{name}");
        let status = w.app.device_status(&Caller::system(), w.locker.id).await.unwrap().unwrap();
        assert_eq!((status.last_seen_at, status.firmware.as_deref()), (start(), Some("lc-2.4.1")));

        let beat = w.app.heartbeat(&w.device, w.locker.id, doors("jammed")).await.unwrap();
        assert_eq!(beat.taken_out_of_service, std::slice::from_ref(&door), "{name}");
        let again = w.app.heartbeat(&w.device, w.locker.id, doors("jammed")).await.unwrap();
        assert!(again.taken_out_of_service.is_empty(), "{name}: reported once");
        let compartment =
            w.store.compartments(w.locker.id).await.unwrap().into_iter().find(|c| c.label == door).unwrap();
        assert_eq!(
            compartment.state,
            CompartmentState::Occupied { parcel_id: a.parcel.id },
            "{name}: the parcel is still inside"
        );
        assert_eq!(compartment.fault, Some(DoorFault::Jammed));
        let events = w.store.events(a.parcel.id).await.unwrap();
        let flag = &events.last().unwrap().event;
        assert_eq!(
            (flag.kind, flag.reason.as_deref(), flag.to),
            (EventKind::CompartmentFault, Some("door_jammed"), ParcelState::ReadyForPickup)
        );

        // Bad heartbeats change nothing.
        for bad in [
            Heartbeat { doors: vec![("Z99".into(), "closed".into())], firmware: None },
            Heartbeat { doors: vec![("C01".into(), "ajar".into())], firmware: None },
        ] {
            let r = w.app.heartbeat(&w.device, w.locker.id, bad).await;
            assert!(matches!(r, Err(AppError::Validation(_))), "{name}: {r:?}");
        }
        let foreign = w.app.heartbeat(&w.counter_device, w.locker.id, Heartbeat::default()).await;
        assert!(matches!(foreign, Err(AppError::Forbidden { .. })), "{name}: {foreign:?}");

        // The operator opens the jammed door to free the parcel; the locker fetches the command, and closes it.
        let operator = w.app.create_api_key(&Caller::system(), NewApiKey::operator("ops")).await.unwrap();
        let operator = w.app.authenticate(&operator.secret).await.unwrap();
        assert!(matches!(
            w.app.open_door_remotely(&operator, w.locker.id, &door, " ").await,
            Err(AppError::Validation(_))
        ));
        assert!(matches!(
            w.app.open_door_remotely(&w.carrier, w.locker.id, &door, "stuck").await,
            Err(AppError::Forbidden { .. })
        ));
        let command =
            w.app.open_door_remotely(&operator, w.locker.id, &door, "parcel stuck behind a jammed door").await.unwrap();
        assert_eq!(command.purpose, CommandPurpose::Operator);
        let listed = w.app.door_commands(&w.device, w.locker.id).await.unwrap();
        assert_eq!(listed.iter().map(|c| c.id).collect::<Vec<_>>(), [command.id], "{name}");
        w.app.report_door(&w.device, w.locker.id, &door, DoorReport::Closed).await.unwrap();
        assert!(w.app.door_commands(&w.device, w.locker.id).await.unwrap().is_empty());
        let repaired = w.app.repair_door(&operator, w.locker.id, &door, "latch replaced").await.unwrap();
        assert_eq!(repaired.fault, None, "{name}");

        // A door forced open at night: alarm and audit, actor the device.
        let forced = w.app.report_door(&w.device, w.locker.id, "C01", DoorReport::ForcedOpen).await.unwrap();
        assert_eq!(forced.compartment.state, CompartmentState::OutOfService);
        let audit = doors_audit(w.app.audit_log(&operator, Some(w.locker.id), None, None, None).await.unwrap());
        let lines: Vec<(&str, &str, Option<&str>)> =
            audit.iter().map(|a| (a.action.as_str(), a.actor.kind.as_str(), a.reason.as_deref())).collect();
        assert_eq!(
            lines,
            [
                ("door_jammed", "locker_device", None),
                ("remote_door_opening", "operator", Some("parcel stuck behind a jammed door")),
                ("door_repaired", "operator", Some("latch replaced")),
                ("door_forced_open", "locker_device", None),
            ],
            "{name}"
        );
        assert_eq!(audit[1].actor.reference, operator.key_id.map(|k| k.to_string()));
        let by_parcel = w.app.audit_log(&operator, None, Some(a.parcel.id), None, None).await.unwrap();
        assert_eq!(by_parcel.len(), 1, "{name}: the jam named the parcel inside");
        assert!(matches!(w.app.audit_log(&w.merchant, None, None, None, None).await, Err(AppError::Forbidden { .. })));
    }
}

/// Reminders go out when due, once, with the recipient's text in French and English in the point's
/// local time and the link to their page; the recipient extends from that link, once, and the
/// reminders follow the new deadline.
#[tokio::test]
async fn reminders_and_the_recipients_extension_link() {
    for w in worlds().await {
        let name = w.store.backend();
        let system = Caller::system();
        let a = w.app.announce_parcel(&w.merchant, announce(&w.locker, "REMIND0001", SMALL)).await.unwrap();
        let deposited = w.app.deposit(&w.carrier, a.parcel.id).await.unwrap().parcel;
        // Default rules: 72 h hold, a reminder 24 h before the deadline, i.e. 48 h after the deposit.
        assert_eq!(deposited.next_reminder_at, Some(start() + Duration::hours(48)), "{name}");
        let sent = sms_bodies(&deliver(&w).await);
        let ready = sent.iter().find(|b| b.contains("vous attend")).unwrap();
        assert!(ready.contains("jusqu'au lundi 30/11 à 09:00"), "{name}: Paris time: {ready}");
        assert!(ready.contains(&format!("Code {}", a.pickup_code.as_str())), "{name}: the code reaches the recipient");
        let link = ready.rsplit(' ').next().unwrap().to_owned();
        let token = link.rsplit('/').next().unwrap().to_owned();
        assert!(token.starts_with("RL2.") && token.len() == 47, "{name}: a short link for a text message: {token}");
        assert_eq!(w.app.recipient_view(&token).await.unwrap().parcel.id, a.parcel.id);

        w.clock.set(start() + Duration::hours(47));
        assert_eq!(w.app.remind_due(&system, 100).await.unwrap(), 0, "{name}: not yet");
        w.clock.set(start() + Duration::hours(48));
        assert_eq!(w.app.remind_due(&system, 100).await.unwrap(), 1, "{name}");
        assert_eq!(w.app.remind_due(&system, 100).await.unwrap(), 0, "{name}: once");
        // The only reminder is the last one: the deadline is near.
        let sent = sms_bodies(&deliver(&w).await);
        assert_eq!(sent.len(), 1, "{name}: {sent:?}");
        assert!(
            sent[0].starts_with("Dernier rappel : votre colis REMIND0001 repart chez Boutique après le lundi 30/11")
                && sent[0].contains(&link)
                && sent[0].contains(a.pickup_code.as_str()),
            "{name}: {}",
            sent[0]
        );

        // The recipient's page, then the extension from it (72 + 48 h), once.
        let view = w.app.recipient_view(&token).await.unwrap();
        assert_eq!(view.extension, Ok(start() + Duration::hours(120)), "{name}");
        let extended = w.app.extend_by_recipient(&token).await.unwrap();
        assert_eq!(extended.pickup_deadline, Some(start() + Duration::hours(120)));
        assert_eq!(
            extended.next_reminder_at,
            Some(start() + Duration::hours(96)),
            "{name}: 24 h before the new deadline"
        );
        let events = w.store.events(a.parcel.id).await.unwrap();
        let last = &events.last().unwrap().event;
        assert_eq!((last.kind, last.actor.kind.as_str()), (EventKind::Extended, "recipient"));
        let again = w.app.extend_by_recipient(&token).await;
        assert!(matches!(again, Err(AppError::InvalidTransition(TransitionError::ExtensionRefused(_)))), "{again:?}");
        assert!(w.app.recipient_view(&token).await.unwrap().extension.is_err());

        // Forged or foreign links show nothing.
        let forged = token.replacen('A', "B", 1);
        for bad in [forged.as_str(), "RL1.", "RL2.", "", &a.qr_token] {
            if bad == token {
                continue;
            }
            assert!(matches!(w.app.recipient_view(bad).await, Err(AppError::NotFound { .. })), "{name}: {bad}");
        }
        // Collected: no reminder is due any more.
        w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::Code(a.pickup_code.as_str().into())).await.unwrap();
        w.clock.set(start() + Duration::hours(100));
        assert_eq!(w.app.remind_due(&system, 100).await.unwrap(), 0, "{name}");
    }
}

/// The return collection: the day's list of expired parcels at the locker, then a session opened with
/// the courier code of the day that orders every one of their doors open; each parcel is `returning`
/// when its door closes, the compartment free; the signed receipt proves what was taken back.
#[tokio::test]
async fn a_return_collection_takes_back_the_expired_parcels() {
    use relais_app::signed;
    use relais_domain::dropoff::{CommandPurpose, DoorReport, ItemState, SessionPurpose};
    for w in worlds().await {
        let name = w.store.backend();
        let system = Caller::system();
        let mut ids = Vec::new();
        for n in 0..3 {
            let a =
                w.app.announce_parcel(&w.merchant, announce(&w.locker, &format!("BACK{n:04}"), SMALL)).await.unwrap();
            w.app.deposit(&w.carrier, a.parcel.id).await.unwrap();
            ids.push(a.parcel.id);
        }
        // The operator expires the third at once; the other two reach their deadline.
        w.app.force_expire(&system, ids[2], "the sender wants it back").await.unwrap();
        w.clock.set(start() + Duration::hours(73));
        assert_eq!(w.app.expire_due(&system, 100).await.unwrap(), 2, "{name}");
        let list = w.app.return_list(&w.carrier, w.locker.id).await.unwrap();
        let numbers: Vec<(&str, Option<&str>)> =
            list.iter().map(|(p, door)| (p.number.as_str(), door.as_deref())).collect();
        assert_eq!(numbers.len(), 3, "{name}: {numbers:?}");
        assert!(matches!(w.app.return_list(&w.merchant, w.locker.id).await, Err(AppError::Forbidden { .. })));

        let code = w.app.courier_code(&w.carrier, w.locker.id, None).await.unwrap();
        let view = w.app.open_return_session(&w.device, w.locker.id, &code.code).await.unwrap();
        assert_eq!(view.session.purpose, SessionPurpose::ReturnCollection);
        assert_eq!(view.items.len(), 3, "{name}: every expired parcel");
        let commands = w.app.door_commands(&w.device, w.locker.id).await.unwrap();
        assert_eq!(commands.len(), 3, "{name}");
        assert!(commands.iter().all(|c| c.purpose == CommandPurpose::ReturnCollection));
        let scan = w.app.scan_into_session(&w.device, view.session.id, "BACK0000").await;
        assert!(matches!(scan, Err(AppError::Validation(_))), "{name}: no scans in a return collection: {scan:?}");

        // Two doors close (their parcels taken out); the third stays shut.
        for item in &view.items[..2] {
            let door = item.label.clone().unwrap();
            w.app.report_door(&w.device, w.locker.id, &door, DoorReport::Closed).await.unwrap();
            let parcel = w.store.parcel(item.parcel_id).await.unwrap().unwrap();
            assert_eq!((parcel.state, parcel.compartment_id), (ParcelState::Returning, None), "{name}");
        }
        let closed = w.app.close_drop_off_session(&w.device, view.session.id).await.unwrap();
        let states: Vec<ItemState> = closed.items.iter().map(|i| i.state).collect();
        assert_eq!(states, [ItemState::TakenBack, ItemState::TakenBack, ItemState::NotDeposited], "{name}");
        let compartments = w.store.compartments(w.locker.id).await.unwrap();
        let occupied = compartments.iter().filter(|c| matches!(c.state, CompartmentState::Occupied { .. })).count();
        assert_eq!(occupied, 1, "{name}: the third is still in its compartment");
        assert!(w.app.door_commands(&w.device, w.locker.id).await.unwrap().is_empty());
        assert_eq!(w.app.return_list(&w.carrier, w.locker.id).await.unwrap().len(), 1);

        let receipt = w.app.drop_off_receipt(&w.carrier, view.session.id).await.unwrap();
        let public = signed::parse_public_key(&w.app.public_key().public_key).unwrap();
        let document = signed::verify_document(&public, &receipt.signed).unwrap();
        assert_eq!(document["type"], "relais.proof_of_return_collection");
        assert_eq!(document["taken_back"].as_array().unwrap().len(), 2, "{name}");
        assert_eq!(document["not_taken_back"][0]["state"], "not_deposited");
        let events = w.store.events(ids[0]).await.unwrap();
        let last = &events.last().unwrap().event;
        assert_eq!(
            (last.kind, last.actor.reference.clone()),
            (EventKind::ReturnCollected, w.carrier.key_id.map(|k| k.to_string()))
        );
    }
}

/// A partner shop's counter: parcels scanned in against the shelf, handed over with the code and an
/// identity check that is recorded; a name that does not match keeps the parcel, audited.
#[tokio::test]
async fn a_counter_scans_in_and_hands_over_with_an_identity_check() {
    use relais_app::counters::IdentityCheck;
    for w in worlds().await {
        let name = w.store.backend();
        let mut parcels = Vec::new();
        for n in 0..3 {
            parcels.push(
                w.app.announce_parcel(&w.merchant, announce(&w.counter, &format!("SHOP{n:04}"), SMALL)).await.unwrap(),
            );
        }
        w.app.announce_parcel(&w.merchant, announce(&w.locker, "SHOPLOCK01", SMALL)).await.unwrap();
        // The shelf takes two.
        for (n, expected) in [(0, None), (1, None), (2, Some(NoFit::ShelfFull))] {
            let outcome = w.app.counter_scan_in(&w.counter_device, w.counter.id, &format!("SHOP{n:04}")).await.unwrap();
            assert_eq!(outcome.failure, expected, "{name}: parcel {n}");
        }
        assert_eq!(w.store.point(w.counter.id).await.unwrap().unwrap().shelf_occupied, 2);
        let elsewhere = w.app.counter_scan_in(&w.counter_device, w.counter.id, "SHOPLOCK01").await;
        assert!(matches!(elsewhere, Err(AppError::NotFound { .. })), "{name}: another point's parcel: {elsewhere:?}");
        let at_locker = w.app.counter_scan_in(&w.device, w.locker.id, "SHOPLOCK01").await;
        assert!(matches!(at_locker, Err(AppError::Validation(_))), "{name}: lockers take sessions: {at_locker:?}");
        assert!(matches!(
            w.app.counter_scan_in(&w.device, w.counter.id, "SHOP0000").await,
            Err(AppError::Forbidden { .. })
        ));

        let code = parcels[0].pickup_code.as_str().to_owned();
        let no_identity = w.app.pickup_parcel(&w.counter_device, parcels[0].parcel.id, &code, None).await;
        assert!(matches!(no_identity, Err(AppError::Validation(_))), "{name}: {no_identity:?}");
        for bad in [
            IdentityCheck { document: "library_card".into(), ..passport() },
            IdentityCheck { number_last4: Some("12".into()), ..passport() },
        ] {
            let r = w.app.counter_hand_over(&w.counter_device, w.counter.id, "SHOP0000", &code, &bad).await;
            assert!(matches!(r, Err(AppError::Validation(_))), "{name}: {r:?}");
        }
        let stranger = IdentityCheck { name_matches: false, ..passport() };
        let refused = w.app.counter_hand_over(&w.counter_device, w.counter.id, "SHOP0000", &code, &stranger).await;
        assert!(matches!(refused, Err(AppError::IdentityMismatch)), "{name}: {refused:?}");
        let still = w.store.parcel(parcels[0].parcel.id).await.unwrap().unwrap();
        assert_eq!(still.state, ParcelState::ReadyForPickup, "{name}: the parcel stays");
        let audit =
            doors_audit(w.app.audit_log(&Caller::system(), Some(w.counter.id), None, None, None).await.unwrap());
        assert_eq!(audit.len(), 1);
        assert_eq!(
            (audit[0].action.as_str(), audit[0].reason.as_deref()),
            ("hand_over_refused", Some("identity_checked:passport:****1234:name_does_not_match"))
        );

        let handed =
            w.app.counter_hand_over(&w.counter_device, w.counter.id, "SHOP0000", &code, &passport()).await.unwrap();
        assert_eq!(handed.parcel.state, ParcelState::Collected, "{name}");
        let events = w.store.events(parcels[0].parcel.id).await.unwrap();
        let last = &events.last().unwrap().event;
        assert_eq!(
            (last.kind, last.reason.as_deref()),
            (EventKind::Collected, Some("identity_checked:passport:****1234"))
        );
        assert_eq!(last.actor.kind.as_str(), "locker_device");
        assert_eq!(w.store.point(w.counter.id).await.unwrap().unwrap().shelf_occupied, 1, "{name}: a slot is free");
    }
}

/// An operator moves a parcel from behind a jammed door to a free one: the code and deadline stay, the
/// reason is on the event and in the audit log; a parcel not in a compartment, a busy door or another
/// role are refused and change nothing.
#[tokio::test]
async fn an_operator_moves_a_parcel_to_another_door() {
    use relais_domain::dropoff::DoorReport;
    for w in worlds().await {
        let name = w.store.backend();
        let operator = w.app.create_api_key(&Caller::system(), NewApiKey::operator("ops")).await.unwrap();
        let operator = w.app.authenticate(&operator.secret).await.unwrap();
        let a = w.app.announce_parcel(&w.merchant, announce(&w.locker, "MOVE0001", SMALL)).await.unwrap();
        let waiting = w.app.announce_parcel(&w.merchant, announce(&w.locker, "MOVE0002", SMALL)).await.unwrap();
        let deposited = w.app.deposit(&w.carrier, a.parcel.id).await.unwrap();
        let from = deposited.compartment.unwrap();
        w.app.report_door(&w.device, w.locker.id, &from.label, DoorReport::Jammed).await.unwrap();

        let not_in = w.app.move_parcel(&operator, waiting.parcel.id, "C01", "tidy").await;
        assert!(matches!(not_in, Err(AppError::InvalidTransition(_))), "{name}: {not_in:?}");
        let busy = w.app.move_parcel(&operator, a.parcel.id, "A02", "tidy").await;
        assert!(
            matches!(busy, Err(AppError::NoFittingCompartment(NoFit::AllFittingBusy))),
            "{name}: A02 is reserved: {busy:?}"
        );
        assert!(matches!(
            w.app.move_parcel(&w.carrier, a.parcel.id, "C01", "x").await,
            Err(AppError::Forbidden { .. })
        ));
        assert!(matches!(w.app.move_parcel(&operator, a.parcel.id, "Z99", "x").await, Err(AppError::NotFound { .. })));

        let moved = w
            .app
            .move_parcel(&operator, a.parcel.id, "C01", "door jammed, parcel moved by the technician")
            .await
            .unwrap();
        let compartments = w.store.compartments(w.locker.id).await.unwrap();
        let c01 = compartments.iter().find(|c| c.label == "C01").unwrap();
        let old = compartments.iter().find(|c| c.id == from.id).unwrap();
        assert_eq!((moved.compartment_id, moved.state), (Some(c01.id), ParcelState::ReadyForPickup), "{name}");
        assert_eq!(c01.state, CompartmentState::Occupied { parcel_id: a.parcel.id });
        assert_eq!((old.state, old.fault), (CompartmentState::OutOfService, Some(DoorFault::Jammed)), "{name}");
        let events = w.store.events(a.parcel.id).await.unwrap();
        let last = &events.last().unwrap().event;
        assert_eq!((last.kind, last.compartment_id), (EventKind::Moved, Some(c01.id)));
        let audit = w.app.audit_log(&operator, None, Some(a.parcel.id), None, None).await.unwrap();
        assert_eq!(audit.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["door_jammed", "parcel_moved"]);
        // The recipient's code opens the new door.
        let collected = w
            .app
            .pickup_at_point(&w.device, w.locker.id, PickupSecret::Code(a.pickup_code.as_str().into()))
            .await
            .unwrap();
        assert_eq!(collected.compartment.map(|c| c.label), Some("C01".to_owned()), "{name}");
    }
}

/// Overflow: the chosen locker has no room, the courier takes the parcel to the point proposed within
/// 2 km, where it waits one business day with the same code; not collected there, it is taken out like
/// an expired parcel and goes on to the chosen locker, where it waits the network's hold window.
#[tokio::test]
async fn an_overflow_parcel_goes_to_a_nearby_point_for_a_day_then_to_the_chosen_one() {
    use relais_app::parcels::relocation::RELOCATION_RADIUS_M;
    use relais_domain::dropoff::DoorReport;
    for w in worlds().await {
        let name = w.store.backend();
        let system = Caller::system();
        w.app.rebuild_index().await.unwrap();
        // Fill the locker's four doors, then one more parcel: no room.
        let mut ids = Vec::new();
        for n in 0..5 {
            let a = w.app.announce_parcel(&w.merchant, announce(&w.locker, &format!("OVER{n:04}"), SMALL)).await;
            ids.push(a.map(|a| (a.parcel.id, a.pickup_code.as_str().to_owned())));
        }
        assert!(matches!(ids[4], Err(AppError::NoFittingCompartment(_))), "{name}: this network reserves at announce");
        let ids: Vec<(relais_domain::ids::ParcelId, String)> = ids.into_iter().take(4).map(Result::unwrap).collect();
        for (id, _) in &ids[..3] {
            w.app.deposit(&w.carrier, *id).await.unwrap();
        }
        // The fourth's door jams before the courier comes: it fails, the counter next door is proposed.
        let code = w.app.courier_code(&w.carrier, w.locker.id, None).await.unwrap();
        let session = w.app.open_drop_off_session(&w.device, w.locker.id, &code.code).await.unwrap();
        let scan = w.app.scan_into_session(&w.device, session.id, "OVER0003").await.unwrap();
        let jam =
            w.app.report_door(&w.device, w.locker.id, &scan.item.label.unwrap(), DoorReport::Jammed).await.unwrap();
        let proposal = jam.reassigned.unwrap().item.relocation_point_id;
        assert_eq!(proposal, Some(w.counter.id), "{name}");
        let (id, pickup_code) = ids[3].clone();

        // Refusals first: a point too far, one of another network, a parcel that did not fail.
        let far = new_point(w.network.id, "FAR", "counter", (45.77, 4.88), Vec::new(), Some(5));
        let far = w.app.create_point(&system, far).await.unwrap().point;
        assert!(far.coordinates.distance_m(w.locker.coordinates) > RELOCATION_RADIUS_M);
        let too_far = w.app.relocate_parcel(&w.carrier, id, far.id).await;
        assert!(matches!(too_far, Err(AppError::Validation(_))), "{name}: {too_far:?}");
        let not_failed = w.app.relocate_parcel(&w.carrier, ids[0].0, w.counter.id).await;
        assert!(matches!(not_failed, Err(AppError::InvalidTransition(_))), "{name}: {not_failed:?}");
        assert!(matches!(w.app.relocate_parcel(&w.merchant, id, w.counter.id).await, Err(AppError::Forbidden { .. })));

        let relocated = w.app.relocate_parcel(&w.carrier, id, w.counter.id).await.unwrap();
        assert_eq!(
            (relocated.state, relocated.point_id, relocated.relocated_from),
            (ParcelState::InTransit, w.counter.id, Some(w.locker.id))
        );
        let shelved = w.app.counter_scan_in(&w.counter_device, w.counter.id, "OVER0003").await.unwrap().parcel;
        assert_eq!(
            shelved.pickup_deadline,
            Some(start() + Duration::hours(24)),
            "{name}: one day at the temporary point"
        );
        let sent = sms_bodies(&deliver(&w).await);
        assert!(
            sent.iter().any(|b| b.contains("OVER0003 vous attend à counter C1")),
            "{name}: told where it is: {sent:?}"
        );
        assert!(
            sent.iter().any(|b| b.starts_with("locker L1 est complet : votre colis OVER0003 sera déposé à counter C1")),
            "{name}: told of the move: {sent:?}"
        );

        // Not collected in the day: it expires there, is on the counter's return list, and the courier's
        // return collection sends it on to the chosen locker.
        w.clock.set(start() + Duration::hours(25));
        w.app.expire_due(&system, 100).await.unwrap();
        let list = w.app.return_list(&w.carrier, w.counter.id).await.unwrap();
        assert!(list.iter().any(|(p, _)| p.id == id), "{name}");
        let back = w.app.collect_return(&w.carrier, id).await.unwrap();
        assert_eq!(
            (back.state, back.point_id, back.relocated_from),
            (ParcelState::InTransit, w.locker.id, None),
            "{name}"
        );
        assert_eq!(
            w.store.point(w.counter.id).await.unwrap().unwrap().shelf_occupied,
            0,
            "{name}: the shelf slot is free"
        );
        // A door is free again at the chosen locker: deposited there for the network's hold window, same code.
        w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::Code(ids[0].1.clone())).await.unwrap();
        let home = w.app.deposit(&w.carrier, id).await.unwrap();
        assert_eq!(home.parcel.pickup_deadline, Some(start() + Duration::hours(25 + 72)), "{name}");
        let collected = w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::Code(pickup_code)).await.unwrap();
        assert_eq!(collected.parcel.state, ParcelState::Collected, "{name}: the same code all along");
        let kinds: Vec<EventKind> = w.store.events(id).await.unwrap().iter().map(|e| e.event.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::Announced,
                EventKind::DepositFailed,
                EventKind::Relocated,
                EventKind::Deposited,
                EventKind::Expired,
                EventKind::ReturnCollected,
                EventKind::Deposited,
                EventKind::Collected
            ],
            "{name}"
        );
    }
}

/// A locker that stops beating is reported offline once (outbox and audit) after five silent minutes,
/// and online again at its next heartbeat.
#[tokio::test]
async fn a_silent_locker_is_reported_offline_then_online() {
    use relais_app::lockers::Heartbeat;
    for w in worlds().await {
        let name = w.store.backend();
        let system = Caller::system();
        w.app.heartbeat(&w.device, w.locker.id, Heartbeat::default()).await.unwrap();
        w.clock.advance(Duration::minutes(4));
        assert_eq!(w.app.flag_silent_devices(&system, 100).await.unwrap(), 0, "{name}: not yet");
        w.clock.advance(Duration::minutes(2));
        assert_eq!(w.app.flag_silent_devices(&system, 100).await.unwrap(), 1, "{name}");
        assert_eq!(w.app.flag_silent_devices(&system, 100).await.unwrap(), 0, "{name}: once");
        let status = w.app.device_status(&system, w.locker.id).await.unwrap().unwrap();
        assert_eq!(status.offline_since, Some(start() + Duration::minutes(6)), "{name}");
        let audit = doors_audit(w.app.audit_log(&system, Some(w.locker.id), None, None, None).await.unwrap());
        assert_eq!(audit.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(), ["device_offline"]);

        w.clock.advance(Duration::minutes(1));
        w.app.heartbeat(&w.device, w.locker.id, Heartbeat::default()).await.unwrap();
        let status = w.app.device_status(&system, w.locker.id).await.unwrap().unwrap();
        assert_eq!((status.offline_since, status.last_seen_at), (None, start() + Duration::minutes(7)), "{name}");
        let outbox = w.store.outbox(None, 500).await.unwrap();
        let topics: Vec<&str> =
            outbox.iter().filter(|m| m.topic.starts_with("point.device")).map(|m| m.topic.as_str()).collect();
        assert_eq!(topics, ["point.device_offline", "point.device_online"], "{name}");
        w.app.heartbeat(&w.device, w.locker.id, Heartbeat::default()).await.unwrap();
        let again = w.store.outbox(None, 500).await.unwrap();
        assert_eq!(again.iter().filter(|m| m.topic == "point.device_online").count(), 1, "{name}: said once");
    }
}

/// Parcels of one recipient from one merchant share a compartment when they fit together: in a courier
/// session and by a plain deposit. The door opens on all of them, so one code collects them all; a
/// jammed door flags them all; one return collection takes them all back. A sharer the courier cannot
/// put in, or keeps, leaves the compartment to the others.
#[tokio::test]
async fn parcels_of_one_recipient_share_a_compartment() {
    use relais_domain::dropoff::{DoorRefusal, DoorReport, ItemState};
    const THIN: (i64, i64, i64) = (300, 200, 30);
    const ANA: &str = "+33655555555";
    const BEN: &str = "+33644444444";
    for w in worlds().await {
        let name = w.store.backend();
        let system = Caller::system();
        // A locker in a network that does not reserve at announce: the deposits choose the doors.
        let rules = NetworkRules { reservation_hours: 0, ..NetworkRules::default() };
        let network = w.app.create_network(&system, "Sans réservation", rules).await.unwrap();
        let carrier = carrier_of(&w, network.id, "Partage").await;
        let doors =
            ["A01", "A02", "B01", "C01"].into_iter().map(|l| NewCompartment { label: l.into(), size: l[..1].into() });
        let new = new_point(network.id, "SHARE", "locker", (45.75, 4.83), doors.collect(), None);
        let CreatedPoint { point: locker, .. } = w.app.create_point(&system, new).await.unwrap();
        let device = w.app.create_api_key(&system, NewApiKey::device(locker.id, "device")).await.unwrap();
        let device = w.app.authenticate(&device.secret).await.unwrap();
        let mut codes = std::collections::HashMap::new();
        let mut ids = std::collections::HashMap::new();
        for (number, phone) in [
            ("ANAPARCEL01", ANA),
            ("ANAPARCEL02", ANA),
            ("ANAPARCEL03", ANA),
            ("BENPARCEL01", BEN),
            ("ANAPARCEL04", ANA),
            ("ANAPARCEL05", ANA),
        ] {
            let a = w.app.announce_parcel(&w.merchant, announce_for(&locker, number, THIN, phone)).await.unwrap();
            codes.insert(number, a.pickup_code.as_str().to_owned());
            ids.insert(number, a.parcel.id);
        }
        let door = |label: &'static str| {
            let store = w.store.clone();
            let locker = locker.id;
            async move { store.compartments(locker).await.unwrap().into_iter().find(|c| c.label == label).unwrap() }
        };

        // The courier's session: Ana's second parcel joins her first behind A01 (30 + 30 mm of 80); her
        // third does not fit there any more and takes A02; Ben's parcel is not Ana's: B01.
        let code = w.app.courier_code(&carrier, locker.id, None).await.unwrap();
        let session = w.app.open_drop_off_session(&device, locker.id, &code.code).await.unwrap();
        for (number, expected) in
            [("ANAPARCEL01", "A01"), ("ANAPARCEL02", "A01"), ("ANAPARCEL03", "A02"), ("BENPARCEL01", "B01")]
        {
            let scan = w.app.scan_into_session(&device, session.id, number).await.unwrap();
            assert_eq!(scan.item.label.as_deref(), Some(expected), "{name}: {number}");
            assert_eq!(scan.command.map(|c| c.label).as_deref(), Some(expected), "{name}: {number}");
            let closed = w.app.report_door(&device, locker.id, expected, DoorReport::Closed).await.unwrap();
            assert_eq!(closed.deposited.map(|p| p.id), Some(ids[number]), "{name}: {number}");
        }
        let a01 = door("A01").await;
        assert_eq!(a01.holders(), vec![ids["ANAPARCEL01"], ids["ANAPARCEL02"]], "{name}");
        assert_eq!(a01.state, CompartmentState::Occupied { parcel_id: ids["ANAPARCEL01"] });
        let ana02 = w.store.parcel(ids["ANAPARCEL02"]).await.unwrap().unwrap();
        assert_eq!((ana02.state, ana02.compartment_id), (ParcelState::ReadyForPickup, Some(a01.id)), "{name}");

        // A sharer the courier finds too large leaves A02 to Ana's third and looks for a larger door: B01
        // is Ben's, C01 is free.
        let scan = w.app.scan_into_session(&device, session.id, "ANAPARCEL04").await.unwrap();
        assert_eq!(scan.item.label.as_deref(), Some("A02"), "{name}: 30 + 30 mm fit in A02");
        assert_eq!(door("A02").await.holders(), vec![ids["ANAPARCEL03"], ids["ANAPARCEL04"]]);
        let moved = w.app.refuse_door(&device, session.id, ids["ANAPARCEL04"], DoorRefusal::TooLarge).await.unwrap();
        assert_eq!(moved.item.label.as_deref(), Some("C01"), "{name}");
        assert_eq!(door("A02").await.holders(), vec![ids["ANAPARCEL03"]], "{name}: the refused sharer left");
        w.app.report_door(&device, locker.id, "C01", DoorReport::Closed).await.unwrap();
        // A sharer the courier keeps gives its place back when the session closes.
        let kept = w.app.scan_into_session(&device, session.id, "ANAPARCEL05").await.unwrap();
        assert_eq!(kept.item.label.as_deref(), Some("A02"), "{name}");
        let view = w.app.close_drop_off_session(&device, session.id).await.unwrap();
        assert_eq!(view.items.last().unwrap().state, ItemState::NotDeposited, "{name}");
        assert_eq!(door("A02").await.holders(), vec![ids["ANAPARCEL03"]], "{name}");
        assert!(w.store.pending_door_commands(locker.id).await.unwrap().is_empty(), "{name}");
        let receipt = w.app.drop_off_receipt(&carrier, session.id).await.unwrap();
        let document = &receipt.signed["document"];
        let deposited: Vec<(&str, &str)> = document["deposited"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["parcel_number"].as_str().unwrap(), d["door"].as_str().unwrap()))
            .collect();
        assert_eq!(
            deposited,
            [
                ("ANAPARCEL01", "A01"),
                ("ANAPARCEL02", "A01"),
                ("ANAPARCEL03", "A02"),
                ("BENPARCEL01", "B01"),
                ("ANAPARCEL04", "C01")
            ],
            "{name}"
        );

        // Ana types her second parcel's code: the door opens on both; both are collected.
        let collected =
            w.app.pickup_at_point(&device, locker.id, PickupSecret::Code(codes["ANAPARCEL02"].clone())).await.unwrap();
        assert_eq!(collected.parcel.id, ids["ANAPARCEL02"], "{name}");
        assert_eq!(collected.shared.iter().map(|p| p.id).collect::<Vec<_>>(), vec![ids["ANAPARCEL01"]], "{name}");
        let a01 = collected.compartment.unwrap();
        assert_eq!((a01.label.as_str(), a01.state), ("A01", CompartmentState::Available), "{name}");
        let ana01 = w.store.parcel(ids["ANAPARCEL01"]).await.unwrap().unwrap();
        assert_eq!((ana01.state, ana01.compartment_id), (ParcelState::Collected, None), "{name}");
        let events = w.store.events(ids["ANAPARCEL01"]).await.unwrap();
        let last = &events.last().unwrap().event;
        assert_eq!((last.kind, last.reason.as_deref()), (EventKind::Collected, Some("shared_compartment")));
        let reused = w.app.pickup_at_point(&device, locker.id, PickupSecret::Code(codes["ANAPARCEL01"].clone())).await;
        assert!(matches!(reused, Err(AppError::InvalidPickupCode)), "{name}: {reused:?}");
        // Ben's door was not Ana's: his parcel waits.
        let ben = w.store.parcel(ids["BENPARCEL01"]).await.unwrap().unwrap();
        assert_eq!(ben.state, ParcelState::ReadyForPickup, "{name}");

        // Ana collects her parcel in A02 at the moment the courier, in a new session, puts another of hers
        // in beside it: the door opens for both; its closing records the courier's deposit, which her
        // pickup did not call off.
        let late = w.app.announce_parcel(&w.merchant, announce_for(&locker, "ANAPARCEL08", THIN, ANA)).await.unwrap();
        let session = w.app.open_drop_off_session(&device, locker.id, &code.code).await.unwrap();
        let scan = w.app.scan_into_session(&device, session.id, "ANAPARCEL08").await.unwrap();
        assert_eq!(scan.item.label.as_deref(), Some("A02"), "{name}: it joins her parcel there");
        let meanwhile =
            w.app.pickup_at_point(&device, locker.id, PickupSecret::Code(codes["ANAPARCEL03"].clone())).await.unwrap();
        assert!(meanwhile.shared.is_empty(), "{name}: the parcel on its way in is not collected");
        let closed = w.app.report_door(&device, locker.id, "A02", DoorReport::Closed).await.unwrap();
        assert_eq!(closed.deposited.map(|p| p.id), Some(late.parcel.id), "{name}");
        let a02 = door("A02").await;
        assert_eq!(a02.state, CompartmentState::Occupied { parcel_id: late.parcel.id }, "{name}");
        assert!(a02.sharers.is_empty(), "{name}");
        w.app.close_drop_off_session(&device, session.id).await.unwrap();
        assert_eq!(door("A02").await.holders(), vec![late.parcel.id], "{name}: still there after the session");

        // Plain deposits share too: Ana's next parcel joins the last one behind A02 (A01 is free, and
        // sharing keeps it so); the one after does not fit there and joins her fourth behind C01. A02
        // jams: both parcels behind it are flagged.
        let mut more = Vec::new();
        for (number, expected) in [("ANAPARCEL06", "A02"), ("ANAPARCEL07", "C01")] {
            let a = w.app.announce_parcel(&w.merchant, announce_for(&locker, number, THIN, ANA)).await.unwrap();
            let outcome = w.app.deposit(&carrier, a.parcel.id).await.unwrap();
            assert_eq!(outcome.compartment.map(|c| c.label).as_deref(), Some(expected), "{name}: {number}");
            more.push(a.parcel.id);
        }
        let jam = w.app.report_door(&device, locker.id, "A02", DoorReport::Jammed).await.unwrap();
        let behind = vec![late.parcel.id, more[0]];
        assert_eq!(jam.flagged, behind, "{name}");
        for id in &behind {
            let events = w.store.events(*id).await.unwrap();
            assert_eq!(events.last().unwrap().event.kind, EventKind::CompartmentFault, "{name}");
        }
        assert_eq!(jam.compartment.holders(), behind, "{name}: they are still behind the door");
        assert_eq!(jam.compartment.state, CompartmentState::Occupied { parcel_id: late.parcel.id });

        // Two of Ben's share B01 with his first; all three expire; one return collection opens B01 once
        // and takes the three back when it closes.
        for number in ["BENPARCEL02", "BENPARCEL03"] {
            let a = w.app.announce_parcel(&w.merchant, announce_for(&locker, number, THIN, BEN)).await.unwrap();
            let outcome = w.app.deposit(&carrier, a.parcel.id).await.unwrap();
            assert_eq!(outcome.compartment.map(|c| c.label).as_deref(), Some("B01"), "{name}: {number}");
            ids.insert(number, a.parcel.id);
        }
        for number in ["BENPARCEL01", "BENPARCEL02", "BENPARCEL03"] {
            w.app.force_expire(&system, ids[number], "the sender wants them back").await.unwrap();
        }
        let view = w.app.open_return_session(&device, locker.id, &code.code).await.unwrap();
        assert_eq!(view.items.len(), 3, "{name}");
        let commands = w.app.door_commands(&device, locker.id).await.unwrap();
        assert_eq!(commands.iter().map(|c| c.label.as_str()).collect::<Vec<_>>(), ["B01"], "{name}: one opening");
        w.app.report_door(&device, locker.id, "B01", DoorReport::Closed).await.unwrap();
        for number in ["BENPARCEL01", "BENPARCEL02", "BENPARCEL03"] {
            let p = w.store.parcel(ids[number]).await.unwrap().unwrap();
            assert_eq!((p.state, p.compartment_id), (ParcelState::Returning, None), "{name}: {number}");
        }
        let b01 = door("B01").await;
        assert_eq!((b01.state, b01.holders().len()), (CompartmentState::Available, 0), "{name}");
    }
}

/// The outbox delivered (ADR 15): a claimed message is leased to one worker until its lease lapses; a
/// fan-out run twice adds no delivery; a delivery is leased with its attempt counted, and an outcome
/// recorded under a lapsed lease is ignored, unless it is an acceptance; resent, pruned, and kept as
/// history after its message is gone.
#[tokio::test]
async fn the_outbox_is_claimed_fanned_out_delivered_and_pruned() {
    use relais_app::ports::DeliveryFilter;
    use relais_domain::delivery::{Channel, Delivery, DeliveryState, Destination, NextStep};
    use relais_domain::ids::{Id, LeaseId};

    for w in worlds().await {
        let name = w.store.backend();
        let lease = |n: u128| -> LeaseId { Id::from_uuid(uuid::Uuid::from_u128(n)) };
        let now = start();
        let a = w.app.announce_parcel(&w.merchant, announce(&w.locker, "DELIVER001", SMALL)).await.unwrap();
        let waiting = w.store.outbox(None, 100).await.unwrap().len();
        assert!(waiting >= 1, "{name}");

        // Claimed once; a second claim while the lease runs gets nothing; after it lapses, all again.
        let claim = |l: LeaseId, at: chrono::DateTime<Utc>| {
            Write::Messages(MessageWrite::ClaimOutbox {
                lease: l,
                now: at,
                until: at + Duration::seconds(30),
                limit: 100,
            })
        };
        w.store.commit(vec![claim(lease(1), now)]).await.unwrap();
        let leased = w.store.leased_outbox(lease(1)).await.unwrap();
        assert_eq!(leased.len(), waiting, "{name}");
        w.store.commit(vec![claim(lease(2), now + Duration::seconds(10))]).await.unwrap();
        assert!(w.store.leased_outbox(lease(2)).await.unwrap().is_empty(), "{name}: still leased");
        w.store.commit(vec![claim(lease(3), now + Duration::seconds(31))]).await.unwrap();
        assert_eq!(w.store.leased_outbox(lease(3)).await.unwrap().len(), waiting, "{name}: the lease lapsed");

        // The announcement fans out to two addresses; run twice (a worker died), it adds nothing.
        let message = leased.iter().find(|m| m.topic == "parcel.announced").unwrap();
        let to = |channel, address: &str| Destination { channel, address: address.into() };
        let fan_out = |first: u128| {
            let deliveries = [to(Channel::Email, "ana@example.org"), to(Channel::Sms, "+33612345678")]
                .into_iter()
                .enumerate()
                .map(|(i, d)| {
                    let id = Id::from_uuid(uuid::Uuid::from_u128(first + i as u128));
                    Delivery::new(id, message.id, &message.topic, message.parcel_id, d, now, now)
                })
                .collect();
            Write::Messages(MessageWrite::FanOut { outbox_id: message.id, deliveries, at: now })
        };
        w.store.commit(vec![fan_out(100)]).await.unwrap();
        w.store.commit(vec![fan_out(200)]).await.unwrap();
        let others: Vec<Write> = leased
            .iter()
            .filter(|m| m.id != message.id)
            .map(|m| Write::Messages(MessageWrite::FanOut { outbox_id: m.id, deliveries: vec![], at: now }))
            .collect();
        if !others.is_empty() {
            w.store.commit(others).await.unwrap();
        }
        w.store.commit(vec![claim(lease(4), now + Duration::seconds(100))]).await.unwrap();
        assert!(w.store.leased_outbox(lease(4)).await.unwrap().is_empty(), "{name}: dispatched");
        let filter = DeliveryFilter { parcel_id: Some(a.parcel.id), ..Default::default() };
        let page = |after| relais_app::ports::Page { after, limit: 10 };
        let all = w.store.deliveries(&filter, page(None)).await.unwrap();
        assert_eq!(all.len(), 2, "{name}: one delivery per channel and address");
        assert!(all[0].id > all[1].id, "{name}: newest first");
        assert!(all.iter().all(|d| d.state == DeliveryState::Pending && d.attempts == 0), "{name}");

        // Leased with its attempt counted and its message's payload; not due again until the lease ends.
        let claim_due = |l: LeaseId, at: chrono::DateTime<Utc>| {
            Write::Messages(MessageWrite::ClaimDeliveries {
                lease: l,
                now: at,
                until: at + Duration::seconds(60),
                limit: 10,
            })
        };
        w.store.commit(vec![claim_due(lease(5), now)]).await.unwrap();
        let first = w.store.leased_deliveries(lease(5)).await.unwrap();
        assert_eq!(first.len(), 2, "{name}");
        assert!(first.iter().all(|l| l.delivery.attempts == 1), "{name}");
        assert_eq!(first[0].payload.as_ref().unwrap()["parcel_number"], "DELIVER001", "{name}");
        w.store.commit(vec![claim_due(lease(6), now + Duration::seconds(59))]).await.unwrap();
        assert!(w.store.leased_deliveries(lease(6)).await.unwrap().is_empty(), "{name}: leased");
        // The worker died: the lease lapsed, another takes them over.
        w.store.commit(vec![claim_due(lease(7), now + Duration::seconds(60))]).await.unwrap();
        let second = w.store.leased_deliveries(lease(7)).await.unwrap();
        assert!(second.len() == 2 && second.iter().all(|l| l.delivery.attempts == 2), "{name}");

        // The first worker's late outcomes: a failure under its lapsed lease is ignored, an
        // acceptance is kept.
        let (sms, email) = {
            let sms = second.iter().find(|l| l.delivery.channel == Channel::Sms).unwrap();
            let email = second.iter().find(|l| l.delivery.channel == Channel::Email).unwrap();
            (sms.delivery.clone(), email.delivery.clone())
        };
        let later = now + Duration::seconds(61);
        let retry = sms.clone().after(NextStep::RetryAt(later + Duration::seconds(20)), later);
        w.store
            .commit(vec![Write::Messages(MessageWrite::RecordDelivery { delivery: retry.clone(), lease: lease(5) })])
            .await
            .unwrap();
        assert_eq!(w.store.delivery(sms.id).await.unwrap().unwrap().next_attempt_at, now + Duration::seconds(120));
        // A fast provider reported on the message before its acceptance was recorded: taken up with it.
        let early = Write::Messages(MessageWrite::SetProviderStatus {
            channel: Channel::Email,
            provider_ref: "queued as 42".into(),
            status: "sent".into(),
            at: later,
        });
        w.store.commit(vec![early]).await.unwrap();
        let accepted = email.clone().after(NextStep::Delivered { provider_ref: Some("queued as 42".into()) }, later);
        w.store
            .commit(vec![Write::Messages(MessageWrite::RecordDelivery { delivery: accepted, lease: lease(5) })])
            .await
            .unwrap();
        let stored = w.store.delivery(email.id).await.unwrap().unwrap();
        assert_eq!((stored.state, stored.provider_ref.as_deref()), (DeliveryState::Delivered, Some("queued as 42")));
        assert_eq!(stored.provider_status.as_deref(), Some("sent"), "{name}: the early report");
        // The current lease's failure counts.
        w.store
            .commit(vec![Write::Messages(MessageWrite::RecordDelivery { delivery: retry, lease: lease(7) })])
            .await
            .unwrap();
        let stored = w.store.delivery(sms.id).await.unwrap().unwrap();
        assert_eq!((stored.state, stored.next_attempt_at), (DeliveryState::Pending, later + Duration::seconds(20)));
        w.store.commit(vec![claim_due(lease(8), later)]).await.unwrap();
        assert!(w.store.leased_deliveries(lease(8)).await.unwrap().is_empty(), "{name}: not due yet");

        // A message with a pending delivery is not pruned; once all are final, it is, and its
        // deliveries stay as history, without their payload.
        let prune = Write::Messages(MessageWrite::PruneOutbox { before: now + Duration::days(30), limit: 100 });
        w.store.commit(vec![prune.clone()]).await.unwrap();
        assert!(w.store.outbox_message(message.id).await.unwrap().is_some(), "{name}: a delivery is pending");
        let dead = sms.clone().after(NextStep::Dead { error: "HTTP 400".into() }, later);
        let claimed = later + Duration::seconds(20);
        w.store.commit(vec![claim_due(lease(9), claimed)]).await.unwrap();
        assert_eq!(w.store.leased_deliveries(lease(9)).await.unwrap().len(), 1, "{name}");
        w.store
            .commit(vec![Write::Messages(MessageWrite::RecordDelivery { delivery: dead, lease: lease(9) })])
            .await
            .unwrap();
        let counts = w.store.delivery_counts().await.unwrap();
        assert!(counts.contains(&("sms".into(), "dead".into(), 1)), "{name}: {counts:?}");
        assert!(counts.contains(&("email".into(), "delivered".into(), 1)), "{name}: {counts:?}");
        w.store
            .commit(vec![Write::Messages(MessageWrite::PruneOutbox { before: now - Duration::seconds(1), limit: 100 })])
            .await
            .unwrap();
        assert!(w.store.outbox_message(message.id).await.unwrap().is_some(), "{name}: not old enough");
        w.store.commit(vec![prune]).await.unwrap();
        assert!(w.store.outbox_message(message.id).await.unwrap().is_none(), "{name}: pruned");
        assert_eq!(w.store.deliveries(&filter, page(None)).await.unwrap().len(), 2, "{name}: history kept");

        // Resent: pending again from its first attempt; a pending one cannot be resent.
        w.store.commit(vec![Write::Messages(MessageWrite::ResendDelivery { id: sms.id, at: later })]).await.unwrap();
        let resent = w.store.delivery(sms.id).await.unwrap().unwrap();
        assert_eq!((resent.state, resent.attempts, resent.last_error), (DeliveryState::Pending, 0, None), "{name}");
        let again = w.store.commit(vec![Write::Messages(MessageWrite::ResendDelivery { id: sms.id, at: later })]).await;
        assert!(matches!(again, Err(CommitError::Conflict)), "{name}: {again:?}");
        w.store.commit(vec![claim_due(lease(10), later)]).await.unwrap();
        let orphan = w.store.leased_deliveries(lease(10)).await.unwrap();
        assert!(orphan.len() == 1 && orphan[0].payload.is_none(), "{name}: its message was pruned");

        // A provider's later report finds its delivery by reference.
        let status = Write::Messages(MessageWrite::SetProviderStatus {
            channel: Channel::Email,
            provider_ref: "queued as 42".into(),
            status: "delivered".into(),
            at: later,
        });
        w.store.commit(vec![status]).await.unwrap();
        assert_eq!(w.store.delivery(email.id).await.unwrap().unwrap().provider_status.as_deref(), Some("delivered"));
        let by_address = DeliveryFilter { address: Some("+33612345678".into()), ..Default::default() };
        assert_eq!(w.store.deliveries(&by_address, page(None)).await.unwrap().len(), 1, "{name}");
        let dead_only = DeliveryFilter { state: Some(DeliveryState::Delivered), ..filter.clone() };
        assert_eq!(w.store.deliveries(&dead_only, page(None)).await.unwrap()[0].id, email.id, "{name}");
        assert_eq!(w.store.deliveries(&filter, page(Some(all[0].id))).await.unwrap().len(), 1, "{name}: paged");
    }
}

/// Endpoints: a merchant's and the operators' apart, updated under their version, a secret rotated
/// with the previous one kept until a moment, failures remembered from the first until a success.
#[tokio::test]
async fn endpoints_are_kept_with_their_sealed_secrets() {
    use relais_domain::delivery::{Endpoint, EndpointTarget};
    use relais_domain::ids::Id;

    for w in worlds().await {
        let name = w.store.backend();
        let merchant_id = w.merchant.merchant_id.unwrap();
        let endpoint = |n: u128, merchant_id, target| Endpoint {
            id: Id::from_uuid(uuid::Uuid::from_u128(n)),
            merchant_id,
            target,
            topics: vec!["parcel.*".into(), "point.door_fault".into()],
            disabled_at: None,
            disabled_reason: None,
            failing_since: None,
            created_at: start(),
            version: 1,
        };
        let hook = endpoint(1, Some(merchant_id), EndpointTarget::Webhook { url: "https://shop.example/h".into() });
        let alerts = endpoint(2, None, EndpointTarget::Email { address: "ops@example.org".into() });
        w.store
            .commit(vec![
                Write::Messages(MessageWrite::InsertEndpoint {
                    endpoint: hook.clone(),
                    secret_seal: Some(vec![1, 2, 3]),
                }),
                Write::Messages(MessageWrite::InsertEndpoint { endpoint: alerts.clone(), secret_seal: None }),
            ])
            .await
            .unwrap();
        assert_eq!(w.store.endpoints(Some(merchant_id)).await.unwrap(), vec![hook.clone()], "{name}");
        assert_eq!(w.store.endpoints(None).await.unwrap(), vec![alerts.clone()], "{name}");
        let (stored, secrets) = w.store.endpoint(hook.id).await.unwrap().unwrap();
        assert_eq!((stored, secrets.current, secrets.previous), (hook.clone(), Some(vec![1, 2, 3]), None), "{name}");

        let until = start() + Duration::hours(24);
        let rotate = Write::Messages(MessageWrite::RotateEndpointSecret {
            id: hook.id,
            secret_seal: vec![4, 5],
            previous_until: until,
        });
        w.store.commit(vec![rotate]).await.unwrap();
        let (rotated, secrets) = w.store.endpoint(hook.id).await.unwrap().unwrap();
        assert_eq!((secrets.current, secrets.previous), (Some(vec![4, 5]), Some((vec![1, 2, 3], until))), "{name}");
        assert_eq!(rotated.version, 2, "{name}");

        let fail = |at| Write::Messages(MessageWrite::EndpointOutcome { id: hook.id, ok: false, at });
        w.store.commit(vec![fail(start())]).await.unwrap();
        w.store.commit(vec![fail(start() + Duration::hours(1))]).await.unwrap();
        let failing = w.store.endpoint(hook.id).await.unwrap().unwrap().0;
        assert_eq!(failing.failing_since, Some(start()), "{name}: since the first failure");
        w.store
            .commit(vec![Write::Messages(MessageWrite::EndpointOutcome { id: hook.id, ok: true, at: start() })])
            .await
            .unwrap();
        assert_eq!(w.store.endpoint(hook.id).await.unwrap().unwrap().0.failing_since, None, "{name}");

        let disabled =
            Endpoint { disabled_at: Some(start()), disabled_reason: Some("failing".into()), ..rotated.clone() };
        w.store.commit(vec![Write::Messages(MessageWrite::UpdateEndpoint(disabled))]).await.unwrap();
        let stale = w.store.commit(vec![Write::Messages(MessageWrite::UpdateEndpoint(rotated))]).await;
        assert!(matches!(stale, Err(CommitError::Conflict)), "{name}: {stale:?}");
        assert_eq!(w.store.enabled_endpoints().await.unwrap(), vec![alerts], "{name}");
    }
}

/// The delivery worker tells the recipient in their language, on the channels each notice calls for,
/// with the code only while it opens a door; the merchant's webhook gets every parcel event, signed;
/// an SMS waits for the end of the recipient's night, and is dropped if the parcel was collected
/// meanwhile; nothing goes out twice.
#[tokio::test]
async fn the_worker_tells_recipients_and_merchants_once_and_in_their_hours() {
    use relais_app::notify::Outgoing;
    use relais_app::notify::endpoints::NewEndpoint;
    use relais_domain::delivery::DeliveryState;

    for w in worlds().await {
        let name = w.store.backend();
        let hook = NewEndpoint {
            url: Some("https://shop.example/hooks/relais".into()),
            topics: vec!["parcel.*".into()],
            ..Default::default()
        };
        let created = w.app.create_endpoint(&w.merchant, hook).await.unwrap();
        let secret = relais_messages::webhooks::WebhookSecret::parse(&created.secret.unwrap()).unwrap();
        let alerts = NewEndpoint { email: Some("ops@example.org".into()), ..Default::default() };
        let refused = w.app.create_endpoint(&w.merchant, alerts.clone()).await;
        assert!(matches!(refused, Err(AppError::Validation(_))), "{name}: a merchant's endpoint is a webhook");
        w.app
            .create_endpoint(&Caller::system(), NewEndpoint { topics: vec!["point.*".into()], ..alerts })
            .await
            .unwrap();
        // Operators who listen to deposits by e-mail get the event, never the recipient's code.
        let watch = NewEndpoint {
            email: Some("watch@example.org".into()),
            topics: vec!["parcel.deposited".into()],
            ..Default::default()
        };
        w.app.create_endpoint(&Caller::system(), watch).await.unwrap();

        let branding = relais_app::ports::Branding {
            color: Some("#0b7a3e".into()),
            logo_url: Some("https://shop.example/logo.png".into()),
            sender_name: Some("Boutique Verte".into()),
            return_address: None,
        };
        let merchant_id = w.merchant.merchant_id.unwrap();
        w.app.set_merchant_branding(&w.merchant, merchant_id, branding).await.unwrap();
        let mut input = announce(&w.locker, "NOTIFY0001", SMALL);
        input.recipient_email = Some("ana@example.org".into());
        input.recipient_language = Some("en".into());
        let a = w.app.announce_parcel(&w.merchant, input).await.unwrap();
        let sent = deliver(&w).await;
        let kinds = |sent: &[Outgoing]| {
            let mut kinds: Vec<&str> = sent
                .iter()
                .map(|m| match m {
                    Outgoing::Email(_) => "email",
                    Outgoing::Sms(_) => "sms",
                    Outgoing::Webhook(_) => "webhook",
                })
                .collect();
            kinds.sort();
            kinds
        };
        assert_eq!(kinds(&sent), ["email", "webhook"], "{name}: an announcement goes by e-mail, and to the merchant");
        for m in &sent {
            match m {
                Outgoing::Email(e) => {
                    assert_eq!(e.subject, "Your parcel NOTIFY0001 is on its way to locker L1", "{name}: in English");
                    assert!(e.inline.is_empty() && !e.text.contains(a.pickup_code.as_str()), "{name}: no code yet");
                }
                Outgoing::Webhook(h) => {
                    let header = |n: &str| h.headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap();
                    let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
                    let id = header("webhook-id");
                    let signature = header("webhook-signature");
                    relais_messages::webhooks::verify(
                        &secret,
                        &id,
                        timestamp,
                        &signature,
                        h.body.as_bytes(),
                        timestamp,
                    )
                    .unwrap();
                    let body: serde_json::Value = serde_json::from_str(&h.body).unwrap();
                    assert_eq!(
                        (body["type"].as_str(), body["data"]["parcel_number"].as_str()),
                        (Some("parcel.announced"), Some("NOTIFY0001"))
                    );
                    assert!(
                        !h.body.contains(a.pickup_code.as_str()),
                        "{name}: the merchant's webhook never carries the code"
                    );
                }
                Outgoing::Sms(_) => unreachable!(),
            }
        }

        // Ready at 09:00 in Lyon: the code by e-mail (with its QR image) and SMS, and the webhook; the
        // operators' watch address gets the event without the code.
        w.app.deposit(&w.carrier, a.parcel.id).await.unwrap();
        let sent = deliver(&w).await;
        assert_eq!(kinds(&sent), ["email", "email", "sms", "webhook"], "{name}");
        for m in &sent {
            match m {
                Outgoing::Email(e) if e.to == "watch@example.org" => {
                    assert!(e.subject.contains("parcel.deposited") && e.inline.is_empty(), "{name}: {}", e.subject);
                    assert!(!e.text.contains(a.pickup_code.as_str()) && !e.html.contains(a.pickup_code.as_str()));
                }
                Outgoing::Email(e) => {
                    assert!(e.text.contains(&format!("Your pickup code: {}", a.pickup_code.as_str())), "{name}");
                    assert!(e.text.contains("Collect it by Monday 30 Nov at 09:00"), "{name}: {}", e.text);
                    assert_eq!(e.inline.len(), 1, "{name}: the QR image");
                    assert!(e.inline[0].bytes.starts_with(b"\x89PNG") && e.html.contains("cid:qr"), "{name}");
                    assert_eq!(e.to, "ana@example.org");
                    assert_eq!(e.from_name.as_deref(), Some("Boutique Verte"), "{name}: the merchant's sender name");
                    assert!(e.html.contains("#0b7a3e") && e.html.contains("logo.png"), "{name}: its colour and logo");
                }
                Outgoing::Sms(s) => {
                    assert!(s.body.contains(a.pickup_code.as_str()) && s.to.starts_with("+3361"), "{name}: {}", s.body);
                }
                Outgoing::Webhook(h) => assert!(h.body.contains("\"parcel.deposited\""), "{name}"),
            }
        }
        assert!(deliver(&w).await.is_empty(), "{name}: nothing goes out twice");

        // Deposited at 22:00 in Lyon: the e-mail goes, the SMS waits for 08:00; collected at 23:00, the
        // SMS would carry a dead code: it is dropped.
        let mut input = announce(&w.locker, "NOTIFY0002", SMALL);
        input.recipient_email = Some("ben@example.org".into());
        let b = w.app.announce_parcel(&w.merchant, input).await.unwrap();
        w.clock.set(start() + Duration::hours(13));
        w.app.deposit(&w.carrier, b.parcel.id).await.unwrap();
        let sent = deliver(&w).await;
        assert_eq!(kinds(&sent), ["email", "email", "email", "webhook", "webhook"], "{name}: the night's SMS is held");
        w.clock.set(start() + Duration::hours(14));
        let code = b.pickup_code.as_str().to_owned();
        w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::Code(code)).await.unwrap();
        let sent = deliver(&w).await;
        assert_eq!(kinds(&sent), ["email", "webhook"], "{name}: the receipt and the merchant's event");
        w.clock.set(start() + Duration::hours(23));
        assert!(deliver(&w).await.is_empty(), "{name}: the collected parcel's SMS is not sent");
        let messages = w.app.parcel_messages(&w.merchant, b.parcel.id).await.unwrap();
        let sms: Vec<_> = messages.iter().filter(|d| d.channel.as_str() == "sms").collect();
        assert_eq!(sms.len(), 1, "{name}");
        assert_eq!(sms[0].state, DeliveryState::Dead, "{name}");
        assert!(sms[0].last_error.as_deref().unwrap().contains("no longer live"), "{name}: {:?}", sms[0].last_error);
        // A dead letter is an operator's alert (its error, never its address).
        let alerts = w.app.alerts(&Caller::system()).await.unwrap();
        let failing = alerts.open.iter().find(|a| a.kind == relais_domain::alert::AlertKind::MessageFailing).unwrap();
        assert!(
            failing.detail.contains("no longer live") && !failing.detail.contains("+336"),
            "{name}: {}",
            failing.detail
        );
        assert!(messages.iter().all(|d| d.parcel_id == Some(b.parcel.id)), "{name}");
        let carrier = w.app.parcel_messages(&w.carrier, b.parcel.id).await;
        assert!(matches!(carrier, Err(AppError::Forbidden { .. })), "{name}: {carrier:?}");

        // Resent by an operator: delivered again from its first attempt (the same id: receivers
        // deduplicate); a pending one cannot be.
        let hook = messages.iter().find(|d| d.channel.as_str() == "webhook").unwrap();
        let resent = w.app.resend_delivery(&Caller::system(), hook.id).await.unwrap();
        assert_eq!((resent.state, resent.attempts), (DeliveryState::Pending, 0), "{name}");
        let twice = w.app.resend_delivery(&Caller::system(), hook.id).await;
        assert!(matches!(twice, Err(AppError::NotResendable { .. })), "{name}: {twice:?}");
        let sent = deliver(&w).await;
        assert!(matches!(&sent[..], [Outgoing::Webhook(h)] if h.delivery_id == hook.id), "{name}: {sent:?}");
        let other_merchant = Caller::merchant(relais_domain::ids::Id::from_uuid(uuid::Uuid::from_u128(5)));
        let foreign = w.app.resend_delivery(&other_merchant, hook.id).await;
        assert!(matches!(foreign, Err(AppError::NotFound { .. })), "{name}: {foreign:?}");
    }
}

/// Runs the delivery worker with these settings until it has nothing left to do now; what it sent.
async fn deliver_with(w: &World, settings: &relais_app::notify::DeliverySettings) -> Vec<relais_app::notify::Outgoing> {
    let recorder = Arc::new(Recorder::default());
    let outlets: Arc<dyn relais_app::notify::Outlets> = recorder.clone();
    while !w.app.deliver_round(&outlets, settings).await.unwrap().is_idle() {}
    let mut sent = std::mem::take(&mut *recorder.sent.lock().unwrap());
    sent.sort_by_key(relais_app::notify::Outgoing::delivery_id);
    sent
}

/// The token of a parcel's recipient link.
fn link_token(w: &World, parcel_id: relais_domain::ids::ParcelId) -> String {
    w.app.recipient_link(parcel_id).rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn recipients_stop_channels_are_held_to_their_limit_and_answer_the_survey() {
    use relais_app::notify::Outgoing;
    use relais_app::notify::templates::TemplateKey;
    use relais_domain::delivery::{Channel, DeliveryState, RecipientLimit};
    use relais_domain::survey::SurveyRefusal;

    for w in worlds().await {
        let name = w.store.backend();
        let sms_to =
            |sent: &[Outgoing], to: &str| sent.iter().filter(|m| matches!(m, Outgoing::Sms(s) if s.to == to)).count();

        // Ready: the code by SMS and e-mail; the e-mail carries the stop link, one-click too.
        let mut input = announce_for(&w.locker, "STOP0001", SMALL, "+33611223344");
        input.recipient_email = Some("Chloe@Example.org".into());
        let first = w.app.announce_parcel(&w.merchant, input).await.unwrap();
        w.app.deposit(&w.carrier, first.parcel.id).await.unwrap();
        let sent = deliver(&w).await;
        assert_eq!(sms_to(&sent, "+33611223344"), 1, "{name}");
        let token = link_token(&w, first.parcel.id);
        let email = sent
            .iter()
            .find_map(|m| match m {
                Outgoing::Email(e) if e.to.eq_ignore_ascii_case("chloe@example.org") && !e.inline.is_empty() => {
                    Some(e.clone())
                }
                _ => None,
            })
            .unwrap();
        let html = email.html.replace("&#x2f;", "/");
        assert!(html.contains(&format!("/r/{token}/stop")), "{name}: the stop link: {html}");
        assert!(
            email.headers.contains(&(
                "List-Unsubscribe".to_owned(),
                format!("<{}/stop?channel=email>", w.app.recipient_link(first.parcel.id))
            )) && email.headers.iter().any(|(k, v)| k == "List-Unsubscribe-Post" && v == "List-Unsubscribe=One-Click"),
            "{name}: {:?}",
            email.headers
        );

        // Stopped SMS from the link: a later parcel to the same phone comes by e-mail only; the contact
        // is kept as a digest only.
        let stopped = w.app.opt_out_by_recipient(&token, &[Channel::Sms]).await.unwrap();
        assert_eq!(stopped, [Channel::Sms], "{name}");
        let again = w.app.opt_out_by_recipient(&token, &[Channel::Sms]).await.unwrap();
        assert_eq!(again, [Channel::Sms], "{name}: twice is fine");
        let mut input = announce_for(&w.locker, "STOP0002", SMALL, "+33611223344");
        input.recipient_email = Some("chloe@example.org".into());
        let second = w.app.announce_parcel(&w.merchant, input).await.unwrap();
        w.app.deposit(&w.carrier, second.parcel.id).await.unwrap();
        let sent = deliver(&w).await;
        assert_eq!(sms_to(&sent, "+33611223344"), 0, "{name}: no SMS after the stop");
        assert_eq!(
            sent.iter().filter(|m| matches!(m, Outgoing::Email(e) if e.to == "chloe@example.org")).count(),
            2,
            "{name}: the announcement and the code by e-mail"
        );
        let digest = Secrets::new([7; 32]).contact_digest("+33611223344");
        assert_eq!(w.store.opted_out(&[digest]).await.unwrap().len(), 1, "{name}");
        // Stopping e-mail too: an SMS-or-e-mail notice reaches nobody, a bad link nothing.
        w.app.opt_out_by_recipient(&token, &[Channel::Email]).await.unwrap();
        let bad = w.app.opt_out_by_recipient("RL2.forged", &[Channel::Email]).await;
        assert!(matches!(bad, Err(AppError::NotFound { .. })), "{name}: {bad:?}");
        w.app.reissue_pickup_code(&w.merchant, second.parcel.id).await.unwrap();
        let sent = deliver(&w).await;
        assert!(sent.is_empty(), "{name}: the new code reaches neither stopped channel: {sent:?}");

        // Three parcels ready for one phone with a limit of two SMS a day: the third waits a day.
        let settings = relais_app::notify::DeliverySettings {
            sms_limit: RecipientLimit { messages: 2, window: Duration::hours(24) },
            ..Default::default()
        };
        let mut parcels = Vec::new();
        for number in ["LIMIT0001", "LIMIT0002", "LIMIT0003"] {
            let input = announce_for(&w.counter, number, SMALL, "+33655443322");
            parcels.push(w.app.announce_parcel(&w.merchant, input).await.unwrap());
        }
        let sent = deliver_with(&w, &settings).await;
        assert_eq!(sms_to(&sent, "+33655443322"), 2, "{name}: two announcements go, the third waits");
        w.clock.set(start() + Duration::hours(25));
        let sent = deliver_with(&w, &settings).await;
        assert_eq!(sms_to(&sent, "+33655443322"), 1, "{name}: the third a day later");
        let held = w.app.parcel_messages(&Caller::system(), parcels[2].parcel.id).await.unwrap();
        assert!(
            held.iter().any(|d| d.channel == Channel::Sms && d.state == DeliveryState::Delivered),
            "{name}: {held:?}"
        );

        // The survey: after the collection only, once per parcel (a second answer replaces the first),
        // counted in the NPS of its merchant, point and network.
        let waiting = w.app.answer_survey(&token, 9, None, false).await;
        assert!(matches!(waiting, Err(AppError::SurveyRefused(SurveyRefusal::NotCollected))), "{name}: {waiting:?}");
        let code = first.pickup_code.as_str().to_owned();
        w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::Code(code)).await.unwrap();
        let bad = w.app.answer_survey(&token, 11, None, false).await;
        assert!(matches!(bad, Err(AppError::Validation(_))), "{name}: {bad:?}");
        w.app.answer_survey(&token, 9, Some("Très rapide"), true).await.unwrap();
        let answer = w.app.answer_survey(&token, 3, Some("Borne en panne"), false).await.unwrap();
        let stored = w.store.survey_answer(first.parcel.id).await.unwrap().unwrap();
        assert_eq!(stored, answer, "{name}");
        assert_eq!((stored.score, stored.point_id, stored.publish), (3, w.locker.id, false), "{name}");
        let day = start().date_naive() + Duration::days(1);
        let query = relais_app::kpis::NpsQuery {
            first: start().date_naive(),
            last: day,
            network_id: None,
            point_id: None,
            merchant_id: None,
            carrier_id: None,
        };
        let nps = w.app.nps(&Caller::system(), query).await.unwrap();
        assert_eq!((nps.detractors, nps.answers(), nps.score()), (1, 1, Some(-100.0)), "{name}");
        let own = w.app.nps(&w.merchant, query).await.unwrap();
        assert_eq!(own, nps, "{name}: the merchant's own");
        let elsewhere = relais_app::kpis::NpsQuery { point_id: Some(w.counter.id), ..query };
        assert_eq!(w.app.nps(&Caller::system(), elsewhere).await.unwrap().answers(), 0, "{name}: another point's");
        let other = Caller::merchant(relais_domain::ids::Id::from_uuid(uuid::Uuid::from_u128(5)));
        assert_eq!(w.app.nps(&other, query).await.unwrap().answers(), 0, "{name}: another merchant sees none");
        assert!(matches!(w.app.nps(&w.carrier, query).await, Err(AppError::Forbidden { .. })), "{name}");
        w.clock.set(start() + Duration::days(40));
        let closed = w.app.answer_survey(&token, 10, None, false).await;
        assert!(matches!(closed, Err(AppError::SurveyRefused(SurveyRefusal::Closed))), "{name}: {closed:?}");

        // An operator's SMS template is used from the next message on; reset, the default again.
        let key = || TemplateKey { notice: "ready_for_pickup", lang: "fr", part: "sms" };
        let source = "{{ merchant }} : colis {{ parcel_number }}, code {{ code }}, à {{ point_name }}. {{ link }}";
        w.app.save_message_template(&Caller::system(), key(), source).await.unwrap();
        let refused = w.app.save_message_template(&Caller::system(), key(), "{{ nope }}").await;
        assert!(matches!(refused, Err(AppError::TemplateInvalid { .. })), "{name}: {refused:?}");
        assert_eq!(w.app.message_template(&Caller::system(), key()).await.unwrap().source, source, "{name}");
        let input = announce_for(&w.locker, "TEMPL0001", SMALL, "+33600000001");
        let templ = w.app.announce_parcel(&w.merchant, input).await.unwrap();
        w.app.deposit(&w.carrier, templ.parcel.id).await.unwrap();
        let bodies = sms_bodies(&deliver(&w).await);
        let expected = format!("Boutique : colis TEMPL0001, code {}", templ.pickup_code.as_str());
        assert!(bodies.iter().any(|b| b.starts_with(&expected)), "{name}: {bodies:?}");
        let reset = w.app.reset_message_template(&Caller::system(), key()).await.unwrap();
        assert!(!reset.custom && reset.source.contains("vous attend"), "{name}");
        assert!(w.store.message_templates().await.unwrap().is_empty(), "{name}");
        let merchant = w.app.save_message_template(&w.merchant, key(), source).await;
        assert!(matches!(merchant, Err(AppError::Forbidden { .. })), "{name}: operators only");
    }
}

#[tokio::test]
async fn numbers_are_issued_once_across_processes_and_not_again_within_a_year() {
    use relais_app::numbers::SeriesOwner;
    use relais_domain::numbering::Series;

    for w in worlds().await {
        let name = w.store.backend();
        let merchant_id = w.merchant.merchant_id.unwrap();
        let owner = SeriesOwner::Merchant(merchant_id);
        // No series: an announce without a number says so.
        let mut input = announce(&w.locker, "UNUSED0001", SMALL);
        input.parcel_number = None;
        let none = w.app.announce_parcel(&w.merchant, input.clone()).await;
        assert!(matches!(none, Err(AppError::NoNumberSeries { .. })), "{name}: {none:?}");

        let series = Series::sscc(1, "0614141").unwrap();
        let set = w.app.set_number_series(&w.merchant, owner, series.clone()).await.unwrap();
        assert_eq!((set.next_serial, set.capacity), (0, 1_000_000_000), "{name}");
        let other = Caller::merchant(relais_domain::ids::Id::from_uuid(uuid::Uuid::from_u128(5)));
        let foreign = w.app.set_number_series(&other, owner, series.clone()).await;
        assert!(matches!(foreign, Err(AppError::NotFound { .. })), "{name}: {foreign:?}");

        // Two processes (two apps on one database) issue at once: every number once, each an SSCC of
        // the series.
        let second = App::new(w.store.clone(), w.clock.clone(), Arc::new(SeededRandom::new(9)), Secrets::new([7; 32]));
        let (a, b) = tokio::join!(
            w.app.issue_numbers(&w.merchant, owner, "sscc", 250),
            second.issue_numbers(&w.merchant, owner, "sscc", 250)
        );
        let mut all: Vec<String> = a.unwrap().into_iter().chain(b.unwrap()).map(|n| n.as_str().to_owned()).collect();
        assert!(all.iter().all(|n| n.len() == 18 && n.starts_with("10614141")), "{name}");
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 500, "{name}: no number twice");
        // Each took its own blocks of 100: six blocks at least, the next starts after them.
        let read = w.app.number_series(&w.merchant, owner, "sscc").await.unwrap();
        assert!(read.next_serial >= 500 && read.next_serial % 100 == 0, "{name}: {}", read.next_serial);

        // Announced without a number: the next SSCC.
        let announced = w.app.announce_parcel(&w.merchant, input).await.unwrap();
        let number = announced.parcel.number.as_str().to_owned();
        assert!(number.starts_with("10614141") && !all.contains(&number), "{name}: {number}");

        // A network's small S10 range: 150 numbers, then none until a year has passed.
        let network = SeriesOwner::Network(w.network.id);
        let range = Series::s10("EW", "FR", 11_272_000, 11_272_149).unwrap();
        w.app.set_number_series(&Caller::system(), network, range.clone()).await.unwrap();
        let refused = w.app.set_number_series(&w.merchant, network, range.clone()).await;
        assert!(matches!(refused, Err(AppError::Forbidden { .. })), "{name}: {refused:?}");
        let fresh = App::new(w.store.clone(), w.clock.clone(), Arc::new(SeededRandom::new(3)), Secrets::new([7; 32]));
        let issued = fresh.issue_numbers(&Caller::system(), network, "s10", 150).await.unwrap();
        assert_eq!(issued.first(), range.number(0).as_ref(), "{name}: from the range's first serial");
        assert!(issued.iter().all(|n| n.as_str().starts_with("EW11272") && n.as_str().ends_with("FR")), "{name}");
        let exhausted = fresh.issue_numbers(&Caller::system(), network, "s10", 1).await;
        assert!(matches!(exhausted, Err(AppError::NumbersExhausted { .. })), "{name}: {exhausted:?}");
        // Set again, the range does not start over on numbers of the year.
        let again = w.app.set_number_series(&Caller::system(), network, range.clone()).await.unwrap();
        assert_eq!(again.next_serial, 150, "{name}: the same definition keeps its place");
        w.clock.set(start() + Duration::days(relais_domain::numbering::REUSE_AFTER_DAYS + 1));
        let renewed = fresh.issue_numbers(&Caller::system(), network, "s10", 1).await.unwrap();
        assert_eq!(renewed[0], issued[0], "{name}: the first serial again, a year later");
        w.clock.set(start());
    }
}

#[tokio::test]
async fn a_shop_orders_write_back_is_kept_and_due_in_order() {
    use relais_app::connectors::{ConnectorSettings, Platform, ShopApiSettings};
    use relais_app::orders::{NewOrder, NewOrderParcel};
    use relais_app::ports::{Clock as _, OrderWrite, ShopWriteBack};

    for w in worlds().await {
        let name = w.store.backend();
        let merchant_id = w.merchant.merchant_id.unwrap();
        // The shop's API access: stored with the connector, the token sealed.
        let settings = ConnectorSettings {
            secret: "0123456789abcdef0123".into(),
            length_mm: 300,
            width_mm: 200,
            height_mm: 100,
            weight_g: 1000,
            api: Some(ShopApiSettings {
                url: "https://shop.example".into(),
                username: Some("ck_1".into()),
                token: "cs_0123456789".into(),
            }),
        };
        w.app.set_connector(&Caller::system(), merchant_id, Platform::WooCommerce, settings).await.unwrap();
        let stored = w.store.connector(merchant_id, "woocommerce").await.unwrap().unwrap();
        let api = stored.api.unwrap();
        assert_eq!((api.url.as_str(), api.username.as_deref()), ("https://shop.example", Some("ck_1")), "{name}");
        assert!(!api.token_seal.windows(13).any(|t| t == b"cs_0123456789"), "{name}: the token is sealed");

        // An order a shop sent gets its row in the same command, due at once.
        let order = |reference: &str, number: &str, shop_id: &str| NewOrder {
            reference: reference.into(),
            customer_name: "Ana".into(),
            customer_email: Some("ana@example.org".into()),
            point_id: w.counter.id,
            currency: "EUR".into(),
            parcels: vec![NewOrderParcel {
                parcel_number: Some(number.into()),
                length_mm: 300,
                width_mm: 200,
                height_mm: 50,
                weight_g: 500,
            }],
            shop: Some(("woocommerce".into(), shop_id.into())),
            ..NewOrder::default()
        };
        w.app.refresh_index().await.unwrap();
        let first = w.app.create_order(&w.merchant, order("SHOP-1", "SHOPBACK01", "727")).await.unwrap().order;
        w.clock.advance(Duration::seconds(1));
        let second = w.app.create_order(&w.merchant, order("SHOP-2", "SHOPBACK02", "728")).await.unwrap().order;
        let row = w.store.shop_order(first.id).await.unwrap().unwrap();
        assert_eq!(
            (row.platform.as_str(), row.shop_order_id.as_str(), row.stage.as_str()),
            ("woocommerce", "727", "none"),
            "{name}"
        );
        let due: Vec<String> =
            w.store.shop_orders_due(w.clock.now(), 10).await.unwrap().into_iter().map(|r| r.shop_order_id).collect();
        assert_eq!(due, ["727", "728"], "{name}: soonest first");

        // Written back to the end: no longer due; one waiting for later: not yet.
        let done = ShopWriteBack { stage: "delivered".into(), shop_ref: Some("255858046".into()), ..row.clone() };
        w.store.commit(vec![Write::Orders(OrderWrite::PutShopWriteBack(done))]).await.unwrap();
        let later = w.store.shop_order(second.id).await.unwrap().unwrap();
        let later = ShopWriteBack {
            attempts: 2,
            next_attempt_at: w.clock.now() + Duration::minutes(4),
            last_error: Some("POST ...: 503".into()),
            ..later
        };
        w.store.commit(vec![Write::Orders(OrderWrite::PutShopWriteBack(later.clone()))]).await.unwrap();
        assert!(w.store.shop_orders_due(w.clock.now(), 10).await.unwrap().is_empty(), "{name}");
        assert_eq!(w.store.shop_order(first.id).await.unwrap().unwrap().shop_ref.as_deref(), Some("255858046"));
        let due = w.store.shop_orders_due(w.clock.now() + Duration::minutes(5), 10).await.unwrap();
        assert_eq!(due, [later], "{name}");
    }
}

/// Following at `carrier` under `number`, without a promise.
fn follow(carrier: &str, number: &str) -> relais_app::tracking::FollowRequest {
    relais_app::tracking::FollowRequest {
        carrier: carrier.into(),
        tracking_number: number.into(),
        ..Default::default()
    }
}

/// A carrier that answers from a script: each call takes the next answer.
struct ScriptedCarrier {
    answers: std::sync::Mutex<Vec<Result<relais_app::ports::OutboundAnswer, String>>>,
    asked: std::sync::Mutex<Vec<relais_app::ports::OutboundRequest>>,
}

impl ScriptedCarrier {
    fn new(answers: Vec<Result<(u16, String), String>>) -> ScriptedCarrier {
        let answers = answers
            .into_iter()
            .rev()
            .map(|a| a.map(|(status, body)| relais_app::ports::OutboundAnswer { status, body }))
            .collect();
        ScriptedCarrier { answers: std::sync::Mutex::new(answers), asked: std::sync::Mutex::default() }
    }
}

#[async_trait::async_trait]
impl relais_app::ports::OutboundCalls for ScriptedCarrier {
    async fn call(
        &self,
        request: relais_app::ports::OutboundRequest,
    ) -> Result<relais_app::ports::OutboundAnswer, String> {
        self.asked.lock().unwrap().push(request);
        self.answers.lock().unwrap().pop().unwrap_or_else(|| Err("no more answers".into()))
    }
}

/// A GLS answer (`/tracking/references`) with these events, latest first as GLS lists them.
fn gls_answer(events: &[(&str, &str)]) -> String {
    let list: Vec<serde_json::Value> = events
        .iter()
        .rev()
        .map(|(at, code)| serde_json::json!({"code": code, "eventDateTime": at, "description": code, "city": "Lyon", "country": "FR"}))
        .collect();
    serde_json::json!({"parcels": [{"requested": "ZX123", "unitno": "ZX123", "events": list}]}).to_string()
}

#[tokio::test]
async fn a_followed_parcel_keeps_each_carrier_event_once_and_polls_less_while_quiet() {
    use relais_app::tracking::{CarrierApi, CarrierApis, PushSignature};
    for w in worlds().await {
        let secret = relais_messages::webhooks::WebhookSecret::from_bytes(&[9; 24]);
        let api = CarrierApi {
            carrier: relais_tracking::Carrier::Gls,
            method: "GET",
            url: "https://api.gls.test/tracking/references/{number}".into(),
            body: None,
            headers: vec![("Authorization".into(), "Basic dGVzdDp0ZXN0".into())],
            polls_per_round: 1,
            push_secret: Some(secret.clone()),
        };
        let app = w.app.clone().with_carrier_apis(CarrierApis(vec![api]));
        let parcel = app.announce_parcel(&w.merchant, announce(&w.locker, "TRACK0001", SMALL)).await.unwrap().parcel;
        let other = app.announce_parcel(&w.merchant, announce(&w.locker, "TRACK0002", SMALL)).await.unwrap().parcel;
        // Unknown carriers and bad numbers are refused; another parcel may not take the same number.
        assert!(matches!(
            app.track_parcel(&w.merchant, parcel.id, follow("pigeon", "ZX123")).await,
            Err(AppError::Validation(_))
        ));
        assert!(matches!(
            app.track_parcel(&w.merchant, parcel.id, follow("gls", "ZX 123")).await,
            Err(AppError::Validation(_))
        ));
        assert!(matches!(
            app.track_parcel(&w.carrier, parcel.id, follow("gls", "ZX123")).await,
            Err(AppError::Forbidden { .. })
        ));
        let tracking = app.track_parcel(&w.merchant, parcel.id, follow("gls", "ZX123")).await.unwrap();
        assert_eq!(tracking.next_poll_at, Some(start()));
        assert_eq!(app.track_parcel(&w.merchant, parcel.id, follow("gls", "ZX123")).await.unwrap(), tracking);
        assert!(matches!(
            app.track_parcel(&w.merchant, other.id, follow("gls", "ZX123")).await,
            Err(AppError::AlreadyExists { what: "tracking_number" })
        ));
        app.track_parcel(&w.merchant, other.id, follow("gls", "ZX124")).await.unwrap();
        // A parcel at a carrier with no API here waits for its pushes: never asked, never in the way.
        let pushed_only =
            app.announce_parcel(&w.merchant, announce(&w.counter, "TRACK0003", SMALL)).await.unwrap().parcel;
        app.track_parcel(&w.merchant, pushed_only.id, follow("fedex", "794843185271")).await.unwrap();

        // One round: the carrier's budget is one poll, so the second parcel waits for the next round.
        let first = gls_answer(&[
            ("2026-11-26T18:00:00+0100", "INITIAL.NORMAL"),
            ("2026-11-27T06:10:00+0100", "INTRANSIT.NORMAL"),
        ]);
        let carrier = ScriptedCarrier::new(vec![Ok((200, first.clone())), Err("connection refused".into())]);
        let report = app.poll_trackings(&Caller::system(), &carrier, 100).await.unwrap();
        assert_eq!((report.polled, report.news, report.failed, report.at_budget), (1, 1, 0, 1));
        let asked = carrier.asked.lock().unwrap().clone();
        assert_eq!(asked.len(), 1, "fedex has no API here");
        assert_eq!(asked[0].url, "https://api.gls.test/tracking/references/ZX123");
        assert_eq!(asked[0].headers, [("Authorization".to_owned(), "Basic dGVzdDp0ZXN0".to_owned())]);
        let stored = w.store.parcel_tracking(parcel.id).await.unwrap().unwrap();
        assert_eq!(stored.status.as_deref(), Some("in_transit"));
        assert_eq!(stored.next_poll_at, Some(start() + Duration::hours(1)));
        assert_eq!(w.store.carrier_events(parcel.id).await.unwrap().len(), 2);

        // The second parcel's carrier does not answer: kept, retried in 15 minutes, the error kept.
        let report = app.poll_trackings(&Caller::system(), &carrier, 100).await.unwrap();
        assert_eq!((report.polled, report.failed), (1, 1));
        let failing = w.store.parcel_tracking(other.id).await.unwrap().unwrap();
        assert_eq!(failing.last_error.as_deref(), Some("connection refused"));
        assert_eq!(failing.next_poll_at, Some(start() + Duration::minutes(15)));
        assert_eq!(failing.failures, 1);

        // An hour later, the most overdue first (one poll a round): the second parcel answers now, then
        // the first gives the same answer again: nothing new, its next poll two hours away.
        w.clock.advance(Duration::hours(1));
        let carrier = ScriptedCarrier::new(vec![Ok((200, first.clone())), Ok((200, first.clone()))]);
        app.poll_trackings(&Caller::system(), &carrier, 100).await.unwrap();
        let recovered = w.store.parcel_tracking(other.id).await.unwrap().unwrap();
        assert_eq!((recovered.failures, recovered.last_error), (0, None));
        app.poll_trackings(&Caller::system(), &carrier, 100).await.unwrap();
        let quiet = w.store.parcel_tracking(parcel.id).await.unwrap().unwrap();
        assert_eq!((quiet.quiet_polls, quiet.next_poll_at), (1, Some(start() + Duration::hours(3))));
        assert_eq!(w.store.carrier_events(parcel.id).await.unwrap().len(), 2);

        // The carrier pushes the delivery, signed: stored once, and polling stops.
        let delivered = gls_answer(&[
            ("2026-11-26T18:00:00+0100", "INITIAL.NORMAL"),
            ("2026-11-27T06:10:00+0100", "INTRANSIT.NORMAL"),
            ("2026-11-27T09:30:00+0100", "DELIVEREDPS.NORMAL"),
            ("2026-11-27T09:31:00+0100", "DELIVERED.NORMAL"),
        ]);
        let now = app.now().timestamp();
        let sign = |body: &str, secret: &relais_messages::webhooks::WebhookSecret| PushSignature {
            id: "msg_1".into(),
            timestamp: now,
            signature: secret.sign("msg_1", now, body.as_bytes()),
        };
        let forged = relais_messages::webhooks::WebhookSecret::from_bytes(&[8; 24]);
        assert!(matches!(
            app.push_tracking("gls", "ZX123", &sign(&delivered, &forged), delivered.as_bytes()).await,
            Err(AppError::InvalidSignature)
        ));
        assert!(matches!(
            app.push_tracking("gls", "NOPE", &sign(&delivered, &secret), delivered.as_bytes()).await,
            Err(AppError::NotFound { .. })
        ));
        let garbage = "<html>502</html>";
        assert!(matches!(
            app.push_tracking("gls", "ZX123", &sign(garbage, &secret), garbage.as_bytes()).await,
            Err(AppError::Validation(_))
        ));
        let pushed = app.push_tracking("gls", "ZX123", &sign(&delivered, &secret), delivered.as_bytes()).await.unwrap();
        assert_eq!((pushed.new_events, pushed.status), (2, Some("delivered")));
        let again = app.push_tracking("gls", "ZX123", &sign(&delivered, &secret), delivered.as_bytes()).await.unwrap();
        assert_eq!(again.new_events, 0);
        let done = w.store.parcel_tracking(parcel.id).await.unwrap().unwrap();
        assert_eq!(done.next_poll_at, None);
        let events = w.store.carrier_events(parcel.id).await.unwrap();
        let codes: Vec<&str> = events.iter().map(|e| e.event.code.as_str()).collect();
        assert_eq!(codes, ["INITIAL.NORMAL", "INTRANSIT.NORMAL", "DELIVEREDPS.NORMAL", "DELIVERED.NORMAL"]);
        assert_eq!(events[0].event.at.to_rfc3339(), "2026-11-26T18:00:00+01:00");

        // The timeline: relais' announce (08:00 UTC on the 27th) between the carrier's events.
        let timeline = app.parcel_timeline(&w.merchant, parcel.id).await.unwrap();
        let seen: Vec<(&str, &str)> = timeline.entries.iter().map(|e| (e.code.as_str(), e.status.as_str())).collect();
        assert_eq!(
            seen,
            [
                ("INITIAL.NORMAL", "picked_up"),
                ("INTRANSIT.NORMAL", "in_transit"),
                ("announced", "pending"),
                ("DELIVEREDPS.NORMAL", "ready_for_pickup"),
                ("DELIVERED.NORMAL", "delivered"),
            ]
        );
        // Another merchant's key does not see it.
        let stranger = w.app.create_merchant(&Caller::system(), "Autre").await.unwrap();
        assert!(matches!(
            app.parcel_timeline(&Caller::merchant(stranger.id), parcel.id).await,
            Err(AppError::NotFound { .. })
        ));
    }
}

/// A carrier's event in a simulated timeline: when (local, with its offset) and its code.
type Scan = (&'static str, &'static str);

/// A parcel of the fortnight: its name, carrier, tracking number, size, whether it goes to the locker
/// (else the counter), its promise's working days and shipping price, its carrier's events.
type Journey = (&'static str, &'static str, &'static str, (i64, i64, i64), bool, u32, i64, Vec<Scan>);

/// The answer a carrier would give with the events of `scans` that happened by `now` (None: no event
/// yet), in the carrier's own format.
fn answer_at(carrier: &str, number: &str, scans: &[Scan], now: chrono::DateTime<Utc>) -> Option<String> {
    let seen: Vec<Scan> =
        scans.iter().copied().filter(|(at, _)| chrono::DateTime::parse_from_rfc3339(at).unwrap() <= now).collect();
    if seen.is_empty() {
        return None;
    }
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
    Some(match carrier {
        "colissimo" => {
            let events: Vec<serde_json::Value> =
                seen.iter().rev().map(|(t, c)| serde_json::json!({"code": c, "label": c, "date": t})).collect();
            serde_json::json!({"returnCode": 200, "shipment": {"idShip": number, "event": events}}).to_string()
        }
        "gls" => {
            let events: Vec<(String, &str)> =
                seen.iter().map(|(t, c)| (at(t).format("%Y-%m-%dT%H:%M:%S%z").to_string(), *c)).collect();
            let refs: Vec<(&str, &str)> = events.iter().map(|(t, c)| (t.as_str(), *c)).collect();
            gls_answer(&refs)
        }
        "ups" => {
            let activity: Vec<serde_json::Value> = seen
                .iter()
                .rev()
                .map(|(t, c)| {
                    let t = at(t);
                    serde_json::json!({"status": {"type": c, "code": c, "description": c},
                        "date": t.format("%Y%m%d").to_string(), "time": t.format("%H%M%S").to_string(),
                        "gmtOffset": t.format("%:z").to_string()})
                })
                .collect();
            serde_json::json!({"trackResponse": {"shipment": [{"package": [{"activity": activity}]}]}}).to_string()
        }
        "hermes" => {
            let status: Vec<serde_json::Value> =
                seen.iter().map(|(t, c)| serde_json::json!({"timestamp": t, "code": c, "description": c})).collect();
            serde_json::json!({"shipmentinfo": [{"shipmentID": number, "result": {"code": "0"}, "status": status}]})
                .to_string()
        }
        other => panic!("no answer written for {other}"),
    })
}

/// A fortnight on the manual clock, 17 to 31 December 2026 (Christmas Day a French public holiday), five
/// parcels followed at four carriers with a J+2 or J+1 promise; the carriers' answers come as their
/// events happen, the promise review runs at 08:00 and 17:00 Paris time. Worked out by hand:
/// - A (Colissimo, taken Thu 17, due Mon 21) deposited by relais' courier on Mon 21: on time, nothing.
/// - B (GLS, taken Wed 23, due Mon 28 as the 25th is a holiday) out for delivery on the 28th, at its
///   ParcelShop on Tue 29: told on the 29th (promised day over), 1 working day late, 25 % of 4.90 EUR =
///   1.225, rounded to 1.23.
/// - C (UPS, taken Thu 24, due Tue 29) reported delayed by UPS on Mon 28: told then; delivered Thu 31,
///   2 working days late, 75 % of 4.90 = 3.675, rounded to 3.68.
/// - D (Hermes, taken Thu 17, due Mon 21) never moves again: told on Sat 19 at 17:00 (48 hours without
///   movement at the 17:00 review, 46 at 08:00), presumed lost 10 days after its last scan (Hermes'
///   rule here), its claim the declared 39.90 plus the 4.90 paid for shipping = 44.80.
/// - E (GLS express, J+1: taken Mon 28, due Tue 29) not delivered on the 29th (recipient absent): told
///   that day; at its ParcelShop on Thu 31, 2 working days late, on GLS's express scale here (1:50,2:100)
///   100 % of 6.90.
#[tokio::test]
async fn a_fortnight_of_promises_kept_missed_and_lost() {
    use relais_app::tracking::FollowRequest;
    use relais_domain::claims::{ClaimKind, ClaimRules, ClaimState};
    for w in worlds().await {
        let mut settings = relais_app::promises::PromiseSettings::default();
        settings.carriers.insert("hermes".into(), ClaimRules { lost_after_days: 10, ..ClaimRules::default() });
        let express = relais_domain::claims::CompensationScale::parse("1:50,2:100").unwrap();
        settings.carriers.insert("gls:express".into(), ClaimRules { scale: express, ..ClaimRules::default() });
        let app = w.app.clone().with_promise_settings(settings);
        w.clock.set(Utc.with_ymd_and_hms(2026, 12, 16, 12, 0, 0).unwrap());

        let timelines: [Journey; 5] = [
            (
                "A",
                "colissimo",
                "6A0000000017",
                SMALL,
                true,
                2,
                490,
                vec![
                    ("2026-12-16T18:00:00+01:00", "DR1"),
                    ("2026-12-17T10:00:00+01:00", "PC1"),
                    ("2026-12-18T02:00:00+01:00", "ET1"),
                    ("2026-12-19T20:00:00+01:00", "ET3"),
                    ("2026-12-21T07:30:00+01:00", "MD2"),
                ],
            ),
            (
                "B",
                "gls",
                "ZB0000000023",
                SMALL,
                true,
                2,
                490,
                vec![
                    ("2026-12-23T11:00:00+01:00", "INITIAL.NORMAL"),
                    ("2026-12-24T03:00:00+01:00", "INTRANSIT.NORMAL"),
                    ("2026-12-25T20:00:00+01:00", "INWAREHOUSE.NORMAL"),
                    ("2026-12-27T12:00:00+01:00", "INTRANSIT.NORMAL"),
                    ("2026-12-28T08:00:00+01:00", "INDELIVERY.NORMAL"),
                    ("2026-12-29T15:00:00+01:00", "DELIVEREDPS.NORMAL"),
                ],
            ),
            (
                "C",
                "ups",
                "1Z0000000000000024",
                MEDIUM,
                true,
                2,
                490,
                vec![
                    ("2026-12-24T17:00:00+01:00", "P"),
                    ("2026-12-25T04:00:00+01:00", "I"),
                    ("2026-12-26T22:00:00+01:00", "I"),
                    ("2026-12-28T06:00:00+01:00", "X"),
                    ("2026-12-30T08:00:00+01:00", "I"),
                    ("2026-12-31T10:00:00+01:00", "D"),
                ],
            ),
            (
                "D",
                "hermes",
                "H1000700000000000017",
                SMALL,
                false,
                2,
                490,
                vec![("2026-12-16T20:00:00+01:00", "1000"), ("2026-12-17T11:00:00+01:00", "2000")],
            ),
            (
                "E",
                "gls",
                "ZE0000000028",
                SMALL,
                false,
                1,
                690,
                vec![
                    ("2026-12-28T10:00:00+01:00", "INITIAL.NORMAL"),
                    ("2026-12-28T22:00:00+01:00", "INTRANSIT.NORMAL"),
                    ("2026-12-29T07:00:00+01:00", "INDELIVERY.NORMAL"),
                    ("2026-12-29T13:00:00+01:00", "NOTDELIVERED.NOTATHOME"),
                    ("2026-12-30T09:00:00+01:00", "INTRANSIT.NORMAL"),
                    ("2026-12-31T16:30:00+01:00", "DELIVEREDPS.NORMAL"),
                ],
            ),
        ];
        let mut parcels = Vec::new();
        for (name, carrier, number, dims, at_locker, days, price, _) in &timelines {
            let point = if *at_locker { &w.locker } else { &w.counter };
            let parcel = app
                .announce_parcel(&w.merchant, announce(point, &format!("FORTNIGHT{name}"), *dims))
                .await
                .unwrap()
                .parcel;
            // E names its service level (express, one working day), the others their working days.
            let express = *name == "E";
            let follow = FollowRequest {
                carrier: (*carrier).into(),
                tracking_number: (*number).into(),
                service_days: (!express).then_some(*days),
                service_level: express.then(|| "express".to_owned()),
                shipping_price_cents: Some(*price),
                currency: Some("EUR".into()),
                declared_value_cents: Some(3990),
            };
            app.track_parcel(&w.merchant, parcel.id, follow).await.unwrap();
            parcels.push(parcel);
        }

        let feed = |now: chrono::DateTime<Utc>| {
            let (app, store, parcels) = (app.clone(), w.store.clone(), parcels.clone());
            let answers: Vec<Option<String>> = timelines
                .iter()
                .map(|(_, carrier, number, _, _, _, _, scans)| answer_at(carrier, number, scans, now))
                .collect();
            async move {
                for (parcel, answer) in parcels.iter().zip(answers) {
                    let Some(answer) = answer else { continue };
                    let tracking = store.parcel_tracking(parcel.id).await.unwrap().unwrap();
                    app.ingest(tracking, Ok(answer.into_bytes()), true).await.unwrap().unwrap();
                }
            }
        };
        let mut told: Vec<(String, chrono::NaiveDate)> = Vec::new();
        for day in 17..=31 {
            for hour in [7, 16] {
                let now = Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0).unwrap();
                if day == 21 && hour == 16 {
                    // A's courier deposits it at the locker at 14:00 Paris time.
                    w.clock.set(Utc.with_ymd_and_hms(2026, 12, 21, 13, 0, 0).unwrap());
                    app.deposit(&w.carrier, parcels[0].id).await.unwrap();
                }
                w.clock.set(now);
                feed(now).await;
                let report = app.review_promises(&Caller::system(), 100).await.unwrap();
                for (parcel, (name, ..)) in parcels.iter().zip(&timelines) {
                    let t = w.store.parcel_tracking(parcel.id).await.unwrap().unwrap();
                    if t.delay_told_at == Some(now) && !told.iter().any(|(n, _)| n == name) {
                        told.push(((*name).to_owned() + ":" + t.delay_reason.as_deref().unwrap(), now.date_naive()));
                    }
                }
                assert!(report.reviewed <= 5);
            }
        }
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        assert_eq!(
            told,
            [
                ("D:no_movement".to_owned(), day(19)),
                ("C:carrier_delay".to_owned(), day(28)),
                ("B:promise_missed".to_owned(), day(29)),
                ("E:delivery_failed".to_owned(), day(29)),
            ]
        );
        // Each delay reaches its recipient once, in their language (French here).
        let sent = sms_bodies(&deliver(&w).await);
        for name in ["A", "B", "C", "D", "E"] {
            let late =
                sent.iter().filter(|b| b.contains(&format!("FORTNIGHT{name}")) && b.contains("aura du retard")).count();
            assert_eq!(late, usize::from(name != "A"), "{name}: {sent:?}");
        }
        // The promises as relais keeps them.
        let a = w.store.parcel_tracking(parcels[0].id).await.unwrap().unwrap();
        assert_eq!((a.shipped_on, a.due_on), (Some(day(17)), Some(day(21))));
        assert_eq!(a.delivered_at, Some(Utc.with_ymd_and_hms(2026, 12, 21, 13, 0, 0).unwrap()));
        assert_eq!((a.next_review_at, a.delay_told_at), (None, None), "A is settled, never late");
        let b = w.store.parcel_tracking(parcels[1].id).await.unwrap().unwrap();
        assert_eq!(b.due_on, Some(day(28)), "Christmas Day does not count");
        let d = w.store.parcel_tracking(parcels[3].id).await.unwrap().unwrap();
        assert!(d.next_review_at.is_some(), "a lost parcel is still watched");

        // The claims, worked out by hand above.
        let all = app.claims(&w.merchant, &relais_app::claims::ClaimQuery::default()).await.unwrap();
        let mut seen: Vec<(String, &str, u32, i64)> = all
            .iter()
            .map(|l| (l.parcel_number.clone(), l.claim.kind.as_str(), l.claim.late_days, l.claim.amount_claimed_cents))
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            [
                ("FORTNIGHTB".to_owned(), "late", 1, 123),
                ("FORTNIGHTC".to_owned(), "late", 2, 368),
                ("FORTNIGHTD".to_owned(), "lost", 0, 4480),
                ("FORTNIGHTE".to_owned(), "late", 2, 690),
            ]
        );
        let lost = all.iter().find(|l| l.claim.kind == ClaimKind::Lost).unwrap();
        assert_eq!(lost.claim.occurred_at, Utc.with_ymd_and_hms(2026, 12, 27, 10, 0, 0).unwrap());
        assert_eq!(lost.claim.deadline_at, Utc.with_ymd_and_hms(2027, 2, 25, 10, 0, 0).unwrap());

        // GLS's late deliveries of December, as CSV and as GLS's claim file.
        let query = relais_app::claims::ClaimQuery {
            carrier: Some("gls".into()),
            kind: Some(ClaimKind::Late),
            from: Some(day(1)),
            to: Some(day(31)),
            ..Default::default()
        };
        let gls = app.claims(&w.merchant, &query).await.unwrap();
        let (_, file) = relais_app::claims::claim_file("gls", &gls);
        assert_eq!(
            file,
            "parcel_number,tracking_number,shipped_on,promised_on,delivered_on,working_days_late,shipping_price,compensation_rate,amount_claimed,currency\n\
             FORTNIGHTB,ZB0000000023,2026-12-23,2026-12-28,2026-12-29,1,4.90,25%,1.23,EUR\n\
             FORTNIGHTE,ZE0000000028,2026-12-28,2026-12-29,2026-12-31,2,6.90,100%,6.90,EUR\n"
        );
        let csv = relais_app::claims::claims_csv(&gls);
        assert_eq!(csv.lines().count(), 3);
        assert!(
            csv.lines().nth(1).unwrap().contains(",late,to_file,gls,FORTNIGHTB,ZB0000000023,2026-12-23,2026-12-28,")
        );
        let november = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let other_month =
            relais_app::claims::ClaimQuery { from: Some(november(1)), to: Some(november(30)), ..query.clone() };
        assert!(app.claims(&w.merchant, &other_month).await.unwrap().is_empty());

        // Filed, answered; reminders before the deadlines of those still to file.
        let c = all.iter().find(|l| l.parcel_number == "FORTNIGHTC").unwrap().claim.id;
        let b = all.iter().find(|l| l.parcel_number == "FORTNIGHTB").unwrap().claim.id;
        assert!(matches!(
            app.decide_claim(&w.merchant, b, relais_app::claims::ClaimDecision::Accepted { amount_cents: 123 }).await,
            Err(AppError::InvalidClaimTransition { from: "to_file", to: "accepted" })
        ));
        app.decide_claim(&w.merchant, c, relais_app::claims::ClaimDecision::Filed).await.unwrap();
        let accepted = app
            .decide_claim(&w.merchant, c, relais_app::claims::ClaimDecision::Accepted { amount_cents: 368 })
            .await
            .unwrap();
        assert_eq!((accepted.state, accepted.amount_accepted_cents), (ClaimState::Accepted, Some(368)));
        // B is due on 28 January 14:00 UTC (reminder on the 21st), E on 30 January 15:30 (the 23rd).
        w.clock.set(Utc.with_ymd_and_hms(2027, 1, 23, 12, 0, 0).unwrap());
        assert_eq!(app.remind_claims(&Caller::system(), 100).await.unwrap(), 1);
        assert_eq!(app.remind_claims(&Caller::system(), 100).await.unwrap(), 0, "each reminder once");
        w.clock.set(Utc.with_ymd_and_hms(2027, 1, 23, 16, 0, 0).unwrap());
        assert_eq!(app.remind_claims(&Caller::system(), 100).await.unwrap(), 1);
        w.clock.set(Utc.with_ymd_and_hms(2027, 1, 27, 15, 0, 0).unwrap());
        assert_eq!(app.remind_claims(&Caller::system(), 100).await.unwrap(), 1, "B's last reminder, the day before");
    }
}

/// Parcels stored without their contacts' digests (announced before the console could search by
/// contact) get them from `App::index_contacts`, once; then the console finds them by phone.
#[tokio::test]
async fn contacts_are_indexed_for_parcels_stored_without_them() {
    for w in worlds().await {
        let system = Caller::system();
        let announced = w
            .app
            .announce_parcel(&w.merchant, announce_for(&w.locker, "CONTACT0001", SMALL, "+33611223344"))
            .await
            .unwrap();
        assert_eq!(w.app.find_parcels(&system, "+33 6 11 22 33 44").await.unwrap().len(), 1, "written with the parcel");
        // An older parcel: the same row written without its digests.
        let mut older = announced.parcel.clone();
        older.id = relais_domain::ids::Id::from_parts(7, [7; 10]);
        older.number = "CONTACT0002".parse_number();
        older.secrets.code = [9; 32];
        older.secrets.qr = [8; 32];
        w.store
            .commit(vec![Write::InsertParcel {
                parcel: older.clone(),
                pickup_seal: Vec::new(),
                contact_digests: Vec::new(),
            }])
            .await
            .unwrap();
        let found = |w: &World| {
            let app = w.app.clone();
            async move {
                app.find_parcels(&Caller::system(), "+33611223344")
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|p| p.id)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(found(&w).await, [announced.parcel.id], "the older one is not indexed yet");
        assert_eq!(w.app.index_contacts(&system).await.unwrap(), 2);
        let mut both = found(&w).await;
        both.sort();
        let mut expected = vec![announced.parcel.id, older.id];
        expected.sort();
        assert_eq!(both, expected);
        // Again: nothing written twice.
        assert_eq!(w.app.index_contacts(&system).await.unwrap(), 2);
        assert_eq!(found(&w).await.len(), 2);
        assert!(matches!(w.app.index_contacts(&w.merchant).await, Err(AppError::Forbidden { .. })));
    }
}

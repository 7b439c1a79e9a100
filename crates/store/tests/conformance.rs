//! The storage conformance suite: the same stories run unchanged on SQLite and, when
//! `RELAIS_TEST_DATABASE_URL` is set, on PostgreSQL. They go through the use cases, so they also
//! prove the lifecycle rules end to end on each backend.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use relais_app::parcels::{AnnounceParcel, PickupSecret};
use relais_app::points::{ImportLimits, ImportRequest, Near, PointSearch};
use relais_app::ports::{AttemptScope, CommitError, ManualClock, Page, ParcelFilter, SeededRandom, Write};
use relais_app::setup::{NewCompartment, NewPoint};
use relais_app::{App, AppError, Caller, Role, Secrets};
use relais_domain::compartment::{CompartmentState, NoFit};
use relais_domain::network::{Network, NetworkRules};
use relais_domain::parcel::{EventKind, IncidentKind, ParcelState, TransitionError};
use relais_domain::point::PickupPoint;
use relais_registry::formats::{Encoding, Format};
use relais_registry::index::Filter;
use relais_store::testing::{self, TestStore};

struct World {
    app: App,
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
    let (locker, _) = app
        .create_point(
            &system,
            point("locker", "L1", vec![("A01", "A"), ("A02", "A"), ("B01", "B"), ("C01", "C")], None),
        )
        .await
        .unwrap();
    let (counter, _) = app.create_point(&system, point("counter", "C1", vec![], Some(2))).await.unwrap();
    let key = |role, merchant_id, point_id| {
        let app = app.clone();
        async move {
            let issued = app.create_api_key(&Caller::system(), role, merchant_id, point_id, "test").await.unwrap();
            app.authenticate(&issued.secret).await.unwrap()
        }
    };
    World {
        merchant: key(Role::Merchant, Some(merchant.id), None).await,
        carrier: key(Role::Carrier, None, None).await,
        device: key(Role::LockerDevice, None, Some(locker.id)).await,
        counter_device: key(Role::LockerDevice, None, Some(counter.id)).await,
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

fn announce(point: &PickupPoint, number: &str, dims: (i64, i64, i64)) -> AnnounceParcel {
    AnnounceParcel {
        merchant_id: None,
        point_id: point.id,
        parcel_number: number.into(),
        recipient_name: "Ana Martin".into(),
        recipient_phone: Some("+33612345678".into()),
        recipient_email: None,
        length_mm: dims.0,
        width_mm: dims.1,
        height_mm: dims.2,
        weight_g: 1200,
    }
}

const SMALL: (i64, i64, i64) = (300, 200, 50);
const MEDIUM: (i64, i64, i64) = (300, 200, 150);

#[tokio::test]
async fn a_parcel_life_at_a_locker() {
    for w in worlds().await {
        let name = w.app.store.backend();
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

        // A code works once.
        let again = w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::Code(code)).await;
        assert!(matches!(again, Err(AppError::InvalidPickupCode)), "{name}: {again:?}");

        let events = w.app.parcel_events(&w.merchant, announced.parcel.id).await.unwrap();
        let kinds: Vec<EventKind> = events.iter().map(|e| e.event.kind).collect();
        assert_eq!(kinds, vec![EventKind::Announced, EventKind::Deposited, EventKind::Collected], "{name}");
        assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
        assert_eq!(events[1].event.compartment_id, Some(reserved.id));

        let outbox = w.app.store.outbox(None, 100).await.unwrap();
        let topics: Vec<&str> = outbox.iter().map(|m| m.topic.as_str()).collect();
        assert_eq!(topics, vec!["parcel.announced", "parcel.deposited", "parcel.collected"], "{name}");
        assert_eq!(outbox[2].payload["parcel_number"], "PARCEL0001");
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
        let (created, _) = w.app.create_point(&Caller::system(), input).await.unwrap();
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
        let points = w.app.store.points(Some(network.id), Page { after: None, limit: 100 }).await.unwrap();
        let by_id = |external: &str| points.iter().find(|p| p.external_id == external).unwrap().clone();
        let (p1, l1) = (by_id("P1"), by_id("L1"));
        assert_eq!(p1.source, "import:csv:points.csv");
        let counts = w.app.store.compartment_counts(Some(l1.id)).await.unwrap();
        assert_eq!((counts[0].free, counts[0].total), ([2, 1, 0, 0], [2, 1, 0, 0]));

        // Too many bad rows: refused, recorded, nothing changed. (Imports come minutes apart at least.)
        w.clock.advance(Duration::minutes(5));
        let refused =
            w.app.import_points(&system, import(network.id, v2, false, ImportLimits::default())).await.unwrap();
        assert!(refused.refusal.as_deref().unwrap().contains("1 of 4 rows"), "{:?}", refused.refusal);
        assert_eq!(refused.row_errors[0].to_string(), "line 5 (X1): latitude \"north\" is not a number");
        assert_eq!(w.app.store.point(p1.id).await.unwrap().unwrap().name, "Tabac du Parc");

        // Accepted with looser limits: the diff, one transaction, the history.
        w.clock.advance(Duration::minutes(5));
        let loose = ImportLimits { error_share_max: 0.3, removal_share_max: 0.5, ..ImportLimits::default() };
        let applied = w.app.import_points(&system, import(network.id, v2, false, loose)).await.unwrap();
        assert_eq!((applied.record.status.as_str(), applied.record.changes), ("applied", [0, 1, 1, 0, 0, 1]));
        assert_eq!((applied.record.unchanged, applied.record.rows_refused), (1, 1));
        let p1_after = w.app.store.point(p1.id).await.unwrap().unwrap();
        assert_eq!((p1_after.name.as_str(), p1_after.version), ("Tabac du Parc et Loto", p1.version + 1));
        let p3 = w.app.store.point(by_id("P3").id).await.unwrap().unwrap();
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
        w.app.pickup_parcel(&w.device, announced.parcel.id, announced.pickup_code.as_str()).await.unwrap();
        w.app.refresh_capacities().await.unwrap();
        assert_eq!(free(&w.app), [2, 1, 1, 0]);
    }
}

#[tokio::test]
async fn a_qr_token_collects_once_and_only_at_its_point() {
    for w in worlds().await {
        let announced = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELQR01", SMALL)).await.unwrap();
        w.app.deposit(&w.carrier, announced.parcel.id).await.unwrap();
        let token = PickupSecret::QrToken(announced.qr_token.clone());
        let elsewhere = w.app.pickup_at_point(&w.counter_device, w.counter.id, token.clone()).await;
        assert!(matches!(elsewhere, Err(AppError::InvalidPickupCode)), "{elsewhere:?}");
        let forbidden = w.app.pickup_at_point(&w.device, w.counter.id, token.clone()).await;
        assert!(matches!(forbidden, Err(AppError::Forbidden { .. })), "a device acts only at its own point");
        let collected = w.app.pickup_at_point(&w.device, w.locker.id, token.clone()).await.unwrap();
        assert_eq!(collected.parcel.state, ParcelState::Collected);
        assert!(matches!(w.app.pickup_at_point(&w.device, w.locker.id, token).await, Err(AppError::InvalidPickupCode)));
    }
}

#[tokio::test]
async fn best_fit_refusals_and_deposit_failures() {
    for w in worlds().await {
        let name = w.app.store.backend();
        let too_big = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELBIG1", (900, 900, 900))).await;
        assert!(matches!(too_big, Err(AppError::NoFittingCompartment(NoFit::TooLarge))), "{name}: {too_big:?}");
        assert!(w.app.store.parcel_by_number(&"PARCELBIG1".parse_number()).await.unwrap().is_none(), "nothing stored");

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
        assert_eq!(w.app.store.point(w.counter.id).await.unwrap().unwrap().shelf_occupied, 2);

        // Hand-over with the parcel named: the wrong code counts, the right one collects.
        let wrong = w.app.pickup_parcel(&w.counter_device, parcels[0].parcel.id, "00000000").await;
        assert!(matches!(wrong, Err(AppError::InvalidPickupCode)));
        let ok = w.app.pickup_parcel(&w.counter_device, parcels[0].parcel.id, parcels[0].pickup_code.as_str()).await;
        assert_eq!(ok.unwrap().parcel.state, ParcelState::Collected);
        assert_eq!(w.app.store.point(w.counter.id).await.unwrap().unwrap().shelf_occupied, 1);
        // The freed slot takes the failed parcel on a new try.
        let retried = w.app.deposit(&w.carrier, parcels[2].parcel.id).await.unwrap();
        assert_eq!(retried.parcel.state, ParcelState::ReadyForPickup);
    }
}

#[tokio::test]
async fn wrong_codes_lock_the_point_until_the_lockout_ends() {
    for w in worlds().await {
        let announced = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELLOCK", SMALL)).await.unwrap();
        w.app.deposit(&w.carrier, announced.parcel.id).await.unwrap();
        let limits = w.app.limits.point_attempts;
        let right = announced.pickup_code.as_str().to_owned();
        let wrong = if right == "11111111" { "22222222" } else { "11111111" };
        for _ in 0..limits.failures_max {
            let r = w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::Code(wrong.into())).await;
            assert!(matches!(r, Err(AppError::InvalidPickupCode)), "{r:?}");
        }
        // Locked: even the right code is refused now.
        let locked = w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::Code(right.clone())).await;
        assert!(matches!(locked, Err(AppError::RateLimited { .. })), "{locked:?}");
        let stored = w.app.store.attempt_counter(AttemptScope::Point(w.locker.id)).await.unwrap().unwrap();
        assert_eq!(stored.counter.failures, limits.failures_max);
        w.clock.advance(Duration::seconds(i64::from(limits.lockout_seconds)));
        let collected = w.app.pickup_at_point(&w.device, w.locker.id, PickupSecret::Code(right)).await.unwrap();
        assert_eq!(collected.parcel.state, ParcelState::Collected);
    }
}

#[tokio::test]
async fn extension_expiry_and_return() {
    for w in worlds().await {
        let name = w.app.store.backend();
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
        let compartment = w.app.store.compartment(expired.compartment_id.unwrap()).await.unwrap().unwrap();
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
        let name = w.app.store.backend();
        let p = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELINV1", SMALL)).await.unwrap();
        let before = w.app.parcel(&w.merchant, p.parcel.id).await.unwrap();
        let pickup = w.app.pickup_parcel(&w.device, p.parcel.id, p.pickup_code.as_str()).await;
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
        assert_eq!(w.app.store.compartment(reserved.id).await.unwrap().unwrap().state, CompartmentState::Available);

        let b = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELLOST", SMALL)).await.unwrap();
        let placed = w.app.deposit(&w.carrier, b.parcel.id).await.unwrap().compartment.unwrap();
        let lost =
            w.app.report_incident(&w.carrier, b.parcel.id, IncidentKind::Lost, Some("door found open")).await.unwrap();
        assert_eq!(lost.state, ParcelState::Incident(IncidentKind::Lost));
        assert_eq!(w.app.store.compartment(placed.id).await.unwrap().unwrap().state, CompartmentState::Available);

        let c = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELDMG1", SMALL)).await.unwrap();
        let placed = w.app.deposit(&w.carrier, c.parcel.id).await.unwrap().compartment.unwrap();
        w.app.report_incident(&w.carrier, c.parcel.id, IncidentKind::Damaged, None).await.unwrap();
        let still = w.app.store.compartment(placed.id).await.unwrap().unwrap().state;
        assert_eq!(still, CompartmentState::Occupied { parcel_id: c.parcel.id }, "a damaged parcel is still there");
    }
}

#[tokio::test]
async fn merchants_see_only_their_own_parcels() {
    for w in worlds().await {
        let system = Caller::system();
        let other = w.app.create_merchant(&system, "Autre boutique").await.unwrap();
        let other_key = w.app.create_api_key(&system, Role::Merchant, Some(other.id), None, "other").await.unwrap();
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
        let name = w.app.store.backend();
        let (_, compartments) = w.app.point(&Caller::system(), w.locker.id).await.unwrap();
        let merchant = w.app.create_merchant(&Caller::system(), "Atomic").await.unwrap();
        let stale = compartments[0].clone();
        // Move the compartment on, so `stale` carries an old version.
        let disabled = relais_domain::compartment::Compartment { state: CompartmentState::Disabled, ..stale.clone() };
        w.app.store.commit(vec![Write::UpdateCompartment(disabled)]).await.unwrap();
        let new_merchant = relais_app::ports::Merchant { id: w.app.new_id(), name: "half".into(), created_at: start() };
        let result = w
            .app
            .store
            .commit(vec![Write::InsertMerchant(new_merchant.clone()), Write::UpdateCompartment(stale)])
            .await;
        assert!(matches!(result, Err(CommitError::Conflict)), "{name}: {result:?}");
        assert!(w.app.store.merchant(new_merchant.id).await.unwrap().is_none(), "{name}: nothing half-applied");

        let duplicate = relais_app::ports::Merchant { name: "again".into(), ..merchant };
        let result = w.app.store.commit(vec![Write::InsertMerchant(duplicate)]).await;
        assert!(matches!(result, Err(CommitError::Duplicate { what: "id" })), "{name}: {result:?}");

        let p = w.app.announce_parcel(&w.merchant, announce(&w.counter, "PARCELDUP1", SMALL)).await.unwrap();
        let again = w.app.announce_parcel(&w.merchant, announce(&w.counter, "PARCELDUP1", SMALL)).await;
        assert!(matches!(again, Err(AppError::AlreadyExists { what: "parcel_number" })), "{name}: {again:?}");
        assert_eq!(w.app.store.parcel_by_number(&"PARCELDUP1".parse_number()).await.unwrap().unwrap().id, p.parcel.id);
    }
}

#[tokio::test]
async fn lapsed_reservations_are_tidied() {
    for w in worlds().await {
        let a = w.app.announce_parcel(&w.merchant, announce(&w.locker, "PARCELLAPS", SMALL)).await.unwrap();
        let system = Caller::system();
        assert_eq!(w.app.release_lapsed_reservations(&system, 10).await.unwrap(), 0);
        w.clock.advance(Duration::hours(i64::from(w.network.rules.reservation_hours)));
        assert_eq!(w.app.release_lapsed_reservations(&system, 10).await.unwrap(), 1);
        let c = w.app.store.compartment(a.reservation.unwrap().id).await.unwrap().unwrap();
        assert_eq!(c.state, CompartmentState::Available);
    }
}

/// More parcels than compartments, deposited from many tasks at once: no compartment ever gets two
/// parcels, every parcel ends deposited or `deposit_failed`, and the counts add up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deposits_never_share_a_compartment() {
    for w in worlds().await {
        let name = w.app.store.backend();
        let system = Caller::system();
        let labels: Vec<(String, &str)> = (0..12).map(|i| (format!("X{i:02}"), ["A", "B", "C"][i % 3])).collect();
        // A network that does not reserve at announce: more parcels can be on their way than there are
        // compartments, and the deposits decide who gets one.
        let rules = NetworkRules { reservation_hours: 0, ..NetworkRules::default() };
        let network = w.app.create_network(&system, "No reservations", rules).await.unwrap();
        let (locker, _) = w
            .app
            .create_point(
                &system,
                NewPoint {
                    network_id: network.id,
                    external_id: "BUSY".into(),
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
            let announced = w.app.announce_parcel(&w.merchant, announce(&locker, &format!("RACE{n:04}"), SMALL)).await;
            let announced = announced.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(announced.reservation.is_none(), "{name}: this network does not reserve");
            ids.push(announced.parcel.id);
        }
        let too_big = w.app.announce_parcel(&w.merchant, announce(&locker, "RACEBIG", (900, 900, 900))).await;
        assert!(matches!(too_big, Err(AppError::NoFittingCompartment(NoFit::TooLarge))), "{name}: {too_big:?}");
        let mut tasks = Vec::new();
        for id in ids.clone() {
            let app = w.app.clone();
            let carrier = w.carrier.clone();
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
        assert_eq!(deposited, 12, "{name}: every compartment used once");
        assert_eq!(failed, 28, "{name}");
        let compartments = w.app.store.compartments(locker.id).await.unwrap();
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
            let p = w.app.store.parcel(id).await.unwrap().unwrap();
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
        let points = w.app.store.network_points(network.id).await.unwrap();
        let l1 = points.iter().find(|p| p.external_id == "L1").unwrap();
        assert_eq!(w.app.store.compartments(l1.id).await.unwrap().len(), 3);
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
            let app = w.app.clone();
            async move {
                let outbox = app.store.outbox(None, 1000).await.unwrap();
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
        set(at(0, 9));
        for (id, _) in &ids[..3] {
            w.app.deposit(&w.carrier, *id).await.unwrap();
        }
        set(at(0, 10));
        for (id, _) in &ids[3..] {
            w.app.deposit(&w.carrier, *id).await.unwrap();
        }
        assert_eq!(w.app.parcel(&system, ids[5].0).await.unwrap().state, ParcelState::DepositFailed);
        set(at(0, 12));
        w.app.pickup_parcel(&w.counter_device, ids[4].0, &ids[4].1).await.unwrap();
        set(at(0, 18));
        w.app.pickup_parcel(&w.device, ids[0].0, &ids[0].1).await.unwrap();
        set(at(1, 10));
        w.app.report_incident(&w.carrier, ids[3].0, IncidentKind::Lost, Some("not on the shelf")).await.unwrap();
        set(at(1, 22));
        w.app.extend(&w.merchant, ids[1].0).await.unwrap();
        set(at(3, 9));
        assert_eq!(w.app.expire_due(&system, 100).await.unwrap(), 1, "P3 only: P2 was extended");
        set(at(3, 12));
        w.app.collect_return(&w.carrier, ids[2].0).await.unwrap();
        set(at(4, 9));
        w.app.pickup_parcel(&w.device, ids[1].0, &ids[1].1).await.unwrap();

        let query = KpiQuery {
            first: day1.date_naive(),
            last: day1.date_naive(),
            point_id: None,
            network_id: Some(w.network.id),
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
        let counter = report.cohorts[&(w.counter.id, day1.date_naive())];
        assert_eq!((counter.deposited, counter.deposit_failed, counter.lost), (2, 1, 1));
        // The next day has no deposits; a merchant may not read KPIs.
        let next = KpiQuery { first: at(1, 0).date_naive(), last: at(1, 0).date_naive(), ..query };
        assert_eq!(w.app.kpis(&system, next).await.unwrap().total.deposited, 0);
        assert!(matches!(w.app.kpis(&w.merchant, query).await, Err(AppError::Forbidden { .. })));
    }
}

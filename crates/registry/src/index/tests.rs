use super::*;
use crate::record::{Compartments, NewPoint, PointValidator};
use relais_domain::Timestamp;
use relais_domain::ids::Id;

const MONDAY: (i32, u32, u32) = (2026, 11, 30);

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn point(n: u8, lat: f64, lon: f64, change: impl Fn(&mut NewPoint)) -> PickupPoint {
    let mut input = NewPoint {
        network_id: Id::from_parts(7, [1; 10]),
        external_id: format!("P{n}"),
        kind: "counter".into(),
        name: format!("Point {n}"),
        address_line1: format!("{n} rue X"),
        postcode: "69001".into(),
        city: "Lyon".into(),
        country: "FR".into(),
        latitude: lat,
        longitude: lon,
        ..NewPoint::default()
    };
    change(&mut input);
    PointValidator::new()
        .validate(&input, Id::from_parts(1, [n; 10]), Timestamp::default(), "t", Compartments::Optional)
        .unwrap()
}

fn shelf(point: PickupPoint, free: u32) -> Indexed {
    Indexed { capacity: Capacity { shelf_free: free, ..Capacity::default() }, point, hold_days: 3 }
}

fn names(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.point.external_id.as_str()).collect()
}

/// Points 1 km apart going north from Lyon's Place Bellecour.
fn lat(km: f64) -> f64 {
    45.7578 + km / 111.2
}

#[test]
fn nearest_first_within_the_radius() {
    let index = PointIndex::build(
        vec![
            shelf(point(3, lat(3.0), 4.832, |_| {}), 5),
            shelf(point(1, lat(1.0), 4.832, |_| {}), 5),
            shelf(point(2, lat(2.0), 4.832, |_| {}), 5),
        ],
        day(MONDAY.0, MONDAY.1, MONDAY.2),
    );
    let near = Coordinates::parse(lat(0.0), 4.832).unwrap();
    let hits = index.nearest(near, 10_000.0, 2, &Filter::default());
    assert_eq!(names(&hits), ["P1", "P2"]);
    assert!((hits[0].distance_m - 1_000.0).abs() < 5.0, "{}", hits[0].distance_m);
    assert_eq!(names(&index.nearest(near, 2_500.0, 10, &Filter::default())), ["P1", "P2"]);
    assert!(index.nearest(near, 500.0, 10, &Filter::default()).is_empty());
}

#[test]
fn filters_each_refuse_for_their_reason() {
    let monday = day(MONDAY.0, MONDAY.1, MONDAY.2);
    let locker = |n, change: fn(&mut NewPoint), free: [u32; 4], total: [u32; 4]| Indexed {
        point: point(n, lat(f64::from(n)), 4.832, |p| {
            p.kind = "locker".into();
            change(p);
        }),
        capacity: Capacity { free, total, shelf_free: 0 },
        hold_days: 3,
    };
    let index = PointIndex::build(
        vec![
            shelf(point(1, lat(1.0), 4.832, |p| p.status = Some("maintenance".into())), 5),
            shelf(point(2, lat(2.0), 4.832, |p| p.opening_hours = Some("Tu-Sa 09:00-19:00".into())), 5),
            shelf(point(3, lat(3.0), 4.832, |p| p.opening_hours = Some("Mo 09:00-12:00".into())), 5),
            shelf(point(4, lat(4.0), 4.832, |p| p.closures = vec![("2026-11-30".into(), "2026-12-01".into())]), 5),
            shelf(point(5, lat(5.0), 4.832, |_| {}), 0),
            locker(6, |_| {}, [0, 0, 3, 0], [5, 5, 3, 0]),
            locker(7, |_| {}, [4, 0, 0, 0], [4, 0, 0, 0]),
            shelf(point(8, lat(8.0), 4.832, |p| p.services = Some("collect,return".into())), 5),
        ],
        monday,
    );
    let near = Coordinates::parse(lat(0.0), 4.832).unwrap();
    let small_box = Dimensions::from_mm(300, 200, 150).unwrap(); // class B
    let filter = Filter {
        parcel: Some((small_box, Weight::from_grams(2_000).unwrap())),
        arrival: Some(monday),
        open_share_min: Some(0.5),
        free_capacity: true,
        ..Filter::default()
    };
    assert_eq!(names(&index.nearest(near, 50_000.0, 10, &filter)), ["P6", "P8"]);

    let reasons = |n: u8, filter: &Filter| -> Vec<&'static str> {
        let (_, refusals) = index.check(Id::from_parts(1, [n; 10]), Some(near), 50_000.0, filter).unwrap();
        refusals.iter().map(|r| r.code()).collect()
    };
    assert_eq!(reasons(1, &filter), ["point_not_accepting"]);
    assert_eq!(reasons(2, &filter), ["closed_on_arrival"]);
    assert_eq!(reasons(3, &filter), ["open_too_little"]);
    assert_eq!(reasons(4, &filter), ["closed_on_arrival"]);
    assert_eq!(reasons(5, &filter), ["full"]);
    assert_eq!(reasons(7, &filter), ["too_large"], "no B, C or D door");
    let with_return = Filter { services: Services::RETURN, kinds: vec![PointKind::Counter], ..filter.clone() };
    assert_eq!(names(&index.nearest(near, 50_000.0, 10, &with_return)), ["P8"]);
    let heavy = Filter { parcel: Some((small_box, Weight::from_grams(28_000).unwrap())), ..filter.clone() };
    assert_eq!(reasons(6, &heavy), ["too_heavy"]);
    assert_eq!(reasons(8, &heavy), Vec::<&str>::new(), "a counter takes 30 kg");
    assert_eq!(
        reasons(8, &Filter { networks: vec![Id::from_parts(9, [9; 10])], ..filter.clone() }),
        ["network_not_wanted"]
    );
    // Tuesday arrival: point 2 opens, point 4's closure is over after Tuesday.
    let tuesday = Filter { arrival: Some(day(2026, 12, 1)), ..filter.clone() };
    assert_eq!(reasons(2, &tuesday), Vec::<&str>::new());
    assert_eq!(reasons(4, &tuesday), ["closed_on_arrival"]);
    let (_, far) = index.check(Id::from_parts(1, [8; 10]), Some(near), 1_000.0, &filter).unwrap();
    assert_eq!(far, [Refusal::TooFar]);
}

#[test]
fn capacity_updates_in_place_and_alternatives_exclude_the_point() {
    let monday = day(MONDAY.0, MONDAY.1, MONDAY.2);
    let index = PointIndex::build(
        vec![shelf(point(1, lat(1.0), 4.832, |_| {}), 1), shelf(point(2, lat(1.2), 4.832, |_| {}), 1)],
        monday,
    );
    let full = Filter { free_capacity: true, ..Filter::default() };
    let p1 = Id::from_parts(1, [1; 10]);
    assert_eq!(names(&index.alternatives(p1, 5_000.0, 5, &full)), ["P2"]);
    index.set_capacity(Id::from_parts(1, [2; 10]), Capacity::default());
    assert!(index.alternatives(p1, 5_000.0, 5, &full).is_empty());
    assert_eq!(index.check(p1, None, f64::MAX, &full).unwrap().0.capacity.unwrap().shelf_free, 1);
}

#[test]
fn the_same_shop_in_two_networks_is_found_not_merged() {
    let other = Id::from_parts(8, [2; 10]);
    let index = PointIndex::build(
        vec![
            shelf(point(1, 45.76, 4.83, |p| p.address_line1 = "12, rue de la Paix".into()), 1),
            // Another network, geocoded 150 m away, same address written differently.
            shelf(
                point(2, 45.7613, 4.83, |p| {
                    p.network_id = other;
                    p.address_line1 = "12 RUE DE LA PAIX".into()
                }),
                1,
            ),
            // Another network, 10 m away.
            shelf(point(3, 45.76009, 4.83, |p| p.network_id = other), 1),
            // Same network, same place: a second counter of the same network is not "another network's".
            shelf(point(4, 45.76, 4.83, |_| {}), 1),
        ],
        day(MONDAY.0, MONDAY.1, MONDAY.2),
    );
    let same = index.same_place(Id::from_parts(1, [1; 10]), 30.0);
    assert_eq!(names(&same), ["P3", "P2"]);
    assert_ne!(same[0].point.id, Id::from_parts(1, [1; 10]));
}

#[test]
fn open_days_follow_hours_holidays_and_midnight() {
    let first = day(2026, 12, 21); // a Monday; Christmas is Friday 25th
    let index = PointIndex::build(
        vec![
            shelf(point(1, 45.0, 4.0, |p| p.opening_hours = Some("Mo-Fr 08:00-24:00; PH off".into())), 1),
            shelf(point(2, 45.0, 4.0, |p| p.opening_hours = Some("Fr 20:00-02:00".into())), 1),
        ],
        first,
    );
    let open = |n: u8| index.entries[index.by_id[&Id::from_parts(1, [n; 10])] as usize].open_days;
    assert_eq!(open(1) & 0x7F, 0b0001111, "Mo-Th, Christmas off, midnight close does not open Saturday");
    assert_eq!(open(2) & 0x7F, 0b0110000, "Friday evening into Saturday night");
}

#[test]
fn with_changes_replaces_adds_and_keeps_capacity() {
    let monday = day(MONDAY.0, MONDAY.1, MONDAY.2);
    let index = PointIndex::build(
        vec![shelf(point(1, lat(1.0), 4.832, |_| {}), 3), shelf(point(2, lat(2.0), 4.832, |_| {}), 4)],
        monday,
    );
    let renamed = point(1, lat(1.0), 4.832, |p| p.name = "Renamed".into());
    let added = shelf(point(3, lat(0.5), 4.832, |_| {}), 40);
    let next = index.with_changes(vec![Indexed { point: renamed, capacity: Capacity::default(), hold_days: 3 }, added]);
    let near = Coordinates::parse(lat(0.0), 4.832).unwrap();
    let hits = next.nearest(near, 10_000.0, 10, &Filter::default());
    assert_eq!(names(&hits), ["P3", "P1", "P2"]);
    assert_eq!(hits[1].point.name, "Renamed");
    assert_eq!(hits[1].capacity.unwrap().shelf_free, 40, "shelf room from the new record (40 slots, none taken)");
    assert_eq!(hits[2].capacity.unwrap().shelf_free, 4, "an untouched point keeps its capacity");
    assert_eq!(index.len(), 2, "the old index is unchanged");
}

//! The diff of an operator's file against the registry: which points are added, which fields changed,
//! which points moved, closed, reopened or disappeared. Pure: the import use case loads the network's
//! points, asks for the diff, and commits it (or prints it, for `--dry-run`).
//!
//! A point missing from the file is *removed*: decommissioned, never deleted, since parcels and history
//! refer to it. A point that comes back is *reopened*.

use std::collections::HashSet;

use relais_domain::point::{PickupPoint, PointStatus};

use crate::formats::RowError;
use crate::record::NewCompartment;

/// How far a point may move before the change is reported as a move (a customer's remembered point
/// should not silently go elsewhere); smaller moves are corrections of the geocoding.
pub const MOVED_THRESHOLD_M_DEFAULT: f64 = 50.0;
/// Coordinate differences below this are float noise from the operator's export, not changes.
const COORDINATES_NOISE_M: f64 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeKind {
    Added,
    Changed,
    Moved,
    Closed,
    Reopened,
    Removed,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 6] = [
        ChangeKind::Added,
        ChangeKind::Changed,
        ChangeKind::Moved,
        ChangeKind::Closed,
        ChangeKind::Reopened,
        ChangeKind::Removed,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Changed => "changed",
            ChangeKind::Moved => "moved",
            ChangeKind::Closed => "closed",
            ChangeKind::Reopened => "reopened",
            ChangeKind::Removed => "removed",
        }
    }

    pub fn parse(text: &str) -> Option<ChangeKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// One field's value before and after, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: String,
    pub after: String,
}

/// What happens to one point.
#[derive(Debug, Clone)]
pub struct PointDiff {
    pub kind: ChangeKind,
    /// The line of the file the point comes from (`None` for a removal).
    pub line: Option<usize>,
    /// The point as it will be stored.
    pub after: PickupPoint,
    /// Every field that changed (empty for an addition).
    pub fields: Vec<FieldChange>,
    /// Added lockers and hubs: their doors.
    pub compartments: Vec<NewCompartment>,
}

#[derive(Debug, Default)]
pub struct Diff {
    pub points: Vec<PointDiff>,
    pub unchanged: usize,
    /// Rows refused at this stage (a duplicate id, a kind that cannot change).
    pub errors: Vec<RowError>,
}

impl Diff {
    pub fn count(&self, kind: ChangeKind) -> usize {
        self.points.iter().filter(|p| p.kind == kind).count()
    }
}

/// A validated row: its line, the point (with a fresh id) and, for lockers, its doors.
pub struct Incoming {
    pub line: usize,
    pub point: PickupPoint,
    pub compartments: Vec<NewCompartment>,
}

/// Compares the file's points with the network's `current` points. `refused` are the operator ids of
/// rows of the file that could not be read: their points are left as they are, not removed.
pub fn diff(
    mut current: Vec<PickupPoint>,
    mut incoming: Vec<Incoming>,
    refused: &HashSet<String>,
    moved_threshold_m: f64,
) -> Diff {
    // A merge of both lists sorted by operator id: no hashing or copying of 200,000 ids. The sort is
    // stable, so a repeated id's first row comes first.
    current.sort_unstable_by(|a, b| a.external_id.cmp(&b.external_id));
    incoming.sort_by(|a, b| a.point.external_id.cmp(&b.point.external_id));
    let mut result = Diff::default();
    let mut current = current.into_iter().peekable();
    let mut previous: Option<(String, usize)> = None;
    let mut gone = Vec::new();
    for row in incoming {
        if let Some((id, first)) = &previous
            && *id == row.point.external_id
        {
            result.errors.push(RowError {
                line: row.line,
                item: None,
                external_id: Some(id.clone()),
                message: format!("the id appears again (first on line {first})"),
            });
            continue;
        }
        previous = Some((row.point.external_id.clone(), row.line));
        while current.peek().is_some_and(|p| p.external_id < row.point.external_id) {
            gone.extend(current.next());
        }
        let Some(before) = current.next_if(|p| p.external_id == row.point.external_id) else {
            result.points.push(PointDiff {
                kind: ChangeKind::Added,
                line: Some(row.line),
                after: row.point,
                fields: Vec::new(),
                compartments: row.compartments,
            });
            continue;
        };
        if before.kind.has_compartments() != row.point.kind.has_compartments() {
            result.errors.push(RowError {
                line: row.line,
                item: None,
                external_id: Some(row.point.external_id.clone()),
                message: format!(
                    "the kind changes from {} to {}: a point cannot switch between compartments and a shelf",
                    before.kind.as_str(),
                    row.point.kind.as_str()
                ),
            });
            // Kept as it is: neither removed nor changed.
            continue;
        }
        let after = PickupPoint {
            id: before.id,
            network_id: before.network_id,
            shelf_occupied: before.shelf_occupied,
            created_at: before.created_at,
            version: before.version,
            ..row.point
        };
        let (fields, moved_m) = compare(&before, &after);
        if fields.is_empty() {
            result.unchanged += 1;
            continue;
        }
        let kind = if after.status != before.status && !after.accepts_parcels() && before.accepts_parcels() {
            ChangeKind::Closed
        } else if after.status != before.status && after.accepts_parcels() {
            ChangeKind::Reopened
        } else if moved_m > moved_threshold_m {
            ChangeKind::Moved
        } else {
            ChangeKind::Changed
        };
        result.points.push(PointDiff { kind, line: Some(row.line), after, fields, compartments: Vec::new() });
    }
    gone.extend(current);
    for before in gone {
        if before.status == PointStatus::Decommissioned || refused.contains(&before.external_id) {
            continue;
        }
        let fields = vec![FieldChange {
            field: "status",
            before: before.status.as_str().into(),
            after: PointStatus::Decommissioned.as_str().into(),
        }];
        let after = PickupPoint { status: PointStatus::Decommissioned, ..before };
        result.points.push(PointDiff {
            kind: ChangeKind::Removed,
            line: None,
            after,
            fields,
            compartments: Vec::new(),
        });
    }
    // File order, then the removed points by id.
    result.points.sort_by_key(|p| (p.line.is_none(), p.line));
    result.errors.sort_by_key(|e| e.line);
    result
}

/// The fields that differ, and how far the point moved in metres. Values are written out as text only
/// for the fields that differ: most points of a daily file are unchanged.
fn compare(before: &PickupPoint, after: &PickupPoint) -> (Vec<FieldChange>, f64) {
    let mut fields = Vec::new();
    let mut field = |name: &'static str, same: bool, text: &dyn Fn(&PickupPoint) -> String| {
        if !same {
            fields.push(FieldChange { field: name, before: text(before), after: text(after) });
        }
    };
    let (b, a) = (before, after);
    field("kind", b.kind == a.kind, &|p| p.kind.as_str().into());
    field("name", b.name == a.name, &|p| p.name.clone());
    field("address_line1", b.address.line1 == a.address.line1, &|p| p.address.line1.clone());
    field("address_line2", b.address.line2 == a.address.line2, &|p| p.address.line2.clone().unwrap_or_default());
    field("postcode", b.address.postcode == a.address.postcode, &|p| p.address.postcode.clone());
    field("city", b.address.city == a.address.city, &|p| p.address.city.clone());
    field("country", b.address.country == a.address.country, &|p| p.address.country.clone());
    field("timezone", b.timezone == a.timezone, &|p| p.timezone.clone());
    field("status", b.status == a.status, &|p| p.status.as_str().into());
    field("shelf_capacity", b.shelf_capacity == a.shelf_capacity, &|p| p.shelf_capacity.to_string());
    field("weight_max_g", b.weight_max == a.weight_max, &|p| p.weight_max.grams().to_string());
    field("dimensions_sum_max_mm", b.dimensions_sum_mm_max == a.dimensions_sum_mm_max, &|p| {
        p.dimensions_sum_mm_max.to_string()
    });
    field("opening_hours", b.opening_hours == a.opening_hours, &|p| {
        p.opening_hours.as_ref().map(|h| h.as_str().to_owned()).unwrap_or_default()
    });
    field("closures", b.closures == a.closures, &|p| {
        p.closures.iter().map(|c| format!("{}..{}", c.first, c.last)).collect::<Vec<_>>().join(";")
    });
    field("services", b.services == a.services, &|p| p.services.to_string());
    let moved_m = before.coordinates.distance_m(after.coordinates);
    field("coordinates", moved_m <= COORDINATES_NOISE_M, &|p| {
        format!("{:.6},{:.6}", p.coordinates.latitude(), p.coordinates.longitude())
    });
    (fields, moved_m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Compartments, NewPoint, PointValidator};
    use relais_domain::Timestamp;
    use relais_domain::ids::Id;

    fn point(external_id: &str, n: u8, change: impl Fn(&mut NewPoint)) -> PickupPoint {
        let mut input = NewPoint {
            external_id: external_id.into(),
            kind: "counter".into(),
            name: format!("Point {external_id}"),
            address_line1: "1 rue X".into(),
            postcode: "69001".into(),
            city: "Lyon".into(),
            country: "FR".into(),
            latitude: 45.76,
            longitude: 4.83,
            ..NewPoint::default()
        };
        change(&mut input);
        PointValidator::new()
            .validate(&input, Id::from_parts(1, [n; 10]), Timestamp::default(), "t", Compartments::Optional)
            .unwrap()
    }

    fn incoming(points: Vec<PickupPoint>) -> Vec<Incoming> {
        points
            .into_iter()
            .enumerate()
            .map(|(i, point)| Incoming { line: i + 2, point, compartments: Vec::new() })
            .collect()
    }

    #[test]
    fn every_kind_of_change() {
        let current = vec![
            point("same", 1, |_| {}),
            point("renamed", 2, |_| {}),
            point("moved", 3, |_| {}),
            point("nudged", 4, |_| {}),
            point("closing", 5, |_| {}),
            point("reopening", 6, |p| p.status = Some("inactive".into())),
            point("gone", 7, |_| {}),
            point("long_gone", 8, |p| p.status = Some("decommissioned".into())),
            point("bad_row", 9, |_| {}),
        ];
        let file = vec![
            point("same", 11, |_| {}),
            point("renamed", 12, |p| p.name = "Tabac".into()),
            point("moved", 13, |p| p.latitude = 45.761),   // ~111 m north
            point("nudged", 14, |p| p.latitude = 45.7601), // ~11 m
            point("closing", 15, |p| p.status = Some("maintenance".into())),
            point("reopening", 16, |_| {}),
            point("new", 17, |_| {}),
        ];
        let refused = HashSet::from(["bad_row".to_owned()]);
        let d = diff(current.clone(), incoming(file), &refused, MOVED_THRESHOLD_M_DEFAULT);
        let kinds: Vec<(&str, ChangeKind)> = d.points.iter().map(|p| (p.after.external_id.as_str(), p.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("renamed", ChangeKind::Changed),
                ("moved", ChangeKind::Moved),
                ("nudged", ChangeKind::Changed),
                ("closing", ChangeKind::Closed),
                ("reopening", ChangeKind::Reopened),
                ("new", ChangeKind::Added),
                ("gone", ChangeKind::Removed),
            ]
        );
        assert_eq!(d.unchanged, 1);
        let renamed = &d.points[0];
        assert_eq!(renamed.after.id, current[1].id, "a changed point keeps its identity");
        assert_eq!(
            renamed.fields,
            [FieldChange { field: "name", before: "Point renamed".into(), after: "Tabac".into() }]
        );
        assert_eq!(d.points[1].fields[0].field, "coordinates");
        assert_eq!(d.points[6].after.status, PointStatus::Decommissioned);
        assert_eq!(d.points[5].after.id, Id::from_parts(1, [17; 10]));
    }

    #[test]
    fn duplicates_and_kind_switches_are_row_errors() {
        let current = vec![point("L", 1, |p| p.kind = "locker".into())];
        let file = vec![point("A", 2, |_| {}), point("A", 3, |p| p.name = "Other".into()), point("L", 4, |_| {})];
        let d = diff(current, incoming(file), &HashSet::new(), MOVED_THRESHOLD_M_DEFAULT);
        let messages: Vec<String> = d.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "line 3 (A): the id appears again (first on line 2)",
                "line 4 (L): the kind changes from locker to counter: a point cannot switch between compartments and a shelf",
            ]
        );
        assert_eq!(d.count(ChangeKind::Added), 1);
        assert_eq!(d.count(ChangeKind::Removed), 0, "a refused row does not remove its point");
    }
}

//! The demo network: real La Poste contact points of the Rhône, Ain and Loire départements (shipped in
//! `demo/`, La Poste open data, Licence Ouverte), turned into a network a newcomer can play with. Post
//! offices get a parcel locker (a "pickup station" of 50 compartments in four sizes), partner shops
//! become counters, communal agencies post-office shelves.

use std::path::Path;

use relais_app::keys::NewApiKey;
use relais_app::setup::{NewCompartment, NewPoint};
use relais_app::{App, Caller};
use relais_domain::network::NetworkRules;
use relais_registry::formats::laposte::title;
use tokio::task::JoinSet;

const POINTS_CSV: &str = include_str!("../demo/laposte_points_rhone_ain_loire.csv");
/// Compartments of a demo locker per size class: most parcels are flat.
const LOCKER_LAYOUT: [(&str, u32); 4] = [("A", 20), ("B", 16), ("C", 10), ("D", 4)];
/// Point creations in flight at once: enough for the SQLite writer to batch them.
const CONCURRENCY: usize = 32;
/// Hours of the demo's staffed points (illustrative: the source file has none).
const DEMO_SHOP_HOURS: &str = "Mo-Fr 09:00-12:00,14:00-19:00; Sa 09:00-12:00; PH off";

pub struct DemoKeys {
    pub lines: Vec<String>,
}

/// Seeds the demo network if the database has no point yet. Returns the keys to print (read back from
/// the keys file when the demo already exists).
pub async fn seed_if_empty(app: &App, keys_file: &Path) -> Result<DemoKeys, String> {
    if app.count_points(&Caller::system()).await.map_err(|e| e.to_string())? > 0 {
        let lines =
            std::fs::read_to_string(keys_file).map(|t| t.lines().map(str::to_owned).collect()).unwrap_or_else(|_| {
                vec![format!("(the database already has points; no demo keys in {})", keys_file.display())]
            });
        return Ok(DemoKeys { lines });
    }
    let system = Caller::system();
    let network = app
        .create_network(&system, "Relais démo (La Poste, Rhône, Ain, Loire)", NetworkRules::default())
        .await
        .map_err(|e| e.to_string())?;
    let merchant = app.create_merchant(&system, "Boutique démo").await.map_err(|e| e.to_string())?;

    let mut tasks = JoinSet::new();
    let mut created = Vec::new();
    let mut skipped = 0;
    for line in POINTS_CSV.lines().skip(1) {
        let Some(point) = demo_point(network.id, line) else {
            skipped += 1;
            continue;
        };
        let app = app.clone();
        let system = system.clone();
        tasks.spawn(async move { app.create_point(&system, point).await });
        if tasks.len() >= CONCURRENCY
            && let Some(done) = tasks.join_next().await
        {
            created.push(done.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?.point);
        }
    }
    while let Some(done) = tasks.join_next().await {
        created.push(done.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?.point);
    }
    created.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    let lockers = created.iter().filter(|p| p.kind.has_compartments()).count();
    tracing::info!(points = created.len(), lockers, skipped, "demo network created");

    let first_locker = created.iter().find(|p| p.kind.has_compartments()).ok_or("no demo locker")?;
    let first_counter = created.iter().find(|p| !p.kind.has_compartments()).ok_or("no demo counter")?;
    let carrier = app.create_carrier(&system, "Transporteur démo", &[network.id]).await.map_err(|e| e.to_string())?;
    let key = |input: NewApiKey| {
        let app = app.clone();
        let system = system.clone();
        async move { app.create_api_key(&system, input).await.map(|k| k.secret).map_err(|e| e.to_string()) }
    };
    let lines = vec![
        format!("network      {}", network.id),
        format!("merchant     {}", merchant.id),
        format!("carrier      {}", carrier.id),
        format!("operator key      {}", key(NewApiKey::operator("demo operator")).await?),
        format!("merchant key      {}", key(NewApiKey::merchant(merchant.id, "demo merchant")).await?),
        format!("carrier key       {}", key(NewApiKey::carrier(carrier.id, "demo carrier")).await?),
        format!(
            "locker device key {}   (point {} {})",
            key(NewApiKey::device(first_locker.id, "demo locker")).await?,
            first_locker.id,
            first_locker.name
        ),
        format!(
            "counter device key {}  (point {} {})",
            key(NewApiKey::device(first_counter.id, "demo counter")).await?,
            first_counter.id,
            first_counter.name
        ),
    ];
    crate::config::write_private(keys_file, &(lines.join("\n") + "\n"))?;
    Ok(DemoKeys { lines })
}

/// One CSV row (`;`-separated, La Poste's columns) as a point, or `None` for a row that cannot be one.
fn demo_point(network_id: relais_domain::ids::NetworkId, line: &str) -> Option<NewPoint> {
    let f: Vec<&str> = line.split(';').collect();
    if f.len() < 13 {
        return None;
    }
    let (id, label, nature, street, complement, locality, postcode, city) =
        (f[0], f[1], f[2], f[4], f[5], f[6], f[7], f[8]);
    let latitude: f64 = f[11].parse().ok()?;
    let longitude: f64 = f[12].parse().ok()?;
    let street = [street, locality, city].into_iter().find(|s| !s.trim().is_empty())?;
    let (kind, name, external_id, shelf, compartments) = match nature {
        "Bureau de Poste" => {
            let compartments = LOCKER_LAYOUT
                .iter()
                .flat_map(|(size, count)| {
                    (1..=*count).map(move |n| NewCompartment { label: format!("{size}{n:02}"), size: (*size).into() })
                })
                .collect();
            ("locker", format!("Consigne {}", title(label)), format!("{id}-L"), None, compartments)
        }
        "Relais poste commerçant" => ("counter", title(label), id.to_owned(), Some(30), Vec::new()),
        _ => ("post_office", title(label), id.to_owned(), Some(20), Vec::new()),
    };
    Some(NewPoint {
        network_id,
        external_id,
        kind: kind.into(),
        name,
        address_line1: street.trim().to_owned(),
        address_line2: Some(complement.trim().to_owned()).filter(|c| !c.is_empty()),
        postcode: postcode.to_owned(),
        city: title(city),
        country: "FR".into(),
        latitude,
        longitude,
        timezone: Some("Europe/Paris".into()),
        status: None,
        shelf_capacity: shelf,
        weight_max_g: None,
        dimensions_sum_max_mm: None,
        // La Poste's file has no hours: the demo gives lockers 24/7 and shelves typical shop hours.
        opening_hours: Some(if kind == "locker" { "24/7" } else { DEMO_SHOP_HOURS }.into()),
        closures: Vec::new(),
        services: Some(if kind == "locker" { "collect,return" } else { "collect,send,return" }.into()),
        compartments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_row_becomes_a_point() {
        let network = relais_domain::ids::Id::from_parts(1, [0; 10]);
        let rows: Vec<_> = POINTS_CSV.lines().skip(1).collect();
        let points: Vec<_> = rows.iter().filter_map(|l| demo_point(network, l)).collect();
        assert_eq!(points.len(), rows.len());
        let lockers = points.iter().filter(|p| p.kind == "locker").count();
        assert!(lockers >= 300, "{lockers} lockers");
        assert!(points.iter().filter(|p| p.kind == "counter").count() >= 100);
        assert_eq!(points.iter().find(|p| p.kind == "locker").map(|p| p.compartments.len()), Some(50));
    }
}

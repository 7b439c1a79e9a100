//! `relais import orders`: a merchant's CSV file of orders imported by the real binary, again without
//! making anything twice, and a bad file refused whole with exit status 1.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

use std::process::Command;
use std::sync::Arc;

use relais_app::ports::SeededRandom;
use relais_app::setup::NewPoint;
use relais_app::{App, Caller, Secrets, SystemClock};
use relais_domain::network::NetworkRules;

fn import(url: &str, merchant: &str, file: &std::path::Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_relais"))
        .env("RELAIS_LOG", "error")
        .env("RELAIS_SECRET_KEY", "22".repeat(32))
        .args(["import", "orders", "--database-url", url, "--merchant", merchant, "--format", "csv"])
        .arg(file)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[tokio::test]
async fn a_csv_file_of_orders_is_imported_once_and_a_bad_one_refused_whole() {
    let test = relais_store::testing::sqlite();
    let app =
        App::new(test.store.clone(), Arc::new(SystemClock), Arc::new(SeededRandom::new(1)), Secrets::new([2; 32]));
    let system = Caller::system();
    let network = app.create_network(&system, "Réseau", NetworkRules::default()).await.unwrap();
    let merchant = app.create_merchant(&system, "Boutique").await.unwrap();
    let point = NewPoint {
        network_id: network.id,
        external_id: "C1".into(),
        kind: "counter".into(),
        name: "Tabac".into(),
        address_line1: "1 place Bellecour".into(),
        postcode: "69002".into(),
        city: "Lyon".into(),
        country: "FR".into(),
        latitude: 45.75,
        longitude: 4.83,
        shelf_capacity: Some(10),
        ..NewPoint::default()
    };
    let point = app.create_point(&system, point).await.unwrap().point.id;
    let dir = std::env::temp_dir().join(format!("relais-orders-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("orders.csv");
    std::fs::write(
        &file,
        format!(
            "reference,customer_name,customer_email,point_id,shipping_price_cents,currency,parcel_number,length_mm,width_mm,height_mm,weight_g\n\
             CLI-1,Ana,ana@example.org,{point},490,EUR,CLI0000001,300,200,50,800\n\
             CLI-2,Lou,lou@example.org,{point},0,EUR,CLI0000002,300,200,50,500\n"
        ),
    )
    .unwrap();
    let merchant = merchant.id.to_string();
    let (ok, text) = import(&test.url, &merchant, &file);
    assert!(ok && text.contains("2 created, 0 already there, 0 refused"), "{text}");
    let (ok, text) = import(&test.url, &merchant, &file);
    assert!(ok && text.contains("0 created, 2 already there"), "{text}");
    std::fs::write(
        &file,
        format!(
            "reference,customer_name,customer_email,point_id,shipping_price_cents,currency,parcel_number,length_mm,width_mm,height_mm,weight_g\n\
             CLI-3,Ana,ana@example.org,{point},490,EUR,CLI0000003,300,200,50,800\n\
             CLI-4,Lou,not-an-address,{point},0,EUR,CLI0000004,300,200,50,500\n"
        ),
    )
    .unwrap();
    let (ok, text) = import(&test.url, &merchant, &file);
    assert!(!ok && text.contains("line 3 CLI-4: refused") && text.contains("nothing was created"), "{text}");

    // The ERP's drop folder: the good file imported and filed in done/, the bad one in refused/, each
    // with its report; the next pass finds nothing new.
    let folder = dir.join("drop");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::rename(&file, folder.join("b-bad.csv")).unwrap();
    std::fs::write(
        folder.join("a-good.csv"),
        format!(
            "reference,customer_name,customer_email,point_id,shipping_price_cents,currency,parcel_number,length_mm,width_mm,height_mm,weight_g\n\
             DROP-1,Ana,ana@example.org,{point},490,EUR,DROP000001,300,200,50,800\n"
        ),
    )
    .unwrap();
    let merchant_id = merchant.parse().unwrap();
    let format = relais_app::order_files::OrderFormat::Csv;
    let lines = relais::orders::drain_order_folder(&app, merchant_id, format, &folder).await.unwrap();
    let outcomes: Vec<bool> = lines.iter().map(|(_, refused)| *refused).collect();
    assert_eq!(outcomes, [false, true], "{lines:?}");
    let done = std::fs::read_to_string(folder.join("done/a-good.csv.report.txt")).unwrap();
    assert!(done.contains("line 2 DROP-1: created") && done.contains("1 created"), "{done}");
    let refused = std::fs::read_to_string(folder.join("refused/b-bad.csv.report.txt")).unwrap();
    assert!(refused.contains("REFUSED") && refused.contains("CLI-4: refused"), "{refused}");
    assert!(relais::orders::drain_order_folder(&app, merchant_id, format, &folder).await.unwrap().is_empty());
    let made = app.order_by_reference(&system, Some(merchant_id), "DROP-1").await.unwrap();
    assert_eq!(made.parcels.len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

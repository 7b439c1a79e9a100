//! Parcel numbers issued by several `relais numbers issue` processes at once on one database: every
//! SSCC once, each valid, none of another merchant's series. PostgreSQL (when configured, required in
//! CI) and SQLite.

#![allow(clippy::unwrap_used)] // Tests state their expectations by unwrapping.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::sync::Arc;

use relais_app::numbers::SeriesOwner;
use relais_app::ports::SeededRandom;
use relais_app::{App, Caller, Secrets, SystemClock};
use relais_domain::numbering::Series;
use relais_domain::value::ParcelNumber;

const PROCESSES: usize = 4;
const EACH: u32 = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_issuing_at_once_never_issue_a_number_twice() {
    for test in relais_store::testing::all().await {
        let app =
            App::new(test.store.clone(), Arc::new(SystemClock), Arc::new(SeededRandom::new(1)), Secrets::new([1; 32]));
        let merchant = app.create_merchant(&Caller::system(), "Boutique").await.unwrap();
        let owner = SeriesOwner::Merchant(merchant.id);
        app.set_number_series(&Caller::system(), owner, Series::sscc(3, "3760123").unwrap()).await.unwrap();
        let dir = std::env::temp_dir();
        let children: Vec<_> = (0..PROCESSES)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_relais"))
                    .current_dir(&dir)
                    .env("RELAIS_LOG", "error")
                    .env("RELAIS_SECRET_KEY", "11".repeat(32))
                    .args(["numbers", "issue", "--database-url", &test.url, "--merchant", &merchant.id.to_string()])
                    .args(["--count", &EACH.to_string()])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut all = HashSet::new();
        for child in children {
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "{}: a process failed", test.name);
            let text = String::from_utf8(output.stdout).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), EACH as usize, "{}", test.name);
            for line in lines {
                let number = ParcelNumber::parse(line).unwrap();
                assert!(
                    number.as_str().len() == 18 && number.as_str().starts_with("33760123"),
                    "{}: {line}",
                    test.name
                );
                assert!(all.insert(line.to_owned()), "{}: {line} issued twice", test.name);
            }
        }
        assert_eq!(all.len(), PROCESSES * EACH as usize, "{}", test.name);
        eprintln!("{}: {} processes issued {} distinct SSCCs", test.name, PROCESSES, all.len());
    }
}

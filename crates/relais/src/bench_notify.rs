//! `relais bench notify`: the delivery worker sends `--messages` ready-for-pickup e-mails (each parcel's
//! outbox message fanned out, rendered from the templates with its code opened from the seal and its QR
//! image, sent over pooled SMTP, recorded) to a local SMTP server; then, in the same run, the same number
//! of the same e-mails go to the same server through the same SMTP client in a bare loop (no outbox, no
//! database, no templates). The last line is machine-readable:
//! `messages_per_s=<n> p99_ms=<x> baseline_per_s=<n> ratio=<worker/baseline>`, where `p99_ms` is the
//! 99th percentile of one message's SMTP exchange in the worker.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use relais_app::notify::{DeliverySettings, Outgoing, OutgoingEmail, Outlets};
use relais_app::ports::{SeededRandom, Write};
use relais_app::setup::NewPoint;
use relais_app::{App, Caller, Secrets, SystemClock};
use relais_domain::delivery::AttemptOutcome;
use relais_domain::network::NetworkRules;
use relais_domain::parcel::{Actor, ActorKind, NewParcel, Parcel, Recipient};
use relais_domain::value::{Dimensions, Email, Language, ParcelNumber, Weight};
use relais_edge::mail::{Mail, MailOutcome, Security, SmtpChannel, SmtpSettings};
use relais_edge::testing::SmtpSink;

use crate::bench::{Backend, Database, percentile_ms};
use crate::outlets::{mail_of, mail_outcome};

pub struct NotifyOptions {
    pub backend: Backend,
    pub database_url: Option<String>,
    pub messages: u32,
    /// Sends in flight, in the worker (split over its loops) and in the bare loop alike.
    pub concurrency: usize,
    /// Rounds the worker runs side by side.
    pub loops: usize,
}

/// Parcels written per commit while the outbox is filled (before timing starts).
const FILL_BATCH: usize = 500;

pub async fn notify(options: NotifyOptions) -> Result<String, String> {
    if options.messages == 0 || options.concurrency == 0 {
        return Err("--messages and --concurrency must be at least 1".into());
    }
    let n = options.messages as usize;
    let sink = SmtpSink::counting().await.map_err(|e| format!("local SMTP server: {e}"))?;
    let smtp = SmtpChannel::new(&SmtpSettings {
        host: "127.0.0.1".into(),
        port: sink.port,
        security: Security::None,
        username: None,
        password: None,
        from: "Relais bench <avis@relais.example>".into(),
        timeout: Duration::from_secs(10),
        connections: u32::try_from(options.concurrency).unwrap_or(u32::MAX),
    })?;
    let smtp = Arc::new(smtp);

    let database = Database::create(options.backend, options.database_url.as_deref(), "notify").await?;
    let secrets = Secrets::new([5; 32]);
    let app = App::new(database.store.clone(), Arc::new(SystemClock), Arc::new(SeededRandom::new(16)), secrets.clone());
    eprintln!("notify: writing {n} parcels ready for pickup and their outbox messages ({:?})", options.backend);
    fill(&app, &secrets, database.store.as_ref(), n).await?;

    // The worker, through the very SMTP channel of `relais serve`.
    let channels =
        Arc::new(Timed { smtp: Arc::clone(&smtp), times: Mutex::new(Vec::with_capacity(n)), sample: Mutex::new(None) });
    let loops = options.loops.clamp(1, options.concurrency);
    let settings = DeliverySettings {
        batch: 512,
        concurrency: options.concurrency.div_ceil(loops),
        loops,
        ..DeliverySettings::default()
    };
    let outlets: Arc<dyn Outlets> = channels.clone();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..loops {
        let (app, outlets, settings) = (app.clone(), Arc::clone(&outlets), settings.clone());
        tasks.push(tokio::spawn(async move {
            let mut delivered = 0;
            loop {
                let round = app.deliver_round(&outlets, &settings).await.map_err(|e| e.to_string())?;
                delivered += round.delivered;
                if round.dead + round.retried > 0 {
                    let failed = round.dead + round.retried;
                    return Err(format!("{failed} messages failed: the benchmark needs every one delivered"));
                }
                if round.is_idle() {
                    return Ok::<usize, String>(delivered);
                }
            }
        }));
    }
    let mut delivered = 0;
    for task in tasks {
        delivered += task.await.map_err(|e| e.to_string())??;
    }
    let worker_time = started.elapsed();
    if delivered != n || sink.count() != n {
        return Err(format!("{delivered} delivered, {} received, of {n}", sink.count()));
    }
    let mut times = std::mem::take(&mut *channels.times.lock().unwrap_or_else(|p| p.into_inner()));
    times.sort();
    let p99 = percentile_ms(&times, 0.99);
    let sample = channels.sample.lock().unwrap_or_else(|p| p.into_inner()).take().ok_or("no e-mail was sent")?;

    // The baseline: the same e-mail, n times, to n addresses, through the same client and concurrency.
    let started = Instant::now();
    let baseline_sent = bare_loop(&smtp, &sample, n, options.concurrency).await?;
    let baseline_time = started.elapsed();
    if sink.count() != 2 * n {
        return Err(format!("the bare loop delivered {} of {n}", sink.count() - n));
    }
    database.cleanup().await;

    let per_s = n as f64 / worker_time.as_secs_f64();
    let baseline_per_s = baseline_sent as f64 / baseline_time.as_secs_f64();
    eprintln!(
        "notify: worker {n} e-mails in {:.2} s, bare SMTP loop in {:.2} s; {} bytes each",
        worker_time.as_secs_f64(),
        baseline_time.as_secs_f64(),
        sample.text.len() + sample.html.len() + sample.inline.iter().map(|i| i.bytes.len()).sum::<usize>()
    );
    Ok(format!(
        "messages_per_s={per_s:.0} p99_ms={p99:.2} baseline_per_s={baseline_per_s:.0} ratio={:.2}",
        per_s / baseline_per_s
    ))
}

/// A locker, a merchant and `n` parcels waiting there, each with its sealed code, its recipient's e-mail
/// address and its `parcel.deposited` outbox message: what `n` deposits leave behind.
pub async fn fill(app: &App, secrets: &Secrets, store: &dyn relais_app::Store, n: usize) -> Result<(), String> {
    let system = Caller::system();
    let network = app.create_network(&system, "bench", NetworkRules::default()).await.map_err(|e| e.to_string())?;
    let merchant = app.create_merchant(&system, "Boutique Lumière").await.map_err(|e| e.to_string())?;
    let point = app
        .create_point(
            &system,
            NewPoint {
                network_id: network.id,
                external_id: "BENCH-NOTIFY".into(),
                kind: "counter".into(),
                name: "Tabac de la Gare".into(),
                address_line1: "17 rue du Docteur Bouchut".into(),
                address_line2: None,
                postcode: "69003".into(),
                city: "Lyon".into(),
                country: "FR".into(),
                latitude: 45.7606,
                longitude: 4.8593,
                timezone: None,
                status: None,
                shelf_capacity: Some(10_000),
                weight_max_g: None,
                dimensions_sum_max_mm: None,
                opening_hours: Some("Mo-Sa 07:00-21:00".into()),
                closures: Vec::new(),
                services: None,
                compartments: Vec::new(),
            },
        )
        .await
        .map_err(|e| e.to_string())?
        .point;
    app.rebuild_index().await.map_err(|e| e.to_string())?;
    let now = app.now();
    let actor = |kind| Actor { kind, reference: None };
    let rules = NetworkRules::default();
    let mut writes = Vec::with_capacity(FILL_BATCH * 2);
    for i in 0..n {
        let id = app.new_id();
        let random = SeededRandom::new(i as u64);
        // Distinct codes (48,271 is prime to 10^8): a point holds one parcel per live code.
        let code =
            relais_domain::value::PickupCode::parse(&format!("{:08}", (i as u64 * 48_271 + 12_345) % 100_000_000))
                .map_err(|e| e.to_string())?;
        let qr_token = relais_app::signed::issue_qr(secrets.signing_key(), id, point.id);
        let (digests, seal) = secrets.keep_pickup(id, &code, &qr_token, &random);
        let new = NewParcel {
            id,
            number: ParcelNumber::parse(&format!("NOTIFY{i:010}")).map_err(|e| e.to_string())?,
            merchant_id: merchant.id,
            carrier_id: None,
            network_id: network.id,
            point_id: point.id,
            recipient: Recipient {
                name: "Camille Bench".into(),
                phone: None,
                email: Some(Email::parse(&format!("camille.{i}@bench.example")).map_err(|e| e.to_string())?),
                language: if i % 2 == 0 { Language::Fr } else { Language::En },
            },
            dimensions: Dimensions::from_mm(300, 200, 60).map_err(|e| e.to_string())?,
            weight: Weight::from_grams(900).map_err(|e| e.to_string())?,
            secrets: digests,
        };
        let announced = Parcel::announce(new, actor(ActorKind::Merchant), now);
        let deposited =
            announced.parcel.deposit(None, &rules, actor(ActorKind::Carrier), now).map_err(|e| e.to_string())?;
        let message = app.outbox_message(&deposited.parcel, &deposited.event).await.map_err(|e| e.to_string())?;
        writes.push(Write::InsertParcel { parcel: deposited.parcel, pickup_seal: seal, contact_digests: Vec::new() });
        writes.push(Write::AppendOutbox(message));
        if writes.len() >= FILL_BATCH * 2 || i + 1 == n {
            store.commit(std::mem::take(&mut writes)).await.map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// The worker's channels in the benchmark: SMTP, each exchange timed, one rendered e-mail kept for the
/// bare loop.
struct Timed {
    smtp: Arc<SmtpChannel>,
    times: Mutex<Vec<Duration>>,
    sample: Mutex<Option<OutgoingEmail>>,
}

#[async_trait]
impl Outlets for Timed {
    async fn send(&self, message: Outgoing) -> AttemptOutcome {
        let Outgoing::Email(email) = message else { return AttemptOutcome::Refused { error: "e-mail only".into() } };
        {
            let mut sample = self.sample.lock().unwrap_or_else(|p| p.into_inner());
            if sample.is_none() {
                *sample = Some(email.clone());
            }
        }
        let mail = mail_of(email);
        let started = Instant::now();
        let outcome = self.smtp.send(&mail).await;
        self.times.lock().unwrap_or_else(|p| p.into_inner()).push(started.elapsed());
        mail_outcome(outcome)
    }
}

/// The same e-mail sent `n` times to `n` addresses, `concurrency` at a time: SMTP alone.
async fn bare_loop(
    smtp: &Arc<SmtpChannel>,
    sample: &OutgoingEmail,
    n: usize,
    concurrency: usize,
) -> Result<usize, String> {
    use futures_util::StreamExt;
    let sent = futures_util::stream::iter(0..n)
        .map(|i| {
            let mail =
                Mail { id: format!("bare-{i}"), to: format!("bare.{i}@bench.example"), ..mail_of(sample.clone()) };
            let smtp = Arc::clone(smtp);
            async move { matches!(smtp.send(&mail).await, MailOutcome::Accepted { .. }) }
        })
        .buffer_unordered(concurrency)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await;
    if sent != n {
        return Err(format!("the bare loop sent {sent} of {n}"));
    }
    Ok(sent)
}

//! Telling the other processes sharing a PostgreSQL database what changed in the search index, so that
//! a point added, or a locker filled, through one `relais serve` shows in the searches of all of them
//! within about a second (the architecture brief: the index is "kept current by the commands that
//! change them and, on PostgreSQL with several processes, by change notifications").
//!
//! A transaction whose writes change the index (`Write::index_change`) also runs one `pg_notify` on the
//! schema's channel; PostgreSQL delivers it to the listening processes when, and only if, the
//! transaction commits. Each process listens on a connection of its own and hands the notices to the
//! app, which marks them as it marks its own commits. Its own notices carry its tag and are skipped.
//!
//! A notice lists the points: `<tag> P<point id> C<point id> ...` (`P`: the point itself changed, `C`:
//! its capacity only), or `<tag> *` when more points changed than a notice may list (an import): the
//! listeners rebuild. When the listening connection is lost, notices may have been missed: the listener
//! reports a rebuild once it listens again.

use std::collections::BTreeMap;
use std::time::Duration;

use relais_app::ports::{IndexChange, IndexNotice, RandomSource, StoreError, StoreResult, Write};
use relais_domain::ids::PointId;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};

/// Points one notice may list: PostgreSQL refuses a payload of 8,000 bytes or more, and a listed point
/// takes 38.
const LISTED_POINTS_MAX: usize = 150;
/// The statement that sends a notice, in the transaction that makes the change.
pub(crate) const NOTIFY: &str = "SELECT pg_notify($1, $2)";
/// Notices waiting for the app before the listener stops reading its connection.
const NOTICES_QUEUED_MAX: usize = 1_024;
/// Waits between attempts to listen again after the connection was lost.
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Where this store sends and hears notices: its schema's channel, and the tag its own notices carry.
#[derive(Debug, Clone)]
pub(crate) struct Channel {
    pub(crate) name: String,
    pub(crate) tag: String,
    /// False on a database without `pg_notify` (some PostgreSQL-compatible engines): no notice is sent,
    /// and the other processes' changes arrive at the periodic rebuild only.
    pub(crate) enabled: bool,
}

impl Channel {
    /// The channel of `schema` (the processes of one installation share it, another schema in the same
    /// database does not hear them), with a fresh random tag.
    pub(crate) fn new(schema: &str) -> Channel {
        let mut name = format!("relais_index.{schema}");
        // A channel name is an identifier: at most 63 bytes.
        while name.len() > 63 {
            name.pop();
        }
        let mut bytes = [0u8; 8];
        relais_app::ports::OsRandom.fill(&mut bytes);
        Channel { name, tag: bytes.iter().map(|b| format!("{b:02x}")).collect(), enabled: true }
    }

    /// The notice for a transaction of these writes, if they change the index.
    pub(crate) fn payload(&self, writes: &[&Write]) -> Option<String> {
        if !self.enabled {
            return None;
        }
        // Per point, `P` (reload) wins over `C` (recount), which it includes.
        let mut points: BTreeMap<PointId, bool> = BTreeMap::new();
        for change in writes.iter().filter_map(|w| w.index_change()) {
            match change {
                IndexChange::Point(id) => {
                    points.insert(id, true);
                }
                IndexChange::Capacity(id) => {
                    points.entry(id).or_insert(false);
                }
            }
        }
        if points.is_empty() {
            return None;
        }
        let mut payload = self.tag.clone();
        if points.len() > LISTED_POINTS_MAX {
            payload.push_str(" *");
            return Some(payload);
        }
        for (id, whole) in points {
            payload.push_str(if whole { " P" } else { " C" });
            payload.push_str(&id.to_string());
        }
        Some(payload)
    }

    /// What a notice tells this process: `None` for its own notices. A notice it cannot read asks for
    /// a rebuild (a newer process may write more than this one knows).
    pub(crate) fn read(&self, payload: &str) -> Option<IndexNotice> {
        let mut words = payload.split(' ');
        if words.next() == Some(self.tag.as_str()) {
            return None;
        }
        let mut changes = Vec::new();
        for word in words {
            let change = match (word.get(..1), word.get(1..).and_then(|id| id.parse::<PointId>().ok())) {
                (Some("P"), Some(id)) => IndexChange::Point(id),
                (Some("C"), Some(id)) => IndexChange::Capacity(id),
                _ => return Some(IndexNotice::Rebuild),
            };
            changes.push(change);
        }
        Some(IndexNotice::Changes(changes))
    }
}

/// Listens on the channel on a connection of its own and returns the notices of the other processes.
/// Returns once the first `LISTEN` is in place, so that a caller building its index next misses
/// nothing. Runs until the receiver is dropped; when the connection is lost it listens again, with a
/// growing wait, and then reports a rebuild.
pub(crate) async fn listen(
    config: tokio_postgres::Config,
    channel: Channel,
) -> StoreResult<mpsc::Receiver<IndexNotice>> {
    let (sender, receiver) = mpsc::channel(NOTICES_QUEUED_MAX);
    let first = Listening::start(&config, &channel).await.map_err(|e| StoreError(format!("LISTEN: {e}")))?;
    tokio::spawn(async move {
        let mut listening = Some(first);
        let mut wait = RETRY_FIRST;
        loop {
            if let Some(current) = listening.take() {
                if !current.forward(&channel, &sender).await {
                    return;
                }
                wait = RETRY_FIRST;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(RETRY_MAX);
            match Listening::start(&config, &channel).await {
                Ok(again) => {
                    // What was committed while nobody listened is unknown.
                    if sender.send(IndexNotice::Rebuild).await.is_err() {
                        return;
                    }
                    listening = Some(again);
                }
                Err(error) => {
                    tracing::warn!(%error, retry_in_ms = wait.as_millis() as u64, "index notices: cannot listen")
                }
            }
        }
    });
    Ok(receiver)
}

/// A connection with `LISTEN` in place, and the payloads a task reads from it.
struct Listening {
    client: tokio_postgres::Client,
    heard: mpsc::UnboundedReceiver<Result<String, String>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Listening {
    async fn start(config: &tokio_postgres::Config, channel: &Channel) -> Result<Listening, String> {
        let (client, mut connection) = config.connect(NoTls).await.map_err(|e| described(&e))?;
        // The connection's messages, read by a task of its own (it also carries the client's requests).
        let (payloads, heard) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            loop {
                let payload = match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(notice))) => Ok(notice.payload().to_owned()),
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => Err(described(&e)),
                    None => Err("the server closed the connection".to_owned()),
                };
                let end = payload.is_err();
                if payloads.send(payload).is_err() || end {
                    return;
                }
            }
        });
        let quoted = channel.name.replace('"', "\"\"");
        if let Err(e) = client.batch_execute(&format!("LISTEN \"{quoted}\"")).await {
            reader.abort();
            return Err(described(&e));
        }
        Ok(Listening { client, heard, reader })
    }

    /// Hands the other processes' notices over until the connection is lost (true) or nobody wants
    /// them any more (false).
    async fn forward(mut self, channel: &Channel, sender: &mpsc::Sender<IndexNotice>) -> bool {
        let wanted = loop {
            let heard = tokio::select! {
                heard = self.heard.recv() => heard,
                // The app stopped following (a test's app dropped): the connection goes.
                () = sender.closed() => break false,
            };
            match heard {
                Some(Ok(payload)) => {
                    if let Some(notice) = channel.read(&payload)
                        && sender.send(notice).await.is_err()
                    {
                        break false;
                    }
                }
                Some(Err(error)) => {
                    tracing::warn!(%error, "index notices: connection lost; listening again");
                    break true;
                }
                None => break true,
            }
        };
        self.reader.abort();
        drop(self.client);
        wanted
    }
}

/// An error as an operator can act on it: the server's own message when it sent one ("terminating
/// connection due to administrator command"), where tokio-postgres alone says "db error".
fn described(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relais_domain::compartment::Compartment;
    use relais_domain::value::SizeClass;

    fn door(point: PointId) -> Write {
        let id = relais_domain::ids::Id::from_parts(1, [1; 10]);
        Write::UpdateCompartment(Compartment::new(id, point, "A1", SizeClass::A).unwrap())
    }

    fn point(n: u8) -> PointId {
        relais_domain::ids::Id::from_parts(1_700_000_000_000, [n; 10])
    }

    #[test]
    fn a_notice_lists_each_point_once_and_is_skipped_by_its_sender() {
        let (sender, other) = (Channel::new("public"), Channel::new("public"));
        assert_ne!(sender.tag, other.tag);
        let writes = [door(point(1)), door(point(1)), door(point(2))];
        let payload = sender.payload(&writes.iter().collect::<Vec<_>>()).unwrap();
        assert_eq!(payload.split(' ').count(), 3, "{payload}");
        assert_eq!(sender.read(&payload), None);
        let IndexNotice::Changes(mut changes) = other.read(&payload).unwrap() else { panic!("{payload}") };
        changes.sort_by_key(|c| format!("{c:?}"));
        assert_eq!(changes, vec![IndexChange::Capacity(point(1)), IndexChange::Capacity(point(2))]);
    }

    #[test]
    fn writes_that_change_no_point_send_nothing_and_too_many_points_ask_for_a_rebuild() {
        let channel = Channel::new("public");
        assert_eq!(channel.payload(&[]), None);
        let many: Vec<Write> = (0..=LISTED_POINTS_MAX as u8).map(|n| door(point(n))).collect();
        let payload = channel.payload(&many.iter().collect::<Vec<_>>()).unwrap();
        assert_eq!(Channel::new("public").read(&payload), Some(IndexNotice::Rebuild));
        let listed: Vec<Write> = many.into_iter().take(LISTED_POINTS_MAX).collect();
        let payload = channel.payload(&listed.iter().collect::<Vec<_>>()).unwrap();
        assert!(payload.len() < 8_000, "{} bytes", payload.len());
        let Some(IndexNotice::Changes(changes)) = Channel::new("public").read(&payload) else { panic!() };
        assert_eq!(changes.len(), LISTED_POINTS_MAX);
    }

    #[test]
    fn a_point_change_includes_its_capacity_and_an_unreadable_notice_asks_for_a_rebuild() {
        let channel = Channel::new("public");
        let input = relais_registry::NewPoint {
            network_id: relais_domain::ids::Id::from_uuid(point(9).uuid()),
            external_id: "P3".into(),
            kind: "counter".into(),
            name: "Point 3".into(),
            address_line1: "3 rue X".into(),
            postcode: "69001".into(),
            city: "Lyon".into(),
            country: "FR".into(),
            latitude: 45.75,
            longitude: 4.83,
            ..relais_registry::NewPoint::default()
        };
        let mut validator = relais_registry::PointValidator::new();
        let added = validator
            .validate(
                &input,
                point(3),
                relais_domain::Timestamp::default(),
                "t",
                relais_registry::Compartments::Optional,
            )
            .unwrap();
        let writes = [door(point(3)), Write::InsertPoint(added)];
        let payload = channel.payload(&writes.iter().collect::<Vec<_>>()).unwrap();
        let reader = Channel::new("public");
        assert_eq!(reader.read(&payload), Some(IndexNotice::Changes(vec![IndexChange::Point(point(3))])));
        assert_eq!(reader.read("abc Xnot-a-point"), Some(IndexNotice::Rebuild));
        assert!(Channel::new(&"s".repeat(80)).name.len() <= 63);
        let silent = Channel { enabled: false, ..Channel::new("public") };
        assert_eq!(silent.payload(&writes.iter().collect::<Vec<_>>()), None);
    }
}

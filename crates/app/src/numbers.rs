//! Parcel numbers relais issues (`relais_domain::numbering`): a merchant's SSCC-18 series (its GS1
//! company prefix and extension digit) and a postal network's UPU S10 range. Each process takes a
//! block of [`BLOCK_SERIALS`] serials from a series in one versioned write and hands them out from
//! memory, so that concurrent announces on several processes never wait on one row nor issue a number
//! twice; the serials of a block a process did not use before it stopped are skipped, never reused.
//! A block is refused when its serials were taken less than a year ago (`numbers_exhausted`).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::Duration;
use relais_domain::ids::{MerchantId, NetworkId};
use relais_domain::numbering::{REUSE_AFTER_DAYS, Series, take};
use relais_domain::value::ParcelNumber;

use crate::App;
use crate::auth::{Caller, Permission, Role};
use crate::command::Halt;
use crate::error::AppError;
use crate::ports::{NumberWrite, StoreError, StoredSeries, Write};

/// How many serials a process takes from a series at a time.
pub const BLOCK_SERIALS: u64 = 100;
/// The most numbers one request issues.
pub const ISSUE_COUNT_MAX: u32 = 1_000;

/// Whose series: a merchant's, or a network's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesOwner {
    Merchant(MerchantId),
    Network(NetworkId),
}

impl SeriesOwner {
    /// The series' id: the owner and the kind (`sscc`, `s10`).
    fn series_id(self, kind: &str) -> String {
        match self {
            SeriesOwner::Merchant(id) => format!("merchant:{id}:{kind}"),
            SeriesOwner::Network(id) => format!("network:{id}:{kind}"),
        }
    }

    fn describe(self) -> String {
        match self {
            SeriesOwner::Merchant(id) => format!("merchant {id}"),
            SeriesOwner::Network(id) => format!("network {id}"),
        }
    }
}

/// A series as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesView {
    pub series: Series,
    /// Where the next block starts.
    pub next_serial: u64,
    pub capacity: u64,
    pub updated_at: relais_domain::Timestamp,
}

/// The blocks this process holds: by series id, the definition they were taken under and the serials
/// left (`next..end`).
#[derive(Default)]
pub struct Blocks {
    held: Mutex<HashMap<String, Block>>,
}

#[derive(Debug, Clone)]
struct Block {
    series: Series,
    next: u64,
    end: u64,
}

impl Blocks {
    /// The next number of a held block, if one is left.
    fn next(&self, series_id: &str) -> Option<ParcelNumber> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let block = held.get_mut(series_id).filter(|b| b.next < b.end)?;
        let number = block.series.number(block.next);
        block.next += 1;
        number
    }

    fn hold(&self, series_id: String, block: Block) {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).insert(series_id, block);
    }

    fn drop_series(&self, series_id: &str) {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).remove(series_id);
    }
}

impl App {
    /// Sets a series: a merchant its own SSCC series (or an operator for it), an operator a network's.
    /// A new definition starts after the serials of that definition taken within the year.
    pub async fn set_number_series(
        &self,
        caller: &Caller,
        owner: SeriesOwner,
        series: Series,
    ) -> Result<SeriesView, AppError> {
        self.check_series_owner(caller, owner).await?;
        let series_id = owner.series_id(series.kind());
        let definition = series.definition();
        let now = self.now();
        let since = now - Duration::days(REUSE_AFTER_DAYS);
        let next_serial = self.store.recent_number_block(&definition, 0, series.capacity(), since).await?.unwrap_or(0);
        let write = NumberWrite::PutSeries { id: series_id.clone(), definition, next_serial, at: now };
        self.insert(Write::Numbers(write)).await?;
        self.number_blocks.drop_series(&series_id);
        let stored = self.stored_series(owner, series.kind()).await?;
        view(&stored)
    }

    /// An owner's series of a kind.
    pub async fn number_series(&self, caller: &Caller, owner: SeriesOwner, kind: &str) -> Result<SeriesView, AppError> {
        self.check_series_owner(caller, owner).await?;
        view(&self.stored_series(owner, kind).await?)
    }

    /// Issues `count` numbers of an owner's series (labels printed ahead, a WMS's own announce).
    pub async fn issue_numbers(
        &self,
        caller: &Caller,
        owner: SeriesOwner,
        kind: &str,
        count: u32,
    ) -> Result<Vec<ParcelNumber>, AppError> {
        self.check_series_owner(caller, owner).await?;
        if !(1..=ISSUE_COUNT_MAX).contains(&count) {
            return Err(relais_domain::value::ParseError::new("count", format!("is 1 to {ISSUE_COUNT_MAX}")).into());
        }
        let mut numbers = Vec::with_capacity(count as usize);
        for _ in 0..count {
            numbers.push(self.issue_number(owner, kind).await?);
        }
        Ok(numbers)
    }

    /// The next number of an owner's series, from this process's block or a new one.
    pub(crate) async fn issue_number(&self, owner: SeriesOwner, kind: &str) -> Result<ParcelNumber, AppError> {
        let series_id = owner.series_id(kind);
        loop {
            if let Some(number) = self.number_blocks.next(&series_id) {
                return Ok(number);
            }
            let block = self.take_block(owner, kind).await?;
            self.number_blocks.hold(series_id.clone(), block);
        }
    }

    /// A new block of the series, taken in a versioned write (another process taking one meanwhile:
    /// read again and take the next).
    async fn take_block(&self, owner: SeriesOwner, kind: &str) -> Result<Block, AppError> {
        self.run(|| async {
            let mut tx = self.tx();
            let stored = self.stored_series(owner, kind).await?;
            let series = parse(&stored)?;
            let (start, serials) = take(stored.next_serial, BLOCK_SERIALS, series.capacity());
            let since = tx.now - Duration::days(REUSE_AFTER_DAYS);
            let definition = series.definition();
            if self.store.recent_number_block(&definition, start, start + serials, since).await?.is_some() {
                // Another process may have just taken this very block: then read again and take the next.
                if self.stored_series(owner, kind).await?.version != stored.version {
                    return Err(Halt::Conflict);
                }
                return Err(AppError::NumbersExhausted { series: definition }.into());
            }
            tx.write(Write::Numbers(NumberWrite::TakeBlock {
                series_id: stored.id.clone(),
                version: stored.version,
                definition,
                start,
                serials,
                at: tx.now,
            }));
            Ok(tx.done(Block { series, next: start, end: start + serials }))
        })
        .await
    }

    async fn stored_series(&self, owner: SeriesOwner, kind: &str) -> Result<StoredSeries, AppError> {
        let kind = match kind {
            "sscc" => "sscc",
            "s10" => "s10",
            other => return Err(AppError::not_found("number series", other)),
        };
        self.store
            .number_series(&owner.series_id(kind))
            .await?
            .ok_or_else(|| AppError::NoNumberSeries { owner: owner.describe(), kind })
    }

    /// A merchant its own (another's is `not_found`), operators any; a network's, operators only. The
    /// owner must exist.
    async fn check_series_owner(&self, caller: &Caller, owner: SeriesOwner) -> Result<(), AppError> {
        match owner {
            SeriesOwner::Merchant(id) => {
                if caller.role == Role::Merchant {
                    if caller.merchant_id != Some(id) {
                        return Err(AppError::not_found("merchant", id));
                    }
                } else {
                    caller.require(Permission::ManageNetwork)?;
                }
                self.store.merchant(id).await?.ok_or_else(|| AppError::not_found("merchant", id))?;
            }
            SeriesOwner::Network(id) => {
                caller.require(Permission::ManageNetwork)?;
                self.store.network(id).await?.ok_or_else(|| AppError::not_found("network", id))?;
            }
        }
        Ok(())
    }
}

fn parse(stored: &StoredSeries) -> Result<Series, AppError> {
    Series::parse_definition(&stored.definition)
        .ok_or_else(|| AppError::Store(StoreError(format!("corrupt number series {}", stored.id))))
}

fn view(stored: &StoredSeries) -> Result<SeriesView, AppError> {
    let series = parse(stored)?;
    Ok(SeriesView {
        capacity: series.capacity(),
        series,
        next_serial: stored.next_serial,
        updated_at: stored.updated_at,
    })
}

//! The pickup-point registry's use cases: the live search index ([`index`]), imports of operators'
//! files ([`imports`]), search and the check of a chosen point ([`search`]), and a point's history.

pub mod imports;
pub mod index;
pub mod search;

use relais_domain::ids::PointId;

use crate::App;
use crate::auth::{Caller, Permission};
use crate::error::AppError;
use crate::ports::PointChange;

pub use imports::{ImportLimits, ImportOutcome, ImportProgress, ImportRequest};
pub use index::{PointRegistry, capacity_of};
pub use search::{Near, PointCheck, PointSearch, SearchResult};

impl App {
    /// A point's history (imports and changes through the API): operators and the point's own device.
    pub async fn point_history(&self, caller: &Caller, point_id: PointId) -> Result<Vec<PointChange>, AppError> {
        caller.require(Permission::ReadPointOperation(point_id))?;
        self.load_point(point_id).await?;
        Ok(self.store.point_changes(point_id).await?)
    }
}

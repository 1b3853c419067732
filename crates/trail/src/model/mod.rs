//! Domain types of CloudTrail: event-history lookups, and trails with their delivery
//! state (where each trail's log and digest chain stands).

mod lookup;
mod trail;

pub use lookup::*;
pub use trail::*;

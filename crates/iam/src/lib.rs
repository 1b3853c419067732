//! Identity and access: STS, IAM and Organizations, and the policy decisions every other
//! service's calls go through.

pub mod api;
pub mod engine;
pub mod error;
pub mod model;
pub mod provider;
pub mod store;

pub use engine::{Identity, Limits, Resolved};
pub use error::{Error, Result};

use std::sync::Arc;

/// The three wire services this crate serves, sharing one identity state.
pub fn services(identity: &Arc<Identity>) -> Vec<Arc<dyn sightline_wire::Service>> {
    vec![
        Arc::new(api::sts::Sts {
            identity: Arc::clone(identity),
        }),
        Arc::new(api::iam::Iam {
            identity: Arc::clone(identity),
        }),
        Arc::new(api::organizations::Organizations {
            identity: Arc::clone(identity),
        }),
    ]
}

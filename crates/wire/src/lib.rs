//! The AWS wire layer: SigV4, protocol detection, one codec per protocol, and the bridge
//! between typed operation shapes and the protocol-neutral [`Value`].

pub mod codec;
pub mod de;
pub mod error;
pub mod operation;
pub mod protocol;
pub mod ser;
pub mod service;
pub mod sigv4;
pub mod timestamp;
pub mod value;

pub use de::{DeError, from_value};
pub use error::{ApiError, ApiResult, CommonError};
pub use operation::{HttpRoute, OperationDef, ResourceCtx, ServiceDef, any_resource};
pub use protocol::{EncodeCtx, Protocol, WireRequest, WireResponse};
pub use ser::to_value;
pub use service::{CallContext, Permission, ResourcePolicy, ResourcePolicyKind, Service, typed};
pub use timestamp::{Blob, FlatList, FlatMap, Timestamp, WireMap};
pub use value::{Value, ValueMap};

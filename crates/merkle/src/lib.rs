//! The audit trail's transparency log: an RFC 6962 Merkle tree over audit records, with
//! inclusion and consistency proofs, and C2SP signed-note checkpoints (Ed25519) that
//! commit to a tree size and root. A verifier holding an old checkpoint can check that
//! the log only grew, and that a record is in it, without trusting the server. The log
//! lives on disk in a [`LogStore`], which serves the same proofs without loading it.

pub mod checkpoint;
pub mod store;
pub mod tree;

pub use checkpoint::{Checkpoint, Signer, Verifier};
pub use store::LogStore;
pub use tree::{Hash, Tree, leaf_hash, node_hash, verify_consistency, verify_inclusion};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("{0}")]
    Checkpoint(String),
    #[error("key: {0}")]
    Key(String),
    /// A log store's file operation failed, or its files are not what it wrote. A
    /// string rather than `std::io::Error` so the enum stays comparable.
    #[error("log store: {0}")]
    Io(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

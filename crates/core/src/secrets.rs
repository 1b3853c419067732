//! Sealing of a service's own secrets at rest (CloudTrail's digest signing keys) under
//! the server's master key, without the service depending on KMS.

use crate::Result;

pub trait SecretSealer: Send + Sync {
    /// Encrypts and authenticates `plain`, bound to `label` (what the secret is), so a
    /// sealed secret cannot be passed off as another.
    fn seal(&self, label: &str, plain: &[u8]) -> Result<Vec<u8>>;

    /// The plaintext of a value `seal` made with the same label.
    fn open(&self, label: &str, sealed: &[u8]) -> Result<Vec<u8>>;
}

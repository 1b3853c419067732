//! Where a verifier reads a trail's bucket from: the live endpoint (the binary's S3
//! client) or a copy on disk.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// An object as the verifier needs it: its bytes and its user metadata
/// (`x-amz-meta-*` names without the prefix).
pub struct Fetched {
    pub body: Vec<u8>,
    pub metadata: BTreeMap<String, String>,
}

#[async_trait::async_trait]
pub trait Source: Send + Sync {
    /// Every key under `prefix`, in key order.
    async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, String>;
    /// The object, or None when there is none at `key`.
    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Fetched>, String>;
}

/// A bucket copied to a directory: each object at `DIR/<key>`, its metadata (when it
/// has any) in `DIR/<key>.metadata.json` as a JSON object of names to values — the
/// `Metadata` member `aws s3api head-object` prints, or that whole output.
pub struct DirSource {
    pub root: PathBuf,
}

pub const METADATA_SUFFIX: &str = ".metadata.json";

impl DirSource {
    fn walk(&self, dir: &std::path::Path, out: &mut Vec<String>) -> std::io::Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for e in entries {
            let e = e?;
            let path = e.path();
            if e.file_type()?.is_dir() {
                self.walk(&path, out)?;
            } else if let Ok(rel) = path.strip_prefix(&self.root)
                && let Some(rel) = rel.to_str()
                && !rel.ends_with(METADATA_SUFFIX)
            {
                out.push(rel.replace(std::path::MAIN_SEPARATOR, "/"));
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Source for DirSource {
    async fn list(&self, _bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
        // Start from the deepest directory the prefix names.
        let dir = match prefix.rfind('/') {
            Some(i) => self.root.join(&prefix[..i]),
            None => self.root.clone(),
        };
        let mut out = Vec::new();
        self.walk(&dir, &mut out)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        out.retain(|k| k.starts_with(prefix));
        out.sort();
        Ok(out)
    }

    async fn get(&self, _bucket: &str, key: &str) -> Result<Option<Fetched>, String> {
        if key.split('/').any(|p| p == ".." || p.is_empty()) {
            return Ok(None);
        }
        let path = self.root.join(key);
        let body = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let meta_path = self.root.join(format!("{key}{METADATA_SUFFIX}"));
        let metadata = match std::fs::read(&meta_path) {
            Ok(m) => {
                let v: serde_json::Value = serde_json::from_slice(&m)
                    .map_err(|e| format!("{}: {e}", meta_path.display()))?;
                let map = v.get("Metadata").unwrap_or(&v);
                map.as_object()
                    .map(|o| {
                        o.iter()
                            .filter_map(|(k, v)| {
                                Some((k.to_ascii_lowercase(), v.as_str()?.to_owned()))
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            }
            Err(_) => BTreeMap::new(),
        };
        Ok(Some(Fetched { body, metadata }))
    }
}

//! Where segments live: behind `object_store`, a directory inside the data directory by
//! default, memory for tests, or any S3-compatible bucket.

use crate::{Error, Result};
use datafusion::execution::object_store::ObjectStoreUrl;
use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use std::sync::Arc;

#[derive(Clone)]
pub struct SegmentStore {
    pub store: Arc<dyn ObjectStore>,
    /// The URL DataFusion resolves the store by (`file://`, `memory://`).
    pub url: ObjectStoreUrl,
    /// Prefix of every object inside the store.
    pub root: String,
}

impl std::fmt::Debug for SegmentStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SegmentStore({}{})", self.url.as_str(), self.root)
    }
}

impl SegmentStore {
    /// A directory on the local file system.
    pub fn local(dir: &std::path::Path) -> Result<SegmentStore> {
        std::fs::create_dir_all(dir)?;
        let dir = std::fs::canonicalize(dir)?;
        let root = dir
            .to_str()
            .ok_or_else(|| Error::Config("segment directory is not UTF-8".into()))?;
        Ok(SegmentStore {
            store: Arc::new(object_store::local::LocalFileSystem::new()),
            url: ObjectStoreUrl::parse("file://").map_err(|e| Error::Config(e.to_string()))?,
            root: root.trim_start_matches('/').to_owned(),
        })
    }

    pub fn memory() -> SegmentStore {
        SegmentStore {
            store: Arc::new(object_store::memory::InMemory::new()),
            url: ObjectStoreUrl::parse("memory://")
                .unwrap_or_else(|_| ObjectStoreUrl::local_filesystem()),
            root: "segments".into(),
        }
    }

    /// `file:///abs/dir`, `memory://`; an `s3://bucket/prefix` URL needs a build with
    /// S3 support (see the README).
    pub fn from_url(url: &str, data_dir: &std::path::Path) -> Result<SegmentStore> {
        if url.is_empty() {
            return Self::local(&data_dir.join("lake").join("segments"));
        }
        if let Some(p) = url.strip_prefix("file://") {
            return Self::local(std::path::Path::new(p));
        }
        if url == "memory://" {
            return Ok(Self::memory());
        }
        Err(Error::Config(format!(
            "unsupported segment store URL '{url}' (file:// or memory://)"
        )))
    }

    pub fn object_path(&self, relative: &str) -> ObjectPath {
        if self.root.is_empty() {
            ObjectPath::from(relative)
        } else {
            ObjectPath::from(format!("{}/{relative}", self.root))
        }
    }

    /// The URL of an object, as DataFusion's listing tables take it.
    pub fn object_url(&self, relative: &str) -> String {
        format!("{}{}", self.url.as_str(), self.object_path(relative))
    }
}

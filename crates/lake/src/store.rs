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

    /// An S3-compatible bucket, `s3://bucket[/prefix]`, with credentials, region and
    /// endpoint from the usual `AWS_*` environment (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL`,
    /// `AWS_ALLOW_HTTP` for a plain-HTTP endpoint such as MinIO).
    pub fn s3(url: &str) -> Result<SegmentStore> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| Error::Config(format!("not an s3 URL: {url}")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(Error::Config(format!("no bucket in {url}")));
        }
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| Error::Config(format!("s3 store {url}: {e}")))?;
        Ok(SegmentStore {
            store: Arc::new(store),
            url: ObjectStoreUrl::parse(format!("s3://{bucket}"))
                .map_err(|e| Error::Config(e.to_string()))?,
            root: prefix.trim_matches('/').to_owned(),
        })
    }

    /// `file:///abs/dir`, `memory://`, `s3://bucket/prefix`; empty for the default
    /// directory inside the data directory.
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
        if url.starts_with("s3://") {
            return Self::s3(url);
        }
        Err(Error::Config(format!(
            "unsupported segment store URL '{url}' (file://, memory:// or s3://)"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let default = SegmentStore::from_url("", dir.path()).unwrap();
        assert_eq!(default.url.as_str(), "file:///");
        assert!(default.root.ends_with("lake/segments"), "{}", default.root);
        assert_eq!(
            SegmentStore::from_url("memory://", dir.path())
                .unwrap()
                .url
                .as_str(),
            "memory:///"
        );
        let s3 =
            SegmentStore::from_url("s3://audit-bucket/sightline/segments", dir.path()).unwrap();
        assert_eq!(
            (s3.url.as_str(), s3.root.as_str()),
            ("s3://audit-bucket/", "sightline/segments")
        );
        assert_eq!(
            s3.object_url("a/b.parquet"),
            "s3://audit-bucket/sightline/segments/a/b.parquet"
        );
        assert!(SegmentStore::from_url("s3://", dir.path()).is_err());
        assert!(SegmentStore::from_url("ftp://x", dir.path()).is_err());
    }
}

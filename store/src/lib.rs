//! Where a dataset lives: a local directory, or a prefix in S3 or an S3-compatible object store
//! (MinIO, Ceph RGW), and the object-store registry every process reads it through: the runner,
//! the scheduler (which lists the files when it plans) and the executors (which read them).
//!
//! S3 settings come from the environment, as AWS tools read them (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT` for a store that is not AWS,
//! `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint); on Kubernetes they come from a Secret.
//! Credentials never travel in a session's settings, so they are in no plan, job or result file.
//! A process without credentials in its environment refuses the bucket with one line rather than
//! fall back to the instance-metadata service.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use url::Url;

/// A dataset's location as `--data` names it: a directory, or `s3://bucket/prefix/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataLocation {
    Dir(PathBuf),
    /// Always ends in `/`.
    S3(Url),
}

impl DataLocation {
    /// `s3://bucket[/prefix]` or a directory path; any other `scheme://` is refused.
    pub fn parse(s: &str) -> Result<Self, String> {
        let Some((scheme, _)) = s.split_once("://") else {
            return Ok(Self::Dir(PathBuf::from(s)));
        };
        if scheme != "s3" {
            return Err(format!(
                "{s}: unsupported scheme {scheme}:// (a directory or s3://bucket/prefix)"
            ));
        }
        let mut url = Url::parse(s).map_err(|e| format!("{s}: {e}"))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("{s}: no bucket (s3://bucket/prefix)"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("{s}: no query or fragment in a dataset URL"));
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(Self::S3(url))
    }
}

impl fmt::Display for DataLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dir(d) => write!(f, "{}", d.display()),
            Self::S3(u) => write!(f, "{u}"),
        }
    }
}

/// Environment variables that give the AWS client its credentials; one must be set.
const CREDENTIAL_VARS: [&str; 4] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
];

/// DataFusion's registry (local files, and any store registered by hand), which builds an S3
/// store from the environment the first time a bucket is asked for and keeps it.
#[derive(Debug, Default)]
pub struct EnvObjectStores {
    inner: DefaultObjectStoreRegistry,
}

impl ObjectStoreRegistry for EnvObjectStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.inner.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> DfResult<Arc<dyn ObjectStore>> {
        self.inner.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> DfResult<Arc<dyn ObjectStore>> {
        match self.inner.get_store(url) {
            Err(_) if url.scheme() == "s3" => {
                let bucket = url.host_str().unwrap_or_default();
                // Without credentials in the environment the AWS client would ask the cloud's
                // instance-metadata address: never, from here.
                if !CREDENTIAL_VARS
                    .iter()
                    .any(|v| std::env::var_os(v).is_some())
                {
                    return Err(DataFusionError::Configuration(format!(
                        "S3 bucket {bucket}: no credentials in this process's environment \
                         (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a web-identity token \
                         file); instance metadata is never consulted"
                    )));
                }
                let store: Arc<dyn ObjectStore> = Arc::new(
                    AmazonS3Builder::from_env()
                        .with_bucket_name(bucket)
                        .build()
                        .map_err(|e| {
                            DataFusionError::Configuration(format!("S3 bucket {bucket}: {e}"))
                        })?,
                );
                let key = Url::parse(&format!("s3://{bucket}")).expect("an s3 URL parses");
                self.inner.register_store(&key, store.clone());
                Ok(store)
            }
            other => other,
        }
    }
}

/// The process's one registry: every session and task shares its stores (and their
/// connection pools).
pub fn registry() -> Arc<dyn ObjectStoreRegistry> {
    static REGISTRY: OnceLock<Arc<EnvObjectStores>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default).clone()
}

/// A runtime environment on [`registry`], from `builder` (which sets everything else).
pub fn runtime(builder: RuntimeEnvBuilder) -> DfResult<Arc<RuntimeEnv>> {
    builder.with_object_store_registry(registry()).build_arc()
}

/// The store for `url` and the key prefix in it (`logs` for `s3://bucket/logs/`).
pub fn open(url: &Url) -> DfResult<(Arc<dyn ObjectStore>, object_store::path::Path)> {
    let prefix = object_store::path::Path::from(url.path().trim_matches('/'));
    Ok((registry().get_store(url)?, prefix))
}

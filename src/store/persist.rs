//! Persistence (`--persist PATH`): every acknowledged write survives a crash.
//!
//! `PATH` is a [redb](https://www.redb.org) database (one file, mode 0600):
//! an embedded, crash-safe key/value store whose commits are atomic and
//! fsync'd. Its rows are the state in the export's own fixture records
//! (one row per tag, image, repository, namespace, plus the accounts), so
//! a persisted state loads through the same checks as a fixture.
//!
//! # Durability
//! A write changes the in-memory store under its lock and records the keys
//! it touched ([`crate::store::Changes`]). The
//! [`acknowledge`](crate::control::persist::acknowledge) middleware
//! holds the answer of every write request (any method but `GET`, `HEAD`,
//! `OPTIONS`) until the saver has committed every change recorded up to the
//! end of the handler: a 2xx means the write is on disk. If the commit
//! fails, the answer is a 500 saying so. The saver commits whatever is
//! pending in one transaction (group commit), on a blocking thread, under
//! one commit lock held from taking the changes to the commit, so commits
//! happen in the order of the changes; no lock is held across an `.await`.
//! Readers may see a write a few milliseconds before it is durable.
//!
//! # Secrets
//! Rows never hold a secret: tokens are kept as SHA-256 digests and access
//! keys without their secret key. At start, an AK takes its SK from the
//! fixtures; an AK that no fixture gives an SK is left out with a warning.
//!
//! # Start
//! The path must be a usable file: a directory, a missing or read-only
//! directory, or a file that is neither a state database nor JSON stops the
//! start (exit 1, naming the path and the reason). A JSON file (the state
//! format of earlier versions, as `GET /_mock/state` exports it) is loaded
//! and migrated: the database replaces it atomically.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redb::{Database, ReadableTable, TableDefinition};
use tokio::sync::{Notify, watch};

use crate::store::Store;
use crate::store::seed::{self, FixtureError, Secrets, SeedSettings, StoredRows, Table};

/// Persistence settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Persistence {
    /// The state database.
    pub path: PathBuf,
    /// Ignored: every write is saved before it is acknowledged. Kept so
    /// that existing `--persist-interval` command lines still work.
    pub interval: Option<Duration>,
}

/// Why the state database cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot use --persist {path}: {reason}")]
pub struct PersistError {
    /// The path given.
    pub path: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Why persistence could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpenError {
    /// The path is unusable.
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// The state it holds is invalid.
    #[error(transparent)]
    Fixture(#[from] FixtureError),
}

const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
const NAMESPACES: TableDefinition<&str, &str> = TableDefinition::new("namespaces");
const REPOS: TableDefinition<&str, &str> = TableDefinition::new("repos");
const TAGS: TableDefinition<&str, &str> = TableDefinition::new("tags");
const PROJECTS: TableDefinition<&str, &str> = TableDefinition::new("projects");
const IMAGES: TableDefinition<&str, &str> = TableDefinition::new("images");
/// The registry's blobs by digest.
const BLOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("registry_blobs");
/// The registry's links (what each repository may read) by repository, as JSON.
const LINKS: TableDefinition<&str, &str> = TableDefinition::new("registry_links");

/// Key of the layout version in `meta`.
const FORMAT_KEY: &str = "format";
/// The layout this version writes.
const FORMAT: &str = "ims-swr-mock state rows v1";

fn table(t: Table) -> TableDefinition<'static, &'static str, &'static str> {
    match t {
        Table::Meta => META,
        Table::Namespaces => NAMESPACES,
        Table::Repos => REPOS,
        Table::Tags => TAGS,
        Table::Projects => PROJECTS,
        Table::Images => IMAGES,
    }
}

/// A database error as text (redb's error type is large).
fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

const ALL_TABLES: [Table; 6] = [
    Table::Meta,
    Table::Namespaces,
    Table::Repos,
    Table::Tags,
    Table::Projects,
    Table::Images,
];

/// What the saver has done so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Status {
    /// Every change up to this number is on disk.
    pub durable: u64,
    /// The last failed commit: changes up to this number, and the error.
    pub failed: Option<(u64, String)>,
}

/// The open state database and the saver's progress.
pub(crate) struct Durable {
    db: Database,
    path: PathBuf,
    /// Held from taking the changes to their commit: commits follow the
    /// order of the changes.
    commit: Mutex<()>,
    status: watch::Sender<Status>,
    wake: Notify,
}

impl std::fmt::Debug for Durable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Durable")
            .field("path", &self.path)
            .field("status", &*self.status.borrow())
            .finish_non_exhaustive()
    }
}

/// Opens (creating it when missing) the state database at `path`. Returns
/// it and, when it (or an old JSON state file) holds a state, that state.
/// `fixtures` is the store the fixtures built: it gives the secret keys.
pub(crate) fn open(
    path: &Path,
    settings: &SeedSettings,
    fixtures: &Store,
) -> Result<(Durable, Option<crate::store::Inner>), OpenError> {
    let shown = path.display().to_string();
    let refuse = |reason: String| PersistError {
        path: shown.clone(),
        reason,
    };
    let secrets = Secrets {
        known: fixtures.secret_keys(),
        drop_unknown: true,
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(
                refuse("it is a directory; give a file path such as DIR/state.db".into()).into(),
            );
        }
        Ok(_) => {
            let mut head = [0u8; 64];
            let n = std::fs::File::open(path)
                .and_then(|mut f| f.read(&mut head))
                .map_err(|e| refuse(format!("cannot read it: {e}")))?;
            if head[..n]
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|b| *b == b'{')
            {
                return migrate(path, settings, &secrets).map_err(|e| match e {
                    OpenError::Persist(p) => OpenError::Persist(refuse(p.reason)),
                    other => other,
                });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(refuse(format!("cannot read it: {e}")).into()),
    }
    let db = create_private(path).map_err(refuse)?;
    let durable = Durable::new(db, path);
    let rows = durable
        .read_rows()
        .map_err(|e| refuse(format!("cannot read the state database: {e}")))?;
    let Some(rows) = rows else {
        return Ok((durable, None));
    };
    let inner = seed::build_rows(&shown, rows, settings, &secrets)?;
    Ok((durable, Some(inner)))
}

/// Creates (or opens) a database file readable by its owner only.
fn create_private(path: &Path) -> Result<Database, String> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map_err(|e| format!("cannot create or open it for writing: {e}"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot make it private (mode 0600): {e}"))?;
    }
    Database::create(path).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => {
            "another server (or process) has it open".to_owned()
        }
        e => format!("it is not a state database of ims-swr-mock, nor a JSON state file ({e})"),
    })
}

/// Loads an old JSON state file, writes it as a database beside it, and
/// renames the database over it (atomically: a crash leaves one or the other).
fn migrate(
    path: &Path,
    settings: &SeedSettings,
    secrets: &Secrets,
) -> Result<(Durable, Option<crate::store::Inner>), OpenError> {
    let source = [seed::FixtureSource::Path(path.to_owned())];
    let (inner, faults) = seed::build_with(&source, settings, secrets)?;
    if !faults.is_empty() {
        return Err(FixtureError {
            problems: vec![seed::Problem {
                file: path.display().to_string(),
                path: "$.faults".into(),
                message: "a persisted state holds data only".into(),
            }],
        }
        .into());
    }
    let persist_error = |reason: String| PersistError {
        path: path.display().to_string(),
        reason,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.migrating-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let store = Store::from_inner(inner);
    store.track_changes(true);
    let result = (|| {
        let db = create_private(&tmp)?;
        let durable = Durable::new(db, &tmp);
        durable.flush_now(&store).map_err(|(_, e)| e)?;
        drop(durable);
        std::fs::rename(&tmp, path).map_err(|e| format!("cannot replace it: {e}"))?;
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| format!("cannot sync its directory: {e}"))
    })();
    if let Err(reason) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(persist_error(format!("cannot migrate the JSON state file: {reason}")).into());
    }
    tracing::info!(
        path = %path.display(),
        "migrated the JSON state file to a state database"
    );
    let db = create_private(path).map_err(persist_error)?;
    let inner = store.take_inner();
    Ok((Durable::new(db, path), Some(inner)))
}

impl Durable {
    fn new(db: Database, path: &Path) -> Self {
        Self {
            db,
            path: path.to_owned(),
            commit: Mutex::new(()),
            status: watch::Sender::new(Status::default()),
            wake: Notify::new(),
        }
    }

    /// The rows of the database, or `None` when it holds no state yet.
    fn read_rows(&self) -> Result<Option<StoredRows>, String> {
        let txn = self.db.begin_read().map_err(text)?;
        let format = match txn.open_table(META) {
            Ok(meta) => meta
                .get(FORMAT_KEY)
                .map_err(text)?
                .map(|v| v.value().to_owned()),
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(e.to_string()),
        };
        let Some(format) = format else {
            return Ok(None);
        };
        if format != FORMAT {
            return Err(format!(
                "it holds the layout {format:?}; this version reads {FORMAT:?}"
            ));
        }
        let read = |def: TableDefinition<&str, &str>| -> Result<Vec<(String, String)>, String> {
            let t = match txn.open_table(def) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                Err(e) => return Err(e.to_string()),
            };
            let mut out = Vec::new();
            for row in t.iter().map_err(text)? {
                let (k, v) = row.map_err(text)?;
                out.push((k.value().to_owned(), v.value().to_owned()));
            }
            Ok(out)
        };
        Ok(Some(StoredRows {
            meta: read(META)?,
            namespaces: read(NAMESPACES)?,
            repos: read(REPOS)?,
            tags: read(TAGS)?,
            projects: read(PROJECTS)?,
            images: read(IMAGES)?,
        }))
    }

    /// Commits every change recorded so far, blocking (fsync included);
    /// returns the number of the last change now on disk. On failure the
    /// changes are kept for the next commit.
    pub(crate) fn flush_now(&self, store: &Store) -> Result<u64, (u64, String)> {
        let _order = self.commit.lock().unwrap_or_else(PoisonError::into_inner);
        let (seq, changes) = store.take_changes();
        let blob_changes = store.blobs().take_changes();
        if changes.is_none() && blob_changes.is_none() {
            return Ok(seq);
        }
        let rows = changes.as_ref().map(|c| store.rows(c));
        let blob_rows = blob_changes.as_ref().map(|c| store.blobs().rows(c));
        match self.write(rows, blob_rows) {
            Ok(()) => Ok(seq),
            Err(e) => {
                if let Some(changes) = changes {
                    store.restore_changes(changes);
                }
                if let Some(changes) = blob_changes {
                    store.blobs().restore_changes(changes);
                }
                Err((seq, e))
            }
        }
    }

    /// Loads the registry's saved blobs and links into `blobs`.
    pub(crate) fn load_blobs(&self, blobs: &crate::store::blobs::Blobs) -> Result<(), String> {
        let txn = self.db.begin_read().map_err(text)?;
        let mut data = Vec::new();
        match txn.open_table(BLOBS) {
            Ok(t) => {
                for row in t.iter().map_err(text)? {
                    let (k, v) = row.map_err(text)?;
                    data.push((
                        k.value().to_owned(),
                        bytes::Bytes::copy_from_slice(v.value()),
                    ));
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(e.to_string()),
        }
        let mut links = Vec::new();
        match txn.open_table(LINKS) {
            Ok(t) => {
                for row in t.iter().map_err(text)? {
                    let (k, v) = row.map_err(text)?;
                    links.push((k.value().to_owned(), v.value().to_owned()));
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(e.to_string()),
        }
        blobs.load(data, links)
    }

    fn write(
        &self,
        rows: Option<seed::Rows>,
        blob_rows: Option<crate::store::blobs::BlobRows>,
    ) -> Result<(), String> {
        let txn = self.db.begin_write().map_err(text)?;
        if let Some(b) = blob_rows {
            if b.clear {
                txn.delete_table(BLOBS).map_err(text)?;
                txn.delete_table(LINKS).map_err(text)?;
            }
            let mut blobs = txn.open_table(BLOBS).map_err(text)?;
            for (digest, data) in &b.put {
                blobs.insert(digest.as_str(), data.as_ref()).map_err(text)?;
            }
            for digest in &b.delete {
                blobs.remove(digest.as_str()).map_err(text)?;
            }
            let mut links = txn.open_table(LINKS).map_err(text)?;
            for (repo, json) in &b.links {
                match json {
                    Some(json) => links.insert(repo.as_str(), json.as_str()).map_err(text)?,
                    None => links.remove(repo.as_str()).map_err(text)?,
                };
            }
        }
        let Some(rows) = rows else {
            txn.commit().map_err(text)?;
            return Ok(());
        };
        if rows.clear {
            for t in ALL_TABLES {
                txn.delete_table(table(t)).map_err(text)?;
            }
        }
        {
            // In `ALL_TABLES` order, which is `Table`'s own.
            let mut tables = Vec::with_capacity(ALL_TABLES.len());
            for t in ALL_TABLES {
                tables.push(txn.open_table(table(t)).map_err(text)?);
            }
            for (t, key, value) in &rows.put {
                tables[*t as usize]
                    .insert(key.as_str(), value.as_str())
                    .map_err(text)?;
            }
            for (t, key) in &rows.delete {
                tables[*t as usize].remove(key.as_str()).map_err(text)?;
            }
            tables[Table::Meta as usize]
                .insert(FORMAT_KEY, FORMAT)
                .map_err(text)?;
        }
        txn.commit().map_err(text)?;
        Ok(())
    }

    /// [`Durable::flush_now`] on a blocking thread; publishes the outcome.
    async fn flush(self: &Arc<Self>, store: &Store) -> Result<(), String> {
        let (durable, store) = (self.clone(), store.clone());
        let outcome = tokio::task::spawn_blocking(move || durable.flush_now(&store))
            .await
            .unwrap_or_else(|e| Err((u64::MAX, format!("the state saver failed: {e}"))));
        self.publish(&outcome);
        outcome.map(|_| ()).map_err(|(_, e)| e)
    }

    fn publish(&self, outcome: &Result<u64, (u64, String)>) {
        self.status.send_modify(|status| match outcome {
            Ok(seq) => {
                status.durable = status.durable.max(*seq);
                if status.failed.as_ref().is_some_and(|(s, _)| *s <= *seq) {
                    status.failed = None;
                }
            }
            Err((seq, e)) => {
                tracing::error!(path = %self.path.display(), "cannot save the state: {e}");
                status.failed = Some((*seq, e.clone()));
            }
        });
    }

    /// Commits what is pending now, blocking (for the Rust API's writes,
    /// which have no answer to hold).
    pub(crate) fn sync(&self, store: &Store) -> Result<(), String> {
        let outcome = self.flush_now(store);
        self.publish(&outcome);
        outcome.map(|_| ()).map_err(|(_, e)| e)
    }

    /// Waits until every change up to `target` is on disk.
    pub(crate) async fn wait(&self, target: u64) -> Result<(), String> {
        let mut rx = self.status.subscribe();
        loop {
            {
                let status = rx.borrow_and_update();
                if status.durable >= target {
                    return Ok(());
                }
                if let Some((upto, e)) = &status.failed
                    && *upto >= target
                {
                    return Err(e.clone());
                }
            }
            self.wake.notify_one();
            if rx.changed().await.is_err() {
                return Err("the state saver stopped".into());
            }
        }
    }
}

/// The saver: commits pending changes whenever a write waits for them, until
/// `stop` fires; then commits what is left.
pub(crate) async fn run(
    durable: Arc<Durable>,
    store: Store,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    loop {
        tokio::select! {
            () = durable.wake.notified() => {
                let _ = durable.flush(&store).await;
            }
            _ = stop.changed() => break,
        }
    }
    durable.flush(&store).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::seed::{FixtureSource, load};

    fn settings() -> SeedSettings {
        SeedSettings {
            registry_host: "registry.example".into(),
        }
    }

    #[test]
    fn a_state_written_as_rows_loads_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let fixtures = load(&[FixtureSource::Default], &settings()).unwrap();
        let (durable, loaded) = open(&path, &settings(), &fixtures).unwrap();
        assert!(loaded.is_none(), "a new database holds no state");
        fixtures.track_changes(true);
        durable.flush_now(&fixtures).unwrap();
        fixtures
            .push_tag("team", "app", None, serde_json::json!({"tag": "v1"}))
            .unwrap();
        durable.flush_now(&fixtures).unwrap();
        drop(durable);
        let (_, loaded) = open(&path, &settings(), &fixtures).unwrap();
        let again = Store::from_inner(loaded.expect("a state"));
        assert_eq!(again.export(), fixtures.export());
        assert!(
            again.access_key("AKTEST").is_some(),
            "SKs come from the fixtures"
        );
    }
}

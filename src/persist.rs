//! Persistence (`--persist PATH`): the store survives restarts.
//!
//! At start, state in `PATH` (fixture JSON, as `GET /_mock/state` exports
//! it) replaces the fixtures' data. The state is written back atomically
//! (temporary file, fsync, rename, fsync of the directory) every
//! `--persist-interval` seconds when it changed, and once more on graceful
//! shutdown, after the last request finished. A crash can lose at most the
//! writes of the last interval; a torn file is impossible.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::store::Store;

/// Persistence settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persistence {
    /// The state file.
    pub path: PathBuf,
    /// How often to save changes; `None` saves only on shutdown.
    pub interval: Option<Duration>,
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, fsync, rename over `path`, fsync of the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        std::fs::File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Saves the store if it changed since `saved_generation`; returns the
/// generation now on disk.
pub fn save_if_changed(store: &Store, path: &Path, saved_generation: u64) -> std::io::Result<u64> {
    let generation = store.generation();
    if generation == saved_generation {
        return Ok(generation);
    }
    let mut bytes = serde_json::to_vec_pretty(&store.export()).unwrap_or_default();
    bytes.push(b'\n');
    write_atomically(path, &bytes)?;
    Ok(generation)
}

/// Saves every `interval` until `stop` fires; returns the generation on disk.
pub async fn run(
    store: Store,
    settings: Persistence,
    mut saved: u64,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> u64 {
    let Some(interval) = settings.interval else {
        let _ = stop.changed().await;
        return saved;
    };
    let mut ticker = tokio::time::interval(interval);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let (store, path) = (store.clone(), settings.path.clone());
                let result = tokio::task::spawn_blocking(move || save_if_changed(&store, &path, saved)).await;
                match result {
                    Ok(Ok(generation)) => saved = generation,
                    Ok(Err(e)) => tracing::error!(path = %settings.path.display(), "cannot save the state: {e}"),
                    Err(e) => tracing::error!("the state saver failed: {e}"),
                }
            }
            _ = stop.changed() => return saved,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_replace_the_file_whole_and_leave_no_temporaries() {
        let dir = tempfile_dir();
        let path = dir.join("state.json");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "ims-swr-mock-persist-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

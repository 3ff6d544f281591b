//! A spool-directory feed (`ideadb ingest --follow DIR`, `serve --follow DIR`), laid out as
//! Warden's filer and Mentat's daemons lay out their queues.
//!
//! Writers put a complete file in `DIR/tmp` and rename it into `DIR/incoming`. The feed claims
//! each by renaming it into `DIR/pending` (a rename is atomic, so two feeds never take the same
//! file), stores its messages, and only then removes it, or moves it into `DIR/done` when asked
//! to keep it. A file with a message that is refused goes to `DIR/errors`, with a `.reason`
//! file beside it naming each refused message and why; its other messages are stored.
//!
//! After a crash, what is in `pending` was claimed but perhaps not stored: it is processed
//! first, and since an ID is never stored twice, nothing is lost or duplicated. The feed waits
//! for the kernel's word that `incoming` changed (inotify, through `notify`), with a rescan now
//! and then for anything a full event queue dropped, so it never polls busily. A stop request
//! (SIGTERM) lets the round in progress finish.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use notify::Watcher;
use tokio::sync::{mpsc, watch};

use super::accept;
use super::batches::{self, Message, Outcome};
use super::reader::{self, Origin};
use crate::storage::{self, EventStore, BATCH_SIZE};

/// The queue's directories, as Warden's filer names them.
const TMP: &str = "tmp";
const INCOMING: &str = "incoming";
const PENDING: &str = "pending";
const DONE: &str = "done";
const ERRORS: &str = "errors";
/// A file larger than this is refused unread.
const MAX_FILE_BYTES: u64 = 64 << 20;
/// Files claimed per round: a round's messages are stored in batches, then its files leave.
const FILES_PER_ROUND: usize = BATCH_SIZE;
/// A rescan of `incoming` when no event came, for files an overflowing watch queue dropped.
const RESCAN: Duration = Duration::from_secs(10);
/// The wait before storing again after the database could not be reached.
const RETRY: Duration = Duration::from_secs(5);

/// What a feed did until it stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub files: u64,
    pub stored: u64,
    pub duplicates: u64,
    /// Files moved to `errors`.
    pub refused_files: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool directory {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot watch {path}: {source}")]
    Watch { path: PathBuf, source: notify::Error },
    #[error(transparent)]
    Storage(#[from] storage::Error),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io { path: path.to_path_buf(), source }
}

/// A spool directory and how its stored files are disposed of.
#[derive(Debug, Clone)]
pub struct Spool {
    root: PathBuf,
    keep: bool,
    keep_storage_time: bool,
}

/// One claimed file: its messages, and why others of it were refused.
struct Claimed {
    path: PathBuf,
    refused: Vec<String>,
}

impl Spool {
    /// The queue at `root`, its directories created when missing. `keep` moves stored files
    /// into `done` instead of removing them.
    pub fn open(root: &Path, keep: bool, keep_storage_time: bool) -> Result<Self, SpoolError> {
        for dir in [TMP, INCOMING, PENDING, ERRORS].into_iter().chain(keep.then_some(DONE)) {
            let path = root.join(dir);
            std::fs::create_dir_all(&path).map_err(io_at(&path))?;
        }
        Ok(Self { root: root.to_path_buf(), keep, keep_storage_time })
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Feeds the store until `stop` turns true; fails only on a fault other than the database
    /// being away (which is waited out) or on the spool directory itself.
    pub async fn run(&self, store: &EventStore, mut stop: watch::Receiver<bool>) -> Result<Totals, SpoolError> {
        let (tx, mut changed) = mpsc::channel::<()>(1);
        let incoming = self.dir(INCOMING);
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // Only a file arriving wakes the feed: listing the directory is an access event
            // itself, and waking on it would list again at once, for ever. An error wakes it
            // too, for a rescan. One pending wake-up is enough: a round takes every file.
            if event.map_or(true, |e| arrival(&e.kind)) {
                let _ = tx.try_send(());
            }
        })
        .map_err(|source| SpoolError::Watch { path: incoming.clone(), source })?;
        watcher
            .watch(&incoming, notify::RecursiveMode::NonRecursive)
            .map_err(|source| SpoolError::Watch { path: incoming.clone(), source })?;
        let mut totals = Totals::default();
        while !*stop.borrow() {
            self.claim()?;
            let files = self.list(PENDING)?;
            if files.is_empty() {
                tokio::select! {
                    _ = changed.recv() => {}
                    _ = tokio::time::sleep(RESCAN) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            match self.store_files(store, files, &mut totals).await {
                Ok(()) => {}
                Err(SpoolError::Storage(e)) if is_transient(&e) => {
                    tracing::warn!(error = %e, "spool: the database is unavailable; the claimed files wait in pending");
                    tokio::select! {
                        _ = tokio::time::sleep(RETRY) => {}
                        _ = stop.changed() => {}
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(totals)
    }

    /// Moves up to a round's worth of files from `incoming` into `pending`, oldest name first.
    fn claim(&self) -> Result<(), SpoolError> {
        let room = FILES_PER_ROUND.saturating_sub(self.list(PENDING)?.len());
        for path in self.list(INCOMING)?.into_iter().take(room) {
            let to = self.dir(PENDING).join(path.file_name().unwrap_or_default());
            match std::fs::rename(&path, &to) {
                // Another feed claimed it first.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                other => other.map_err(io_at(&path))?,
            }
        }
        Ok(())
    }

    /// The regular files of a queue directory, by name, at most a round's worth.
    fn list(&self, name: &str) -> Result<Vec<PathBuf>, SpoolError> {
        let dir = self.dir(name);
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(io_at(&dir))? {
            let entry = entry.map_err(io_at(&dir))?;
            if entry.file_type().map_err(io_at(&dir))?.is_file() {
                files.push(entry.path());
            }
        }
        files.sort();
        files.truncate(FILES_PER_ROUND);
        Ok(files)
    }

    /// Stores the messages of these claimed files, read one file at a time, then disposes of
    /// each file.
    async fn store_files(
        &self,
        store: &EventStore,
        files: Vec<PathBuf>,
        totals: &mut Totals,
    ) -> Result<(), SpoolError> {
        let mut refused: Vec<Vec<String>> = vec![Vec::new(); files.len()];
        // Owned paths: a stream over borrowed ones makes the feed's future not `Send`.
        let messages = futures_util::stream::iter(files.clone().into_iter().enumerate()).flat_map(|(i, path)| {
            futures_util::stream::iter(self.read(&path).into_iter().map(move |(o, m)| ((i, o), m)))
        });
        batches::store(store, messages, BATCH_SIZE, 1, |(i, origin), outcome| match outcome {
            Outcome::Stored => totals.stored += 1,
            Outcome::Duplicate => totals.duplicates += 1,
            Outcome::Refused(reason) => refused[i].push(format!("{origin}: {reason}")),
        })
        .await?;
        for (path, refused) in files.into_iter().zip(refused) {
            totals.files += 1;
            totals.refused_files += u64::from(!refused.is_empty());
            self.dispose(Claimed { path, refused })?;
        }
        Ok(())
    }

    /// The file's messages; a file that cannot be read, or holds none, is one refused message.
    fn read(&self, path: &Path) -> Vec<Message<Origin>> {
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let whole = Origin { file: name.clone(), at: reader::Locator::File };
        let data = match std::fs::metadata(path).and_then(|m| {
            if m.len() > MAX_FILE_BYTES {
                Err(io::Error::other(format!("{} bytes, more than {MAX_FILE_BYTES}", m.len())))
            } else {
                std::fs::read(path)
            }
        }) {
            Ok(d) => d,
            Err(e) => return vec![(whole, Err(format!("cannot be read: {e}")))],
        };
        let mut messages = Vec::new();
        reader::read_from(&name, data.as_slice(), &mut |(origin, item): (Origin, Result<Vec<u8>, String>)| {
            let item = item.and_then(|raw| accept(raw, self.keep_storage_time).map_err(|(_, e)| e.to_string()));
            messages.push((origin, item));
        });
        if messages.is_empty() {
            messages.push((whole, Err("holds no message".into())));
        }
        messages
    }

    /// Removes a stored file, or keeps it in `done`; a file with refused messages goes to
    /// `errors`, its reasons written first so that neither is ever there without the other.
    fn dispose(&self, c: Claimed) -> Result<(), SpoolError> {
        let name = c.path.file_name().unwrap_or_default().to_os_string();
        if !c.refused.is_empty() {
            let mut reason_name = name.clone();
            reason_name.push(".reason");
            let reason = self.dir(ERRORS).join(reason_name);
            std::fs::write(&reason, c.refused.join("\n") + "\n").map_err(io_at(&reason))?;
            tracing::warn!(file = ?name, refused = c.refused.len(), "spool: a file with refused messages moved to errors");
            let to = self.dir(ERRORS).join(&name);
            return std::fs::rename(&c.path, &to).map_err(io_at(&c.path));
        }
        if self.keep {
            return std::fs::rename(&c.path, self.dir(DONE).join(&name)).map_err(io_at(&c.path));
        }
        std::fs::remove_file(&c.path).map_err(io_at(&c.path))
    }
}

/// A file created in, or renamed into, the watched directory.
fn arrival(kind: &notify::EventKind) -> bool {
    use notify::event::{EventKind, ModifyKind};
    matches!(kind, EventKind::Create(_) | EventKind::Modify(ModifyKind::Name(_)) | EventKind::Other)
}

/// A fault that passes: the database away, or a statement cut off.
fn is_transient(e: &storage::Error) -> bool {
    matches!(e, storage::Error::Connection(_) | storage::Error::NodeUnavailable(_) | storage::Error::Timeout)
}

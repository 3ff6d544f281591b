//! The message bytes as stored in `events_json.event`: the bytes received, compressed as a
//! zstd frame with a dictionary trained on this database's own messages. The messages of a
//! feed share most of their text, so with a dictionary a message shrinks about five-fold;
//! without one zstd gains little on a kilobyte.
//!
//! - Until a dictionary exists, messages are stored as received. Such a value stays readable:
//!   a stored value that does not start with zstd's magic number is the message itself (JSON
//!   never starts with that byte).
//! - A writer with no dictionary keeps the first [`TRAIN_SAMPLES`] messages it stores, trains
//!   a dictionary on them and stores it in `message_dicts`; from then on it compresses with
//!   it. A server starting later uses the newest stored one.
//! - A frame names its dictionary, and dictionaries are only ever added, so reading needs no
//!   other column and never guesses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::OnceCell;
use zstd::dict::{DecoderDictionary, EncoderDictionary};

use super::{with_client, Error, EventStore, Result, StoredEvent};

const MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Messages a dictionary is trained on: about 3 MB, a hundred times the dictionary.
const TRAIN_SAMPLES: usize = 4000;
const DICT_SIZE: usize = 32 * 1024;
const LEVEL: i32 = 3;
/// The largest message a frame may claim to hold, so a corrupt row cannot ask for gigabytes.
const MAX_MESSAGE: u64 = 256 << 20;

/// A dictionary to compress with.
pub(crate) struct Encoder {
    dict: EncoderDictionary<'static>,
}

impl Encoder {
    fn new(bytes: &[u8]) -> Self {
        Self { dict: EncoderDictionary::copy(bytes, LEVEL) }
    }

    /// A compressor for one batch (a compressor is not shared between threads).
    pub fn compressor(&self) -> Result<zstd::bulk::Compressor<'_>> {
        zstd::bulk::Compressor::with_prepared_dictionary(&self.dict).map_err(|e| Error::Other(e.to_string()))
    }
}

/// The dictionaries of one store, shared by its connections.
#[derive(Default)]
pub(crate) struct Codec {
    /// The dictionary new messages are compressed with, looked up once.
    current: OnceCell<RwLock<Option<Arc<Encoder>>>>,
    decoders: RwLock<HashMap<u32, Arc<DecoderDictionary<'static>>>>,
    samples: Mutex<Vec<Vec<u8>>>,
}

/// The dictionary a stored value was compressed with; None for a value stored as received.
fn dict_of(stored: &[u8]) -> Option<u32> {
    stored.starts_with(&MAGIC).then(|| zstd::zstd_safe::get_dict_id_from_frame(stored).map_or(0, |id| id.get()))
}

/// Compresses `raw` (one message) for storage.
pub(crate) fn compress(c: &mut zstd::bulk::Compressor<'_>, raw: &[u8]) -> Result<Vec<u8>> {
    c.compress(raw).map_err(|e| Error::Other(format!("cannot compress a message: {e}")))
}

impl Codec {
    fn decode(&self, stored: Vec<u8>) -> std::result::Result<Vec<u8>, String> {
        let Some(id) = dict_of(&stored) else { return Ok(stored) };
        let size = match zstd::zstd_safe::get_frame_content_size(&stored) {
            Ok(Some(n)) if n <= MAX_MESSAGE => n as usize,
            _ => return Err("its frame has no valid size".into()),
        };
        let decoders = self.decoders.read().expect("not poisoned");
        let mut d = match id {
            0 => zstd::bulk::Decompressor::new(),
            id => match decoders.get(&id) {
                Some(dict) => zstd::bulk::Decompressor::with_prepared_dictionary(dict),
                None => return Err(format!("its dictionary {id} is not stored")),
            },
        }
        .map_err(|e| e.to_string())?;
        d.decompress(&stored, size).map_err(|e| e.to_string())
    }

    fn add_decoder(&self, id: u32, bytes: &[u8]) {
        self.decoders
            .write()
            .expect("not poisoned")
            .entry(id)
            .or_insert_with(|| Arc::new(DecoderDictionary::copy(bytes)));
    }

    fn missing(&self, events: &[StoredEvent]) -> Vec<i64> {
        let known = self.decoders.read().expect("not poisoned");
        let mut ids: Vec<i64> = events
            .iter()
            .filter_map(|e| dict_of(&e.raw))
            .filter(|id| *id != 0 && !known.contains_key(id))
            .map(i64::from)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Keeps copies of messages until there are enough to train on; then hands them over.
    fn sample(&self, raws: &[&[u8]]) -> Option<Vec<Vec<u8>>> {
        let mut samples = self.samples.lock().expect("not poisoned");
        let room = TRAIN_SAMPLES.saturating_sub(samples.len());
        samples.extend(raws.iter().take(room).map(|r| r.to_vec()));
        (samples.len() >= TRAIN_SAMPLES).then(|| std::mem::take(&mut *samples))
    }
}

/// A dictionary trained on `samples`, with its ID.
fn train(samples: &[Vec<u8>]) -> Result<(u32, Vec<u8>)> {
    let dict = zstd::dict::from_samples(samples, DICT_SIZE).map_err(|e| Error::Other(format!("training: {e}")))?;
    let id = zstd::zstd_safe::get_dict_id_from_dict(&dict)
        .ok_or_else(|| Error::Other("the trained dictionary has no ID".into()))?;
    Ok((id.get(), dict))
}

impl EventStore {
    /// The dictionary to compress `batch` with, training one first when this store has seen
    /// enough messages and the database has none.
    pub(crate) async fn message_encoder(&self, batch: &[&[u8]]) -> Result<Option<Arc<Encoder>>> {
        let current = self
            .codec
            .current
            .get_or_try_init(|| async {
                let sql = "SELECT id, dict FROM message_dicts ORDER BY created DESC, id LIMIT 1";
                let row = with_client!(self, |c| c.query_opt(sql, &[]))?;
                Ok::<_, Error>(RwLock::new(row.map(|r| {
                    let bytes: Vec<u8> = r.get(1);
                    self.codec.add_decoder(r.get::<_, i64>(0) as u32, &bytes);
                    Arc::new(Encoder::new(&bytes))
                })))
            })
            .await?;
        if let Some(e) = current.read().expect("not poisoned").clone() {
            return Ok(Some(e));
        }
        let Some(samples) = self.codec.sample(batch) else { return Ok(None) };
        // Messages too alike or too few to learn from are no reason to refuse them: they are
        // stored as received, and the next messages are sampled again.
        let (id, dict) = match tokio::task::spawn_blocking(move || train(&samples)).await {
            Ok(Ok(trained)) => trained,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "no dictionary could be trained; messages are stored uncompressed");
                return Ok(None);
            }
            Err(e) => return Err(Error::Other(e.to_string())),
        };
        let sql = "INSERT INTO message_dicts (id, dict) VALUES ($1, $2) ON CONFLICT DO NOTHING";
        with_client!(self, |c| c.execute(sql, &[&i64::from(id), &dict]))?;
        tracing::info!(id, bytes = dict.len(), "trained a dictionary for the stored messages");
        self.codec.add_decoder(id, &dict);
        let encoder = Arc::new(Encoder::new(&dict));
        *current.write().expect("not poisoned") = Some(encoder.clone());
        Ok(Some(encoder))
    }

    /// Stored events with their messages as received.
    pub(crate) async fn decode_stored(&self, mut events: Vec<StoredEvent>) -> Result<Vec<StoredEvent>> {
        let missing = self.codec.missing(&events);
        if !missing.is_empty() {
            let sql = "SELECT id, dict FROM message_dicts WHERE id = ANY($1)";
            for r in with_client!(self, |c| c.query(sql, &[&missing]))? {
                self.codec.add_decoder(r.get::<_, i64>(0) as u32, r.get(1));
            }
        }
        for e in &mut events {
            let stored = std::mem::take(&mut e.raw);
            e.raw = self
                .codec
                .decode(stored)
                .map_err(|why| Error::Corrupt(format!("stored event {} cannot be read: {why}", e.id)))?;
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_comes_back_byte_for_byte_and_a_plain_one_as_it_is() {
        let samples: Vec<Vec<u8>> = (0..500)
            .map(|i| format!(r#"{{"Format": "IDEA0", "ID": "{i:08}", "Category": ["Recon.Scanning"], "Source": [{{"IP4": ["192.0.2.{}"]}}]}}"#, i % 250).into_bytes())
            .collect();
        let (id, dict) = train(&samples).unwrap();
        let codec = Codec::default();
        codec.add_decoder(id, &dict);
        let enc = Encoder::new(&dict);
        let mut c = enc.compressor().unwrap();
        let raw = br#"{"Format": "IDEA0", "ID": "x", "Note": "\u0000 and \u00e9"}"#.to_vec();
        let stored = compress(&mut c, &raw).unwrap();
        assert_eq!(dict_of(&stored), Some(id));
        assert_eq!(codec.decode(stored).unwrap(), raw);
        assert_eq!(codec.decode(raw.clone()).unwrap(), raw);
        let unknown = Codec::default();
        let e = unknown.decode(compress(&mut c, &raw).unwrap()).unwrap_err();
        assert!(e.contains("dictionary"), "{e}");
        let mut corrupt = compress(&mut c, &raw).unwrap();
        corrupt.truncate(8);
        assert!(codec.decode(corrupt).is_err());
    }
}

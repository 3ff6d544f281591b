//! Every match of a search, read through a server-side cursor a chunk at a time, so memory
//! stays flat however many events match.
//!
//! The cursor lives in a read-only REPEATABLE READ transaction: the export is one consistent
//! snapshot, and the statement timeout applies to each FETCH rather than to the whole export.

use std::time::Duration;

use sea_query::PostgresQueryBuilder;
use sea_query_postgres::PostgresBinder;
use tokio::sync::mpsc;

use super::events::stored;
use super::params::{QueryKind, SearchParams};
use super::{Error, EventStore, Result, StoredEvent};

/// Chunks of matching events, in the search's order; an error ends the stream.
pub type EventChunks = mpsc::Receiver<Result<Vec<StoredEvent>>>;

impl EventStore {
    /// Opens the cursor (errors in the query or the connection are returned here) and then
    /// reads it in the background, `chunk` rows at a time, as fast as the receiver takes them.
    /// Dropping the receiver stops the reading and ends the transaction, and so does a
    /// receiver that takes no chunk for `stall`: a connection is never held by a reader that
    /// has stopped reading.
    pub async fn export_events(&self, params: &SearchParams, chunk: u32, stall: Duration) -> Result<EventChunks> {
        let params = SearchParams { page: 1, ..params.clone() };
        let pruning = self.pruning(&params).await?;
        let (sql, values) = params
            .select_pruned(QueryKind::Select, &pruning, self.flavour().await?)
            .build_postgres(PostgresQueryBuilder);
        let fetch = format!("FETCH {} FROM export", chunk.max(1));
        let client = self.client().await?;
        let opened = async {
            client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?;
            client.execute(format!("DECLARE export NO SCROLL CURSOR FOR {sql}").as_str(), &values.as_params()).await?;
            client.query(fetch.as_str(), &[]).await
        }
        .await;
        let first = match opened {
            Ok(rows) => rows,
            Err(e) => {
                // The connection goes back to the pool: it must not stay in the transaction.
                let _ = client.batch_execute("ROLLBACK").await;
                return Err(Error::from(e));
            }
        };
        let (tx, rx) = mpsc::channel(2);
        let store = self.clone();
        tokio::spawn(async move {
            let mut rows = first;
            loop {
                let done = rows.len() < chunk as usize;
                if !rows.is_empty() {
                    let chunk = store.decode_stored(rows.iter().map(stored).collect()).await;
                    match tokio::time::timeout(stall, tx.send(chunk)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break,
                        Err(_) => {
                            tracing::warn!(?stall, "export stopped: its reader took nothing for too long");
                            break;
                        }
                    }
                }
                if done {
                    break;
                }
                match client.query(fetch.as_str(), &[]).await {
                    Ok(next) => rows = next,
                    Err(e) => {
                        let _ = tx.send(Err(Error::from(e))).await;
                        break;
                    }
                }
            }
            if let Err(e) = client.batch_execute("ROLLBACK").await {
                tracing::warn!(error = %e, "ending an export's transaction failed");
            }
        });
        Ok(rx)
    }
}

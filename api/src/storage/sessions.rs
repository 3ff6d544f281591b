//! Login sessions (`sessions`) and the key that signs their tokens (`token_key`).

use chrono::NaiveDateTime;
use uuid::Uuid;

use super::users::{record, COLUMNS};
use super::{with_client, EventStore, Result, UserRecord};

impl EventStore {
    /// The token signing key, made from `fresh` by the first server to ask.
    pub async fn token_key(&self, fresh: &[u8]) -> Result<Vec<u8>> {
        let sql =
            "WITH i AS (INSERT INTO token_key (secret) VALUES ($1) ON CONFLICT (id) DO NOTHING RETURNING secret) \
                   SELECT secret FROM i UNION ALL SELECT secret FROM token_key";
        let row = with_client!(self, |c| c.query_one(sql, &[&fresh]))?;
        Ok(row.get(0))
    }

    /// Opens a session for an account (and drops the expired ones of every account).
    pub async fn session_create(&self, jti: Uuid, user_id: i32, expires: NaiveDateTime) -> Result<()> {
        let jti = jti.to_string();
        with_client!(self, |c| async {
            c.execute("DELETE FROM sessions WHERE expires < now() AT TIME ZONE 'UTC'", &[]).await?;
            c.execute(
                "INSERT INTO sessions (jti, user_id, expires) VALUES ($1::text::uuid, $2, $3)",
                &[&jti, &user_id, &expires],
            )
            .await
        })?;
        Ok(())
    }

    /// The account of a live session.
    pub async fn session_user(&self, jti: Uuid) -> Result<Option<UserRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.jti = $1::text::uuid AND s.expires > now() AT TIME ZONE 'UTC'"
        );
        let jti = jti.to_string();
        // Every request of a logged-in user runs this: prepared, it saves a round trip.
        let row = with_client!(self, |c| async {
            let stmt = c.prepare_cached(&sql).await?;
            c.query_opt(&stmt, &[&jti]).await
        })?;
        Ok(row.as_ref().map(record))
    }

    /// Ends a session; false when it was not open.
    pub async fn session_delete(&self, jti: Uuid) -> Result<bool> {
        let jti = jti.to_string();
        Ok(with_client!(self, |c| c.execute("DELETE FROM sessions WHERE jti = $1::text::uuid", &[&jti]))? > 0)
    }
}

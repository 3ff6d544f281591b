//! Accounts and API keys (`users`, `api_keys`). Only hashes are ever stored or read.

use chrono::NaiveDateTime;
use tokio_postgres::Row;

use super::{with_client, EnumColumn, Error, EventStore, Result};

/// What may be shown of an API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: i32,
    /// The key's first characters (None for keys made before they were kept).
    pub prefix: Option<String>,
    pub created: NaiveDateTime,
    pub last_used: Option<NaiveDateTime>,
}

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i32,
    pub login: String,
    /// argon2id PHC string; None for accounts that use API keys only.
    pub password_hash: Option<String>,
    pub roles: Vec<String>,
    pub enabled: bool,
    pub created: NaiveDateTime,
    pub api_keys: i64,
    /// Abuse groups: which TLP-restricted events the account sees.
    pub groups: Vec<String>,
}

pub(super) const COLUMNS: &str = "u.id, u.login, u.password_hash, u.roles, u.enabled, u.created, \
                       (SELECT count(*) FROM api_keys k WHERE k.user_id = u.id), u.groups";

pub(super) fn record(r: &Row) -> UserRecord {
    UserRecord {
        id: r.get(0),
        login: r.get(1),
        password_hash: r.get(2),
        roles: r.get(3),
        enabled: r.get(4),
        created: r.get(5),
        api_keys: r.get(6),
        groups: r.get(7),
    }
}

impl EventStore {
    /// Creates an account; an existing login is [`Error::Integrity`].
    pub async fn user_create(&self, login: &str, roles: &[&str], password_hash: Option<&str>) -> Result<UserRecord> {
        let sql = format!(
            "WITH u AS (INSERT INTO users (login, roles, password_hash) VALUES ($1, $2, $3) RETURNING *) SELECT {COLUMNS} FROM u"
        );
        let row = with_client!(self, |c| c.query_one(sql.as_str(), &[&login, &roles, &password_hash])).map_err(
            |e| match e {
                Error::Integrity(_) => Error::Integrity(format!("an account with login {login} already exists")),
                other => other,
            },
        )?;
        Ok(record(&row))
    }

    pub async fn user_by_login(&self, login: &str) -> Result<Option<UserRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM users u WHERE u.login = $1");
        Ok(with_client!(self, |c| c.query_opt(sql.as_str(), &[&login]))?.as_ref().map(record))
    }

    pub async fn users(&self) -> Result<Vec<UserRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM users u ORDER BY u.login");
        Ok(with_client!(self, |c| c.query(sql.as_str(), &[]))?.iter().map(record).collect())
    }

    /// Enables or disables an account; false when there is no such login. Disabling ends
    /// the account's login sessions.
    pub async fn user_set_enabled(&self, login: &str, enabled: bool) -> Result<bool> {
        self.user_update_ending_sessions(login, "UPDATE users SET enabled = $2 WHERE login = $1", &enabled, !enabled)
            .await
    }

    /// Replaces the password hash and ends the account's login sessions; false when there is
    /// no such login.
    pub async fn user_set_password(&self, login: &str, hash: &str) -> Result<bool> {
        self.user_update_ending_sessions(login, "UPDATE users SET password_hash = $2 WHERE login = $1", &hash, true)
            .await
    }

    /// Runs `update` (with the login and `value`), and when `end_sessions`, deletes the
    /// account's sessions in the same transaction.
    async fn user_update_ending_sessions(
        &self,
        login: &str,
        update: &str,
        value: &(dyn tokio_postgres::types::ToSql + Sync),
        end_sessions: bool,
    ) -> Result<bool> {
        let found = with_client!(self, |c| async {
            let tx = c.transaction().await?;
            let n = tx.execute(update, &[&login, value]).await?;
            if end_sessions {
                tx.execute("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE login = $1)", &[&login])
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, tokio_postgres::Error>(n > 0)
        })?;
        Ok(found)
    }

    /// Sets the account's abuse groups; false when there is no such login. They apply from
    /// the account's next request (every request reads its account).
    pub async fn user_set_groups(&self, login: &str, groups: &[String]) -> Result<bool> {
        let sql = "UPDATE users SET groups = $2 WHERE login = $1";
        Ok(with_client!(self, |c| c.execute(sql, &[&login, &groups]))? > 0)
    }

    /// Registers an abuse group before any event names it; false when it already was.
    pub async fn group_register(&self, name: &str) -> Result<bool> {
        let sql = "INSERT INTO abuse_groups (name) VALUES ($1) ON CONFLICT DO NOTHING";
        Ok(with_client!(self, |c| c.execute(sql, &[&name]))? > 0)
    }

    /// Every abuse group known: registered, or named by a stored event (as a source's or a
    /// target's), sorted.
    pub async fn groups_known(&self) -> Result<Vec<String>> {
        let mut all = std::collections::BTreeSet::new();
        all.extend(self.distinct_values(EnumColumn::ResolvedAbuses).await?);
        all.extend(self.distinct_values(EnumColumn::TargetAbuses).await?);
        let rows = with_client!(self, |c| c.query("SELECT name FROM abuse_groups", &[]))?;
        all.extend(rows.iter().map(|r| r.get::<_, String>(0)));
        Ok(all.into_iter().collect())
    }

    /// Stores the hash of a new API key for an account, with the key's first characters.
    pub async fn api_key_add(&self, user_id: i32, key_hash: &[u8], prefix: &str) -> Result<()> {
        let sql = "INSERT INTO api_keys (user_id, key_hash, prefix) VALUES ($1, $2, $3)";
        with_client!(self, |c| c.execute(sql, &[&user_id, &key_hash, &prefix]))?;
        Ok(())
    }

    /// The API keys of an account, oldest first.
    pub async fn api_keys_of(&self, login: &str) -> Result<Vec<ApiKeyRecord>> {
        let sql = "SELECT k.id, k.prefix, k.created, k.last_used FROM api_keys k JOIN users u ON u.id = k.user_id \
                   WHERE u.login = $1 ORDER BY k.created, k.id";
        let rows = with_client!(self, |c| c.query(sql, &[&login]))?;
        Ok(rows
            .iter()
            .map(|r| ApiKeyRecord { id: r.get(0), prefix: r.get(1), created: r.get(2), last_used: r.get(3) })
            .collect())
    }

    /// Deletes the account's key named `name` (its prefix, or `#` and its number); the
    /// number of keys that name matched (only a single match is deleted).
    pub async fn api_key_revoke(&self, login: &str, name: &str) -> Result<usize> {
        let number: Option<i32> = name.strip_prefix('#').and_then(|n| n.parse().ok());
        let keys = self.api_keys_of(login).await?;
        let matching: Vec<i32> =
            keys.iter().filter(|k| Some(k.id) == number || k.prefix.as_deref() == Some(name)).map(|k| k.id).collect();
        if let [id] = matching[..] {
            with_client!(self, |c| c.execute("DELETE FROM api_keys WHERE id = $1", &[&id]))?;
        }
        Ok(matching.len())
    }

    /// The account owning the key with this hash. Its use is noted at most once a minute, so
    /// that busy clients sharing a key do not queue on that row's lock.
    pub async fn user_by_api_key(&self, key_hash: &[u8]) -> Result<Option<UserRecord>> {
        let sql = format!(
            "WITH k AS (SELECT id, user_id, last_used FROM api_keys WHERE key_hash = $1), \
                  t AS (UPDATE api_keys a SET last_used = now() AT TIME ZONE 'UTC' FROM k WHERE a.id = k.id \
                        AND (k.last_used IS NULL OR k.last_used < now() AT TIME ZONE 'UTC' - interval '1 minute')) \
             SELECT {COLUMNS} FROM users u JOIN k ON k.user_id = u.id"
        );
        // Every API request runs this: a prepared statement saves a round trip.
        let row = with_client!(self, |c| async {
            let stmt = c.prepare_cached(&sql).await?;
            c.query_opt(&stmt, &[&key_hash]).await
        })?;
        Ok(row.as_ref().map(record))
    }
}

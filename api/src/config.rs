//! The optional configuration file (`--config FILE` or `IDEADB_CONFIG`): the command line's
//! options as TOML. Flags win over the environment, the environment over the file, and every
//! option has a default without either.
//!
//! ```toml
//! database-url = "postgres://ideadb@db.example.org/ideadb"
//! statement-timeout = 20
//! bind = "0.0.0.0:8080"
//! cors-origins = ["https://ideadb.example.org"]
//! ```

use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    database_url: Option<String>,
    statement_timeout: Option<u64>,
    bind: Option<String>,
    session_hours: Option<u32>,
    cors_origins: Option<Vec<String>>,
    ingest_limit_mb: Option<usize>,
    spa_dir: Option<String>,
    retention: Option<String>,
    trusted_proxies: Option<Vec<String>>,
    follow: Option<String>,
    log: Option<String>,
}

/// The environment variables the file sets: `(name, value)` for each option it holds.
pub fn read(path: &Path) -> Result<Vec<(&'static str, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn parse(text: &str) -> Result<Vec<(&'static str, String)>, String> {
    let f: File = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
    let pairs = [
        ("DATABASE_URL", f.database_url),
        ("IDEADB_STATEMENT_TIMEOUT", f.statement_timeout.map(|v| v.to_string())),
        ("IDEADB_BIND", f.bind),
        ("IDEADB_SESSION_HOURS", f.session_hours.map(|v| v.to_string())),
        ("IDEADB_CORS_ORIGINS", f.cors_origins.map(|v| v.join(","))),
        ("IDEADB_INGEST_LIMIT_MB", f.ingest_limit_mb.map(|v| v.to_string())),
        ("IDEADB_SPA_DIR", f.spa_dir),
        ("IDEADB_RETENTION", f.retention),
        ("IDEADB_TRUSTED_PROXIES", f.trusted_proxies.map(|v| v.join(","))),
        ("IDEADB_FOLLOW", f.follow),
        ("IDEADB_LOG", f.log),
    ];
    Ok(pairs.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect())
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn options_become_their_environment_variables() {
        let got =
            parse("bind = \"0.0.0.0:9000\"\nstatement-timeout = 5\ncors-origins = [\"https://a\", \"https://b\"]\n")
                .unwrap();
        assert_eq!(
            got,
            [
                ("IDEADB_STATEMENT_TIMEOUT", "5".to_string()),
                ("IDEADB_BIND", "0.0.0.0:9000".to_string()),
                ("IDEADB_CORS_ORIGINS", "https://a,https://b".to_string())
            ]
        );
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_their_line() {
        let e = parse("bind = \"x\"\ndatabase_url = \"y\"\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("database_url"), "{e}");
        let e = parse("statement-timeout = \"soon\"\n").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
    }
}

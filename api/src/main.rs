//! The `ideadb` command line: parses arguments and calls into the library.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use clap::{Args, Parser, Subcommand};
use ideadb::ingest::spool::Spool;
use ideadb::ingest::{self, Input};
use ideadb::retention::{self, parse_age, parse_retention};
use ideadb::storage::{EventStore, StoreConfig};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser)]
#[command(name = "ideadb", version, about = "Security event database for IDEA messages")]
struct Cli {
    /// A TOML file of options (database-url, statement-timeout, bind, session-hours,
    /// cors-origins, ingest-limit-mb, spa-dir, retention, trusted-proxies, log); flags and the environment win over it.
    #[arg(long, env = "IDEADB_CONFIG", global = true)]
    config: Option<std::path::PathBuf>,
    #[command(flatten)]
    db: DbArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct DbArgs {
    /// PostgreSQL connection URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/ideadb",
        global = true,
        hide_env_values = true
    )]
    database_url: String,
    /// Cancel any query running longer than this many seconds.
    #[arg(long, env = "IDEADB_STATEMENT_TIMEOUT", default_value_t = 30, global = true)]
    statement_timeout: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (migrating the schema first).
    Serve {
        /// Address to listen on; port 0 picks a free one (the bound address is printed).
        #[arg(long, env = "IDEADB_BIND", default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
        /// Hours a login token works.
        #[arg(long, env = "IDEADB_SESSION_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=720))]
        session_hours: u32,
        /// Origin allowed to call the API from a browser page served elsewhere (CORS), e.g.
        /// `https://ideadb.example.org`; repeat or separate with commas. None: same origin only.
        #[arg(long = "cors-origin", env = "IDEADB_CORS_ORIGINS", value_delimiter = ',')]
        cors_origins: Vec<String>,
        /// Largest body `POST /api/events` accepts, in MiB.
        #[arg(long, env = "IDEADB_INGEST_LIMIT_MB", default_value_t = 64)]
        ingest_limit_mb: usize,
        /// The built browser app (`trunk build --release` writes it to dist/), served at `/`.
        /// Without its index.html only the API is served.
        #[arg(long, env = "IDEADB_SPA_DIR", default_value = "dist")]
        spa_dir: std::path::PathBuf,
        /// Delete events stored longer ago than this (as `cleanup --events`: 1y, 6m, 90d, …;
        /// at least a day), checked every half minute by the statistics leader. Default: keep all.
        #[arg(long, env = "IDEADB_RETENTION", value_parser = parse_retention)]
        retention: Option<TimeDelta>,
        /// A reverse proxy (address or network) whose X-Forwarded-For / X-Real-IP headers name
        /// the client, for the access log and login throttling; repeat or separate with commas.
        /// Headers from anyone else are ignored.
        #[arg(long = "trusted-proxy", env = "IDEADB_TRUSTED_PROXIES", value_delimiter = ',')]
        trusted_proxies: Vec<ipnetwork::IpNetwork>,
        /// Also store what writers drop into this spool directory, as `ingest --follow` does.
        #[arg(long, env = "IDEADB_FOLLOW")]
        follow: Option<std::path::PathBuf>,
        /// With --follow: move stored files into DIR/done instead of removing them.
        #[arg(long, requires = "follow")]
        keep: bool,
    },
    /// Print the OpenAPI document of the API (as committed in openapi/openapi.json).
    Openapi,
    /// Create or upgrade the database schema (idempotent).
    Migrate,
    /// Store every event of a Mentat database (either generation) with its storage time, then
    /// its thresholding cache; a re-run goes on where the last one stopped.
    ImportMentat {
        /// The Mentat database, as a PostgreSQL URL (postgres://user@host:port/mentat).
        #[arg(long = "from", value_name = "URL")]
        from: String,
    },
    /// Store IDEA messages from files, directories (recursively) or `-` (stdin).
    Ingest {
        /// Files hold one message, a JSON array of messages, or NDJSON.
        #[arg(required_unless_present = "follow", conflicts_with = "follow")]
        paths: Vec<String>,
        /// Watch a spool directory (Warden's filer layout: writers rename complete files from
        /// DIR/tmp into DIR/incoming) and store each file until stopped (SIGTERM or Ctrl-C).
        #[arg(long, value_name = "DIR")]
        follow: Option<std::path::PathBuf>,
        /// With --follow: move stored files into DIR/done instead of removing them.
        #[arg(long, requires = "follow")]
        keep: bool,
        #[arg(long, default_value_t = ingest::BATCH_SIZE)]
        batch_size: usize,
        /// Parallel database writers.
        #[arg(long, default_value_t = 2)]
        writers: usize,
        /// Keep the StorageTime a message carries (`_Mentat` or `_CESNET`), as an import of
        /// stored events needs; without it, the time of ingest is the storage time.
        #[arg(long)]
        keep_storage_time: bool,
    },
    /// Write synthetic IDEA messages as NDJSON to stdout.
    Gen {
        #[arg(long, default_value_t = 1000)]
        count: u64,
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Compute the event statistics of a range (backfill): every 5-minute window of storage
    /// time, and the hourly and daily rollups. Recomputing replaces what was there.
    Stats {
        /// Start (ISO 8601, YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS], in UTC).
        #[arg(long, value_parser = parse_utc)]
        from: chrono::NaiveDateTime,
        /// End (same formats); default: now.
        #[arg(long, value_parser = parse_utc)]
        to: Option<chrono::NaiveDateTime>,
    },
    /// Delete old events and expired thresholding records.
    Cleanup {
        /// Delete events stored longer ago than this (Mentat names: y, 6m, 2w, 3d, …; at least a day).
        #[arg(long, value_parser = parse_retention)]
        events: Option<TimeDelta>,
        /// Delete thresholded-event records created longer ago than this.
        #[arg(long, value_parser = parse_age)]
        thresholded: Option<TimeDelta>,
        /// Only count what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Manage accounts and API keys.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Show the database, its settings, every ideadb table, the bytes per stored event and
    /// the retention a server of this configuration applies.
    DbStatus {
        #[arg(long)]
        brief: bool,
        /// The retention in force (as `serve --retention`; read from the same environment
        /// variable and configuration key).
        #[arg(long, env = "IDEADB_RETENTION", value_parser = parse_retention_text)]
        retention: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Create an account.
    Add {
        login: String,
        /// user, developer, maintainer or admin (repeat for several).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
        /// Also create an API key and print it alone on standard output.
        #[arg(long)]
        api_key: bool,
        /// An abuse group the account belongs to (repeat for several): TLP-restricted events
        /// naming it are visible to a user or developer.
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    /// List accounts.
    List,
    /// Set an account's abuse groups (none: it sees no TLP-restricted event).
    Groups { login: String, groups: Vec<String> },
    /// Register an abuse group that no stored event names yet, so accounts can join it.
    AddGroup { name: String },
    /// Disable an account (its keys and tokens stop working).
    Disable { login: String },
    /// Create another API key for an account and print it.
    ApiKey { login: String },
    /// List an account's API keys: their first characters, when made and last used.
    Keys { login: String },
    /// Revoke one API key of an account, named as `user keys` shows it.
    RevokeKey { login: String, key: String },
    /// Set an account's password (prompted, or the first line of standard input).
    Passwd { login: String },
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if let Some(path) = &cli.config {
        match ideadb::config::read(path) {
            // Before any thread starts: the file fills in what the environment does not set,
            // and the command line is read again on top.
            Ok(vars) => {
                for (name, value) in vars {
                    if std::env::var_os(name).is_none() {
                        std::env::set_var(name, value);
                    }
                }
                cli = Cli::parse();
            }
            Err(e) => {
                eprintln!("ideadb: {e}");
                return ExitCode::from(2);
            }
        }
    }
    // A server logs each request; the other commands only what goes wrong.
    let default_level = if matches!(cli.command, Command::Serve { .. }) { "info" } else { "warn,audit=info" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("IDEADB_LOG").unwrap_or_else(|_| default_level.into()),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file gets plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ideadb: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ideadb: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Openapi = cli.command {
        println!("{}", ideadb::http::openapi_json());
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Gen { count, days, seed } = cli.command {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        ideadb::gen::write(&mut out, count, days, seed, Utc::now().naive_utc())?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut cfg = StoreConfig::new(cli.db.database_url);
    cfg.statement_timeout = Duration::from_secs(cli.db.statement_timeout);
    let store = EventStore::new(&cfg)?;
    match cli.command {
        Command::Serve {
            bind,
            session_hours,
            cors_origins,
            ingest_limit_mb,
            spa_dir,
            retention,
            trusted_proxies,
            follow,
            keep,
        } => {
            store.migrate().await?;
            let follow = follow.map(|dir| Spool::open(&dir, keep, false)).transpose()?;
            let cfg = ideadb::http::ServeConfig {
                bind,
                session_ttl: TimeDelta::hours(i64::from(session_hours)),
                login_limits: Default::default(),
                cors_origins,
                ingest_limit: ingest_limit_mb << 20,
                spa_dir: spa_dir.join("index.html").is_file().then_some(spa_dir),
                retention,
                trusted_proxies,
                follow,
            };
            ideadb::http::serve(store, cfg, |addr| {
                use std::io::Write;
                println!("listening on http://{addr}");
                let _ = std::io::stdout().flush();
            })
            .await?;
        }
        Command::Stats { from, to } => {
            store.migrate().await?;
            let to = to.unwrap_or_else(|| Utc::now().naive_utc());
            let bar = progress_bar("{bar:40} {pos}/{len} windows, {per_sec}, ETA {eta}");
            let started = std::time::Instant::now();
            let events = ideadb::statistician::backfill(&store, from, to, &bar).await?;
            bar.finish_and_clear();
            println!(
                "computed {} windows ({events} events) in {:.1} s",
                bar.position(),
                started.elapsed().as_secs_f64()
            );
        }
        Command::Migrate => {
            let bar = progress_bar("upgrading stored events {bar:40} {pos}/{len}, ETA {eta}");
            let moved = store
                .migrate_with(&|done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                })
                .await?;
            bar.finish_and_clear();
            if moved.events > 0 {
                println!("moved {} events into the partitioned tables", moved.events);
            }
            for (id, why) in &moved.left {
                eprintln!("event {id} stays in events_v9: {why}");
            }
            if moved.refill.events > 0 {
                println!("read {} stored events for the columns added since they were stored", moved.refill.events);
            }
            for (id, why) in &moved.refill.unreadable {
                eprintln!("event {id}: its message cannot be read for the new columns: {why}");
            }
            println!("schema is at version {}", store.schema_version().await?.unwrap_or(0));
        }
        Command::Ingest { paths, batch_size, writers, keep_storage_time, follow, keep } => {
            if let Some(dir) = follow {
                return follow_spool(&store, &dir, keep, keep_storage_time).await;
            }
            let opts = ingest::Options { batch_size, writers, keep_storage_time };
            return ingest(&store, paths, opts).await;
        }
        Command::ImportMentat { from } => return import_mentat(&store, &from).await,
        Command::Cleanup { events, thresholded, dry_run } => {
            cleanup(&store, retention::Cleanup { events, thresholded, dry_run }).await?
        }
        Command::User { action } => {
            store.migrate().await?;
            user(&store, action).await?;
        }
        Command::DbStatus { brief, retention } => {
            let mut st = serde_json::to_value(store.database_status(brief).await?)?;
            st["retention"] = retention.map_or(serde_json::Value::Null, serde_json::Value::String);
            println!("{}", serde_json::to_string_pretty(&st)?);
        }
        Command::Gen { .. } | Command::Openapi => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn ingest(store: &EventStore, paths: Vec<String>, opts: ingest::Options) -> anyhow::Result<ExitCode> {
    store.migrate().await?;
    let inputs = paths.iter().map(|p| Input::parse(p)).collect();
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new_spinner();
        b.set_style(ProgressStyle::with_template(
            "{spinner} {human_pos} messages stored or checked, {per_sec} [{elapsed}]",
        )?);
        b.enable_steady_tick(Duration::from_millis(200));
        b
    } else {
        ProgressBar::hidden()
    };
    let summary =
        ingest::run(store, inputs, &opts, bar.clone(), |r| eprintln!("rejected {}: {}", r.origin, r.reason)).await;
    bar.finish_and_clear();
    let s = summary?;
    eprintln!("stored {}, duplicates {}, rejected {}", s.stored, s.duplicates, s.rejected);
    Ok(if s.rejected > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// `import-mentat`: exits 1 when some message was refused (each is listed), as `ingest` does.
async fn import_mentat(store: &EventStore, from: &str) -> anyhow::Result<ExitCode> {
    store.migrate().await?;
    let source = ideadb::mentat_import::Source::connect(from).await?;
    eprintln!("importing from the {} Mentat database {}", source.generation.name(), source.at);
    let bar = progress_bar("importing events {bar:40} {pos}/{len}, ETA {eta}");
    let imported = ideadb::mentat_import::import(store, &source, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await;
    bar.finish_and_clear();
    let imported = imported?;
    for (id, why) in &imported.refused {
        eprintln!("refused {id}: {why}");
    }
    if imported.earlier > 0 {
        eprintln!("{} events were imported by earlier runs", imported.earlier);
    }
    eprintln!(
        "imported {} events ({} already stored), {} refused; {} thresholds and {} thresholded events",
        imported.events,
        imported.duplicates,
        imported.refused.len(),
        imported.thresholds,
        imported.thresholded
    );
    Ok(if imported.refused.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Feeds the store from a spool directory until SIGTERM or Ctrl-C.
async fn follow_spool(store: &EventStore, dir: &Path, keep: bool, keep_storage_time: bool) -> anyhow::Result<ExitCode> {
    store.migrate().await?;
    let spool = Spool::open(dir, keep, keep_storage_time)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        ideadb::http::shutdown_signal().await;
        let _ = stop.send(true);
    });
    eprintln!("following {}", dir.display());
    let t = spool.run(store, stopped).await?;
    eprintln!(
        "stopped: {} files, {} events stored, {} duplicates, {} files moved to errors",
        t.files, t.stored, t.duplicates, t.refused_files
    );
    Ok(ExitCode::SUCCESS)
}

/// An audit line for an account change made here (target `audit`, always logged).
macro_rules! audit {
    ($login:expr, $($rest:tt)*) => {
        tracing::info!(target: "audit", login = ?$login, via = "cli", $($rest)*)
    };
}

async fn user(store: &EventStore, action: UserAction) -> anyhow::Result<()> {
    use ideadb::auth::{api_key_hash, api_key_prefix, hash_password, new_api_key, Role};
    let missing = |login: &str| anyhow::anyhow!("there is no account {login:?}");
    match action {
        UserAction::Add { login, roles, password_stdin, api_key, groups } => {
            let roles: Vec<Role> =
                roles.iter().map(|r| Role::parse(r)).collect::<Result<_, _>>().map_err(anyhow::Error::msg)?;
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            let groups = known_groups(store, groups).await?;
            let hash = if password_stdin { Some(hash_password(&read_password(true)?)?) } else { None };
            let created = store.user_create(&login, &names, hash.as_deref()).await?;
            store.user_set_groups(&login, &groups).await?;
            if api_key {
                let key = new_api_key()?;
                store.api_key_add(created.id, &api_key_hash(&key), &api_key_prefix(&key)).await?;
                println!("{key}");
            } else {
                eprintln!("created account {login} ({})", names.join(", "));
            }
            audit!(login, roles = names.join(","), api_key, "account created");
        }
        UserAction::List => {
            for u in store.users().await? {
                let state = if u.enabled { "enabled" } else { "disabled" };
                let password = if u.password_hash.is_some() { "password" } else { "no password" };
                let groups = if u.groups.is_empty() { "no groups".into() } else { u.groups.join(",") };
                println!("{}\t{}\t{state}\t{password}\t{} API keys\t{groups}", u.login, u.roles.join(","), u.api_keys);
            }
        }
        UserAction::Groups { login, groups } => {
            let groups = known_groups(store, groups).await?;
            if !store.user_set_groups(&login, &groups).await? {
                return Err(missing(&login));
            }
            eprintln!("{login} belongs to {}", if groups.is_empty() { "no group".into() } else { groups.join(", ") });
            audit!(login, groups = groups.join(","), "account groups set");
        }
        UserAction::AddGroup { name } => {
            let name = name.trim();
            if name.is_empty() {
                anyhow::bail!("a group needs a name");
            }
            if store.group_register(name).await? {
                eprintln!("registered abuse group {name}");
                tracing::info!(target: "audit", group = ?name, via = "cli", "abuse group registered");
            } else {
                eprintln!("abuse group {name} was registered already");
            }
        }
        UserAction::Disable { login } => {
            if !store.user_set_enabled(&login, false).await? {
                return Err(missing(&login));
            }
            eprintln!("disabled account {login} (its login sessions ended)");
            audit!(login, "account disabled");
        }
        UserAction::ApiKey { login } => {
            let u = store.user_by_login(&login).await?.ok_or_else(|| missing(&login))?;
            let key = new_api_key()?;
            store.api_key_add(u.id, &api_key_hash(&key), &api_key_prefix(&key)).await?;
            println!("{key}");
            audit!(login, key = api_key_prefix(&key), "API key created");
        }
        UserAction::Keys { login } => {
            store.user_by_login(&login).await?.ok_or_else(|| missing(&login))?;
            let when = |t: Option<chrono::NaiveDateTime>| t.map_or("never".into(), |t| t.format("%F %T").to_string());
            for k in store.api_keys_of(&login).await? {
                let name = k.prefix.unwrap_or_else(|| format!("#{}", k.id));
                println!("{name}\tcreated {}\tlast used {}", when(Some(k.created)), when(k.last_used));
            }
        }
        UserAction::RevokeKey { login, key } => {
            store.user_by_login(&login).await?.ok_or_else(|| missing(&login))?;
            match store.api_key_revoke(&login, &key).await? {
                1 => {
                    eprintln!("revoked key {key} of {login}");
                    audit!(login, key, "API key revoked");
                }
                0 => anyhow::bail!("{login} has no key {key:?} (see `ideadb user keys {login}`)"),
                n => anyhow::bail!("{n} keys of {login} start with {key:?}; name one by its number (#N)"),
            }
        }
        UserAction::Passwd { login } => {
            let hash = hash_password(&read_password(false)?)?;
            if !store.user_set_password(&login, &hash).await? {
                return Err(missing(&login));
            }
            eprintln!("password of {login} changed (its login sessions ended)");
            audit!(login, "password changed");
        }
    }
    Ok(())
}

/// The groups, trimmed and deduplicated, when every one is known; otherwise an error naming
/// the unknown ones.
async fn known_groups(store: &EventStore, groups: Vec<String>) -> anyhow::Result<Vec<String>> {
    let mut groups: Vec<String> = groups.iter().map(|g| g.trim().to_string()).filter(|g| !g.is_empty()).collect();
    groups.sort();
    groups.dedup();
    if groups.is_empty() {
        return Ok(groups);
    }
    let known = store.groups_known().await?;
    let unknown: Vec<&String> = groups.iter().filter(|g| known.binary_search(g).is_err()).collect();
    if let Some(first) = unknown.first() {
        let names: Vec<String> = unknown.iter().map(|g| format!("{g:?}")).collect();
        anyhow::bail!(
            "unknown abuse group {}: no stored event names it and it is not registered \
             (register it with `ideadb user add-group {first}`)",
            names.join(", ")
        );
    }
    Ok(groups)
}

/// A password from a prompt without echo on a terminal, else the first line of stdin.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if !from_stdin && std::io::stdin().is_terminal() {
        return Ok(rpassword::prompt_password("password: ")?);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

async fn cleanup(store: &EventStore, what: retention::Cleanup) -> anyhow::Result<()> {
    let done = retention::cleanup(store, what, Utc::now().naive_utc()).await?;
    if let Some(gone) = done.events {
        let verb = if what.dry_run { "would delete" } else { "deleted" };
        println!("{verb} {} events (weeks dropped whole: {})", gone.events, gone.weeks);
        if !what.dry_run {
            println!("deleted {} recurrence fingerprints", gone.fingerprints);
        }
    }
    if what.dry_run {
        return Ok(());
    }
    if let Some(n) = done.thresholded {
        println!("deleted {n} thresholded-event records");
    }
    println!("deleted {} expired thresholds", done.thresholds);
    println!("deleted {} orphaned thresholded-event records", done.orphans);
    Ok(())
}

/// A progress bar on a terminal, nothing otherwise.
fn progress_bar(template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    ProgressBar::new(0).with_style(ProgressStyle::with_template(template).expect("a valid template"))
}

/// A retention as written, once it parses.
fn parse_retention_text(s: &str) -> Result<String, String> {
    parse_retention(s).map(|_| s.to_string())
}

/// A time in UTC, or a date alone (its midnight).
fn parse_utc(v: &str) -> Result<chrono::NaiveDateTime, String> {
    ideadb::search_form::parse_time(v, chrono_tz::UTC)
        .or_else(|| chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
        .ok_or_else(|| {
            format!("\"{v}\" is not a date and time: use ISO 8601, YYYY-MM-DD or YYYY-MM-DD HH:MM[:SS] (UTC)")
        })
}

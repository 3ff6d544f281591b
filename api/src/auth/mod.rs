//! Accounts: roles as Hawat has them, argon2id password hashes, and API keys.
//!
//! Roles are `user`, `developer`, `maintainer` and `admin`; "any role" means at least one, so
//! an account without a role is refused like a disabled one. API keys are 256 random bits
//! shown once; only their SHA-256 is stored.

mod limit;
mod token;

pub use limit::{LoginLimits, LoginThrottle};
pub use token::{Claims, TokenError, TokenKeys};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use sha2::{Digest, Sha256};

/// Hawat's roles, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    User,
    Developer,
    Maintainer,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::User, Role::Developer, Role::Maintainer, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Developer => "developer",
            Role::Maintainer => "maintainer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("\"{s}\" is not a role (one of: user, developer, maintainer, admin)"))
    }
}

/// Why a secret could not be made or checked.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("a password needs at least {MIN_PASSWORD} characters")]
    WeakPassword,
    #[error("the system's random source failed: {0}")]
    Random(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

pub const MIN_PASSWORD: usize = 10;

fn random<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(b)
}

/// An argon2id PHC string (default parameters: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(AuthError::WeakPassword);
    }
    let salt = SaltString::encode_b64(&random::<16>()?).map_err(|e| AuthError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Whether `password` matches the stored hash (false for a malformed hash).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A new secret for signing login tokens.
pub fn new_token_secret() -> Result<[u8; 32], AuthError> {
    random()
}

/// A new API key: `ideadb_` and 256 random bits, URL-safe.
pub fn new_api_key() -> Result<String, AuthError> {
    Ok(format!("ideadb_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<32>()?)))
}

/// The first characters of a key, stored to tell keys apart: the fixed `ideadb_` and six of
/// its 43 random ones.
pub fn api_key_prefix(key: &str) -> String {
    key.trim().chars().take(13).collect()
}

/// What is stored of an API key.
pub fn api_key_hash(key: &str) -> Vec<u8> {
    Sha256::digest(key.trim().as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_argon2id_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(matches!(hash_password("short"), Err(AuthError::WeakPassword)));
        assert_ne!(hash_password("correct horse battery").unwrap(), h, "salted");
    }

    #[test]
    fn api_keys_are_random_and_stored_as_hashes() {
        let (a, b) = (new_api_key().unwrap(), new_api_key().unwrap());
        assert_ne!(a, b);
        assert!(a.starts_with("ideadb_") && a.len() == 7 + 43, "{a}");
        assert_eq!(api_key_hash(&a).len(), 32);
        assert_eq!(api_key_hash(&format!(" {a}\n")), api_key_hash(&a));
        assert_eq!(Role::parse("maintainer"), Ok(Role::Maintainer));
        assert!(Role::parse("root").unwrap_err().contains("\"root\""));
    }
}

//! Login tokens: HS256 JWTs naming a session.
//!
//! The token alone is not enough: its `jti` must also name a live row of `sessions`, which is
//! what makes logout and disabling an account take effect at once. Only HS256 is accepted
//! (an allow-list of one), with `exp`, `nbf`, `aud` and `iss` required and checked.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const AUDIENCE: &str = "ideadb";
const ISSUER: &str = "ideadb";

/// What a login token says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The account's login.
    pub sub: String,
    /// The session, a row of `sessions`.
    pub jti: Uuid,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub aud: String,
    pub iss: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the login token has expired; log in again")]
    Expired,
    #[error("the login token is not valid: {0}")]
    Invalid(String),
}

/// Signs and checks login tokens with one secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation }
    }

    /// A token for `login`'s session `jti`, valid from `now` for `ttl`.
    pub fn issue(&self, login: &str, jti: Uuid, now: DateTime<Utc>, ttl: Duration) -> (String, DateTime<Utc>) {
        let expires = now + ttl;
        let claims = Claims {
            sub: login.to_string(),
            jti,
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: expires.timestamp(),
            aud: AUDIENCE.into(),
            iss: ISSUER.into(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail");
        (token, expires)
    }

    /// The claims of a token signed by this key, in its validity window.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        use jsonwebtoken::errors::ErrorKind;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map(|d| d.claims).map_err(|e| {
            match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid(e.to_string()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(&[7u8; 32])
    }

    #[test]
    fn a_token_round_trips() {
        let jti = Uuid::new_v4();
        let (t, exp) = keys().issue("alice", jti, Utc::now(), Duration::hours(1));
        let c = keys().verify(&t).unwrap();
        assert_eq!((c.sub.as_str(), c.jti, c.exp), ("alice", jti, exp.timestamp()));
    }

    #[test]
    fn expired_foreign_and_unsigned_tokens_are_refused() {
        let (old, _) = keys().issue("a", Uuid::new_v4(), Utc::now() - Duration::hours(2), Duration::hours(1));
        assert_eq!(keys().verify(&old), Err(TokenError::Expired));

        let (foreign, _) = TokenKeys::new(&[8u8; 32]).issue("a", Uuid::new_v4(), Utc::now(), Duration::hours(1));
        assert!(matches!(keys().verify(&foreign), Err(TokenError::Invalid(_))));

        let (early, _) = keys().issue("a", Uuid::new_v4(), Utc::now() + Duration::hours(1), Duration::hours(1));
        assert!(matches!(keys().verify(&early), Err(TokenError::Invalid(_))));

        // alg "none" with the same claims: the allow-list refuses it.
        let (good, _) = keys().issue("a", Uuid::new_v4(), Utc::now(), Duration::hours(1));
        let payload = good.split('.').nth(1).unwrap();
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(matches!(keys().verify(&none), Err(TokenError::Invalid(_))));
    }
}

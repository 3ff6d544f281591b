//! Who a request acts for. Credentials travel in the `Authorization` header: an API key in
//! any of the forms Hawat accepts (the key alone, `key <key>` or `token <key>`; the POST
//! fields `api_key`/`api_token` are moved there by `form_post`), or `Bearer <token>` from
//! `POST /api/auth/login`. Missing or bad credentials are 401; a disabled account, one without
//! a role, or one without the role an endpoint needs is 403.

use std::ops::Deref;

use poem::Request;
use poem_openapi::auth::{ApiKey, Bearer};
use poem_openapi::SecurityScheme;
use uuid::Uuid;

use super::error::ApiError;
use crate::auth::{api_key_hash, LoginThrottle, Role, TokenKeys};
use crate::storage::{EventStore, UserRecord, Visibility};

/// What the login endpoints need, shared by every request.
pub struct AuthState {
    pub keys: TokenKeys,
    pub throttle: LoginThrottle,
    pub session_ttl: chrono::Duration,
}

/// The account a request acts for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub login: String,
    pub roles: Vec<Role>,
    /// The abuse groups the account belongs to.
    pub groups: Vec<String>,
    /// The login session, when the request came with a login token.
    pub session: Option<Uuid>,
}

impl Caller {
    /// 403 unless the account holds one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if self.roles.iter().any(|r| roles.contains(r)) {
            return Ok(());
        }
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(ApiError::Forbidden(format!("this needs the role {} (account {})", names.join(" or "), self.login)))
    }

    /// The events this account may see: all of them for a maintainer or an administrator
    /// (Hawat's "power" permission), otherwise those its abuse groups allow.
    pub fn visibility(&self) -> Visibility {
        if self.roles.iter().any(|r| *r >= Role::Maintainer) {
            Visibility::All
        } else {
            Visibility::Groups(self.groups.clone())
        }
    }
}

/// An API key in the `Authorization` header: the key alone, `key <key>` or `token <key>`.
#[derive(SecurityScheme)]
#[oai(rename = "ApiKey", ty = "api_key", key_name = "Authorization", key_in = "header", checker = "from_header")]
pub struct ApiKeyAuth(Caller);

/// A login token from `POST /api/auth/login`: `Authorization: Bearer <token>`.
#[derive(SecurityScheme)]
#[oai(rename = "Bearer", ty = "bearer", bearer_format = "JWT", checker = "from_bearer")]
pub struct BearerAuth(Caller);

/// Either credential. Both schemes read the same header; when both fail, the error of the
/// last one tried is answered, so the API-key scheme comes last and recognises `Bearer`
/// itself: every failure gets the message that fits it.
#[derive(SecurityScheme)]
pub enum Auth {
    Bearer(BearerAuth),
    ApiKey(ApiKeyAuth),
}

impl Deref for Auth {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        match self {
            Auth::ApiKey(ApiKeyAuth(c)) | Auth::Bearer(BearerAuth(c)) => c,
        }
    }
}

/// The key without Hawat's optional `key ` / `token ` prefix.
fn strip_prefix<'h>(header: &'h str, prefix: &str) -> Option<&'h str> {
    let h = header.trim();
    (h.len() > prefix.len() && h[..prefix.len()].eq_ignore_ascii_case(prefix)).then(|| h[prefix.len()..].trim())
}

fn bare_key(header: &str) -> &str {
    strip_prefix(header, "key ").or_else(|| strip_prefix(header, "token ")).unwrap_or(header.trim())
}

async fn from_header(req: &Request, key: ApiKey) -> poem::Result<Caller> {
    Ok(of_key(req, &key.key).await?)
}

async fn from_bearer(req: &Request, bearer: Bearer) -> poem::Result<Caller> {
    Ok(of_token(req, &bearer.token).await?)
}

async fn of_key(req: &Request, key: &str) -> Result<Caller, ApiError> {
    if let Some(token) = strip_prefix(key, "bearer ") {
        return of_token(req, token).await;
    }
    let store = req.data::<EventStore>().ok_or(ApiError::Internal)?;
    let user = store.user_by_api_key(&api_key_hash(bare_key(key))).await?;
    let user = user.ok_or_else(|| ApiError::Unauthorized("the API key is not valid".into()))?;
    admit(user, None)
}

async fn of_token(req: &Request, token: &str) -> Result<Caller, ApiError> {
    let state = req.data::<std::sync::Arc<AuthState>>().ok_or(ApiError::Internal)?;
    let claims = state.keys.verify(token).map_err(|e| ApiError::Unauthorized(e.to_string()))?;
    let store = req.data::<EventStore>().ok_or(ApiError::Internal)?;
    let user = store.session_user(claims.jti).await?;
    let user = user.ok_or_else(|| ApiError::Unauthorized("the login session has ended; log in again".into()))?;
    admit(user, Some(claims.jti))
}

/// The caller, if the account may act at all.
pub fn admit(user: UserRecord, session: Option<Uuid>) -> Result<Caller, ApiError> {
    if !user.enabled {
        return Err(ApiError::Forbidden(format!("the account {} is disabled", user.login)));
    }
    let roles: Vec<Role> = user.roles.iter().filter_map(|r| Role::parse(r).ok()).collect();
    if roles.is_empty() {
        return Err(ApiError::Forbidden(format!("the account {} has no role", user.login)));
    }
    Ok(Caller { login: user.login, roles, groups: user.groups, session })
}

#[cfg(test)]
mod tests {
    #[test]
    fn hawat_key_forms_are_read() {
        for h in ["abc", " key abc", "Key abc", "token  abc ", "TOKEN abc"] {
            assert_eq!(super::bare_key(h), "abc", "{h:?}");
        }
        assert_eq!(super::bare_key("key"), "key");
        assert_eq!(super::strip_prefix("Bearer x.y.z", "bearer "), Some("x.y.z"));
    }
}

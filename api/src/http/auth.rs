//! Authentication of API calls: an API key in the `Authorization` header, in any of the forms
//! Hawat accepts (the key alone, `key <key>` or `token <key>`). A missing or unknown key is
//! 401; a disabled account, or one without a role, is 403.

use poem::Request;
use poem_openapi::auth::ApiKey;
use poem_openapi::SecurityScheme;

use super::error::ApiError;
use crate::auth::{api_key_hash, Role};
use crate::storage::EventStore;

/// The account a request acts for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub login: String,
}

/// An API key in the `Authorization` header: the key alone, `key <key>` or `token <key>`.
#[derive(SecurityScheme)]
#[oai(rename = "ApiKey", ty = "api_key", key_name = "Authorization", key_in = "header", checker = "caller")]
pub struct ApiKeyAuth(pub Caller);

/// The key without Hawat's optional `key ` / `token ` prefix.
fn bare_key(header: &str) -> &str {
    let h = header.trim();
    for prefix in ["key ", "token "] {
        if h.len() > prefix.len() && h[..prefix.len()].eq_ignore_ascii_case(prefix) {
            return h[prefix.len()..].trim();
        }
    }
    h
}

async fn caller(req: &Request, key: ApiKey) -> poem::Result<Caller> {
    let store = req.data::<EventStore>().ok_or(ApiError::Internal)?;
    let user = store.user_by_api_key(&api_key_hash(bare_key(&key.key))).await.map_err(ApiError::from)?;
    let Some(user) = user else {
        return Err(ApiError::Unauthorized("the API key is not valid".into()).into());
    };
    if !user.enabled {
        return Err(ApiError::Forbidden(format!("the account {} is disabled", user.login)).into());
    }
    if !user.roles.iter().any(|r| Role::parse(r).is_ok()) {
        return Err(ApiError::Forbidden(format!("the account {} has no role", user.login)).into());
    }
    Ok(Caller { login: user.login })
}

#[cfg(test)]
mod tests {
    #[test]
    fn hawat_key_forms_are_read() {
        for h in ["abc", " key abc", "Key abc", "token  abc ", "TOKEN abc"] {
            assert_eq!(super::bare_key(h), "abc", "{h:?}");
        }
        assert_eq!(super::bare_key("key"), "key");
    }
}

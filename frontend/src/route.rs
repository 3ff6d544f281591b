//! Every path of the app, built in one place; the router in `app.rs` matches the same paths.

use crate::form::Query;

/// A page of the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// The search form, and the search the query describes.
    Search(Query),
    /// The dashboard over the query's range.
    Dashboard(Query),
    /// One event.
    Event(String),
}

impl Route {
    pub fn path(&self) -> String {
        match self {
            Route::Search(q) => with_query("/events/search", q),
            Route::Dashboard(q) => with_query("/events/dashboard", q),
            Route::Event(id) => format!("/events/{}", encode(id)),
        }
    }
}

fn with_query(path: &str, q: &Query) -> String {
    match q.encode() {
        e if e.is_empty() => path.to_string(),
        e => format!("{path}?{e}"),
    }
}

/// A path segment, percent-encoded as the browser's `encodeURIComponent` does.
pub fn encode(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes()).collect::<String>().replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_carry_their_query_and_encode_the_id() {
        assert_eq!(Route::Search(Query::default()).path(), "/events/search");
        assert_eq!(Route::Dashboard(Query::parse("?dt_from=now-1d")).path(), "/events/dashboard?dt_from=now-1d");
        assert_eq!(Route::Event("a b/c".into()).path(), "/events/a%20b%2Fc");
    }
}

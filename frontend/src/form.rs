//! A search form as the query string it is bookmarked and shared as: the same pairs work on
//! `/events/search` in the browser and on `/api/events/search`.

/// Keys whose empty value means something (no bound, instead of the default range).
const TIME_KEYS: [&str; 4] = ["dt_from", "dt_to", "st_from", "st_to"];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(search: &str) -> Self {
        let raw = search.strip_prefix('?').unwrap_or(search);
        Self { pairs: form_urlencoded::parse(raw.as_bytes()).into_owned().collect() }
    }

    /// The query string (without `?`); empty values are dropped but for times.
    pub fn encode(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.pairs {
            if !v.is_empty() || TIME_KEYS.contains(&k.as_str()) {
                s.append_pair(k, v);
            }
        }
        s.finish()
    }

    /// The last value of `key`, or "".
    pub fn get(&self, key: &str) -> String {
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    pub fn has(&self, key: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == key)
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect()
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key).to_ascii_lowercase().as_str(), "1" | "y" | "yes" | "true" | "on")
    }

    /// Replaces every value of `key` with `value`; an empty value removes the key.
    pub fn set(&mut self, key: &str, value: &str) {
        self.remove(key);
        if !value.is_empty() {
            self.pairs.push((key.into(), value.into()));
        }
    }

    /// Replaces every value of `key`, keeping an empty value (times: "no bound").
    pub fn set_keep_empty(&mut self, key: &str, value: &str) {
        self.remove(key);
        self.pairs.push((key.into(), value.into()));
    }

    pub fn set_all(&mut self, key: &str, values: Vec<String>) {
        self.remove(key);
        self.pairs.extend(values.into_iter().map(|v| (key.to_string(), v)));
    }

    pub fn remove(&mut self, key: &str) {
        self.pairs.retain(|(k, _)| k != key);
    }

    /// A copy with `keys` removed.
    pub fn without(&self, keys: &[&str]) -> Self {
        Self { pairs: self.pairs.iter().filter(|(k, _)| !keys.contains(&k.as_str())).cloned().collect() }
    }

    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.set(key, value);
        self
    }
}

/// The search of one value in one field, over all time: the context menus' links.
pub fn pivot(key: &str, value: &str) -> String {
    let mut q = Query::default();
    q.set(key, value);
    q.set_keep_empty("dt_from", "");
    q.set("submit", "1");
    crate::route::Route::Search(q).path()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_repeated_keys_and_keeps_empty_times_only() {
        let q =
            Query::parse("?categories=Recon.Scanning&categories=__EMPTY__&dt_from=&description=&tz=Europe%2FPrague");
        assert_eq!(q.all("categories"), ["Recon.Scanning", "__EMPTY__"]);
        assert_eq!(q.get("tz"), "Europe/Prague");
        assert_eq!(q.encode(), "categories=Recon.Scanning&categories=__EMPTY__&dt_from=&tz=Europe%2FPrague");
    }

    #[test]
    fn set_replaces_and_empty_removes() {
        let mut q = Query::parse("page=2&page=3&not_categories=on");
        q.set("page", "4");
        assert_eq!(q.all("page"), ["4"]);
        q.set("page", "");
        assert!(!q.has("page"));
        assert!(q.flag("not_categories"));
        assert_eq!(q.without(&["not_categories"]).encode(), "");
    }

    #[test]
    fn pivots_search_all_time() {
        assert_eq!(pivot("source_addrs", "192.0.2.1"), "/events/search?source_addrs=192.0.2.1&dt_from=&submit=1");
    }
}

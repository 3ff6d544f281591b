//! The value kinds of the search and dashboard forms, as the OpenAPI document describes them.
//!
//! Handlers declare each form parameter as a [`FormValue`] of its kind so the document says
//! what the server accepts: the kind's pattern is the very expression `search_form` checks
//! (see `form_grammar`). A `FormValue` accepts any text when poem parses the request: `search_form`
//! alone judges the values, so a bad one is one of the form's `form_errors`, named with its
//! field, like every other problem of the form. Each kind is one schema in
//! `components/schemas`, shared by every operation.

use std::borrow::Cow;
use std::marker::PhantomData;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromParameter, ParseResult, Type};
use serde_json::Value;

use crate::form_grammar;
use crate::stats::Agg;
use ideadb_wire::search_params::Kind as FormKind;

/// What a kind of form value looks like.
pub trait Kind: Send + Sync + 'static {
    /// Its name among the document's schemas.
    const NAME: &'static str;
    fn schema() -> MetaSchema;
}

/// A form parameter's value as sent, documented as its kind `K`.
pub struct FormValue<K> {
    text: String,
    kind: PhantomData<fn() -> K>,
}

impl<K> FormValue<K> {
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl<K: Kind> Type for FormValue<K> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        K::NAME.into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(K::NAME.into())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(K::NAME.into(), |_| K::schema());
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl<K: Kind> ParseFromParameter for FormValue<K> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(FormValue { text: value.to_string(), kind: PhantomData })
    }
}

fn string(description: &'static str) -> MetaSchema {
    MetaSchema { description: Some(description), ..MetaSchema::new("string") }
}

/// Declares the parameter type of a form value kind, with the pattern `search_form` checks.
macro_rules! grammar_kind {
    ($(#[$doc:meta])* $name:ident, $grammar:expr, $description:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl Kind for $name {
            const NAME: &'static str = stringify!($name);

            fn schema() -> MetaSchema {
                MetaSchema { pattern: form_grammar::pattern($grammar).map(Into::into), ..string($description) }
            }
        }
    };
}

grammar_kind!(
    /// A time bound.
    FormTime,
    FormKind::Time,
    "Empty (no bound); `YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DDTHH:MM[:SS]` in `tz`; RFC 3339 with seconds and \
     `Z` or an offset; `now`; or `now-N` with a unit s, m, h, d or w (`now-24h`). A local time that a \
     daylight-saving change skipped is read with the offset before the change. A range that starts after \
     it ends is refused, and a dashboard range must hold a whole 5-minute window and span ten years at most."
);
grammar_kind!(
    /// Addresses, networks and ranges.
    AddressList,
    FormKind::Addresses,
    "Comma-separated IPv4 or IPv6 addresses, CIDR networks (`192.0.2.0/24`) or ranges \
     (`192.0.2.1-192.0.2.9`, either way round); defanged forms (`192.0.2[.]1`) are read as plain ones."
);
grammar_kind!(
    /// Port numbers.
    PortList,
    FormKind::Ports,
    "Comma-separated port numbers, 0 to 65535."
);
grammar_kind!(
    /// An IANA time zone.
    TimeZoneName,
    FormKind::Zone,
    "An IANA time zone name; empty: UTC."
);
grammar_kind!(
    /// A page size.
    PageSize,
    FormKind::PageSize,
    "Items per page; empty: 100."
);
grammar_kind!(
    /// A sort order.
    SortOrder,
    FormKind::SortOrder,
    "`time`, `detecttime` or `storagetime`, then `.asc` or `.desc`; empty: `time.desc`."
);
grammar_kind!(
    /// A page number.
    PageNumber,
    FormKind::Page,
    "A page, from 1; empty: 1."
);
grammar_kind!(
    /// A keyset cursor.
    SearchCursor,
    FormKind::Cursor,
    "The `next_cursor` of a previous search's answer; empty: the first page."
);
grammar_kind!(
    /// Free text.
    Text,
    FormKind::Text,
    "Any text without NUL characters."
);

/// A dashboard aggregation.
pub struct Aggregation;

impl Kind for Aggregation {
    const NAME: &'static str = "Aggregation";

    fn schema() -> MetaSchema {
        let names = Agg::ALL.iter().map(|a| Value::String(a.key().into())).collect();
        MetaSchema { enum_items: names, ..string("A dashboard aggregation.") }
    }
}

//! One documented response per status. poem-openapi documents each variant of a response
//! enum as its own response, so of two variants with one status (a download as JSON or as
//! YAML) the document would show only the last; [`Merged`] lists their content types under
//! one response, described by the first variant's text.

use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaResponse, MetaResponses, Registry};
use poem_openapi::ApiResponse;

/// The response `R`, documented with one entry per status.
pub struct Merged<R>(pub R);

impl<R: ApiResponse> ApiResponse for Merged<R> {
    fn meta() -> MetaResponses {
        let mut responses: Vec<MetaResponse> = Vec::new();
        for r in R::meta().responses {
            match responses.iter_mut().find(|m| m.status == r.status && m.status_range == r.status_range) {
                Some(first) => {
                    first.content.extend(r.content);
                    for h in r.headers {
                        if !first.headers.iter().any(|f| f.name == h.name) {
                            first.headers.push(h);
                        }
                    }
                }
                None => responses.push(r),
            }
        }
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        R::register(registry);
    }
}

impl<R: IntoResponse> IntoResponse for Merged<R> {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

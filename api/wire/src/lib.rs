//! What the server (`ideadb`) and the browser app (`ideadb-frontend`) share: the search form's
//! parameters, the API's answers, and the dashboard charts. It compiles for wasm32 too, so the charts the SPA
//! draws are the ones `chart.svg` serves.

pub mod aggregation;
pub mod answers;
pub mod chart;
pub mod search_params;

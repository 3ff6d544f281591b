//! What the server (`ideadb`) and the browser app (`ideadb-frontend`) share. It compiles for
//! wasm32 too, so the dashboard charts the SPA draws are the ones `chart.svg` serves.

pub mod chart;

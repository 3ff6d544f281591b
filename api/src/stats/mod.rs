//! Event statistics, as mentat-statistician computes them and Hawat's dashboard shows them:
//! per 5-minute window of storage time, three groups (overall, internal — events with
//! resolved abuse groups — and external), each with counters and aggregations.
//!
//! Recurrence, which Mentat never computes: an event is recurring when an event with the same
//! fingerprint (detector, category set, source address set) was stored in the 24 hours
//! before it; `cnt_unique = cnt_events − cnt_recurring`. Events stored in the same instant do
//! not recur on each other.

pub mod digest;
pub mod group;
pub mod merge;
pub mod timeline;

pub use digest::EventDigest;
pub use group::{Agg, GroupStats, REST, UNKNOWN};
pub use merge::{merge, rollup, Dashboard, GroupView, Groups, StatsRow};
pub use timeline::{Piece, TimelineCfg};

/// Adds events to the three groups (overall, internal, external), untruncated;
/// `recurring[i]` tells whether `events[i]` recurs.
pub fn count_into(groups: &mut Groups, events: &[EventDigest], recurring: &[bool]) {
    for (e, r) in events.iter().zip(recurring) {
        groups[0].include(&e.values, *r);
        let side = if e.internal() { 1 } else { 2 };
        groups[side].include(&e.values, *r);
    }
}

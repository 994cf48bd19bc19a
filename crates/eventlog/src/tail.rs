//! The newest events of the log as this process last read them, shared by
//! its consumers and its live hub: one read of the log serves them all
//! (issue 10: each consumer used to read every new event itself, and the
//! reads were a quarter of the database's work per order).

use crate::{read_after, EventLogError, RecordedEvent};
use db::Db;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// How many of the newest events a [`Tail`] keeps by default.
pub const DEFAULT_CAPACITY: usize = 2_048;

/// A window of the newest committed events, read from the log and kept in
/// memory. It only ever holds what a read of the log returned, contiguous
/// in sequence order (the log has no gaps), so serving from it never
/// invents or skips an event.
#[derive(Debug)]
pub struct Tail {
    db: Db,
    capacity: usize,
    recent: Mutex<VecDeque<RecordedEvent>>,
    /// One read of the log at a time for [`Tail::read_after`]: the runners
    /// a commit wakes together would otherwise all miss the memory at once
    /// and read the same events each.
    reading: tokio::sync::Mutex<()>,
}

impl Tail {
    /// A tail over `db`'s log keeping at most `capacity` events.
    pub fn new(db: Db, capacity: usize) -> Arc<Tail> {
        Arc::new(Tail {
            db,
            capacity: capacity.max(1),
            recent: Mutex::new(VecDeque::new()),
            reading: tokio::sync::Mutex::new(()),
        })
    }

    /// Up to `limit` events after sequence number `after`, in order, as of
    /// a fresh read of the log (what another process committed included).
    ///
    /// Errors: the database failed, or a payload is not JSON.
    pub async fn read_fresh(&self, after: i64, limit: i64) -> Result<Vec<RecordedEvent>, EventLogError> {
        let events = read_after(&self.db, after, limit).await?;
        self.remember(&events);
        Ok(events)
    }

    /// Up to `limit` events after `after`, in order, up to what this
    /// process knows to be committed ([`Db::log_head`]): from memory where
    /// it holds them, reading only what it lacks. Events other processes
    /// committed since this process last read the log may be missing
    /// (use [`Tail::read_fresh`] on a poll).
    ///
    /// Errors: as [`Tail::read_fresh`].
    pub async fn read_after(&self, after: i64, limit: i64) -> Result<Vec<RecordedEvent>, EventLogError> {
        let limit_len = usize::try_from(limit.max(0)).unwrap_or(usize::MAX);
        let (events, held_up_to) = self.held(after, limit_len);
        if events.len() >= limit_len || held_up_to >= *self.db.log_head().borrow() {
            return Ok(events);
        }
        // Someone else may be reading just that: wait for them, then look again.
        let _reading = self.reading.lock().await;
        let (mut events, held_up_to) = self.held(after, limit_len);
        if events.len() >= limit_len || held_up_to >= *self.db.log_head().borrow() {
            return Ok(events);
        }
        let wanted = limit - i64::try_from(events.len()).unwrap_or(limit);
        events.extend(self.read_fresh(held_up_to, wanted).await?);
        Ok(events)
    }

    /// The sequence number of the latest event of `order` after `after`
    /// that this process knows committed (`after` when there is none):
    /// what an order's story has grown to since, its consequences included.
    ///
    /// Errors: as [`Tail::read_fresh`].
    pub async fn last_of_order(&self, order: i64, after: i64) -> Result<i64, EventLogError> {
        let mut latest = after;
        let mut from = after;
        loop {
            let events = self.read_after(from, 500).await?;
            let Some(last) = events.last().map(|e| e.seq) else {
                return Ok(latest);
            };
            if let Some(seq) = events
                .iter()
                .rev()
                .find(|e| e.correlation_id == Some(order))
                .map(|e| e.seq)
            {
                latest = latest.max(seq);
            }
            from = last;
        }
    }

    /// What memory holds after `after` (at most `limit`), and the sequence
    /// number it is complete up to (`after` when it holds nothing there).
    fn held(&self, after: i64, limit: usize) -> (Vec<RecordedEvent>, i64) {
        let Ok(recent) = self.recent.lock() else {
            return (Vec::new(), after);
        };
        match (recent.front().map(|e| e.seq), recent.back().map(|e| e.seq)) {
            (Some(first), Some(last)) if first <= after + 1 && after <= last => {
                // Contiguous: the event after `after` sits at a known index.
                let from = usize::try_from(after + 1 - first).unwrap_or(0);
                let held = recent.iter().skip(from).take(limit).cloned().collect();
                (held, last)
            }
            _ => (Vec::new(), after),
        }
    }

    /// Keeps `events` that a transaction of this process appended and has
    /// just committed (`crate::Inline` read them inside it), when they
    /// continue what is held: the consumers and the live hub then need not
    /// read them back. After a gap it keeps nothing (readers read the log).
    pub(crate) fn remember_committed(&self, events: &[RecordedEvent]) {
        let Some(first) = events.first() else { return };
        let continues = match self.recent.lock() {
            Ok(recent) => recent.back().is_some_and(|held| first.seq == held.seq + 1),
            Err(_) => false,
        };
        if continues {
            self.remember(events);
        }
    }

    /// Keeps `events` (just read from the log after some sequence number)
    /// when they continue what is held; otherwise they start a new window.
    fn remember(&self, events: &[RecordedEvent]) {
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return;
        };
        self.db.saw_log_head(last.seq);
        let Ok(mut recent) = self.recent.lock() else { return };
        let held_last = recent.back().map(|e| e.seq);
        match held_last {
            // Continues (or overlaps) the window.
            Some(held) if first.seq <= held + 1 => {
                recent.extend(events.iter().filter(|e| e.seq > held).cloned());
            }
            // After a gap (a reader far ahead of the window): start anew.
            _ => {
                recent.clear();
                recent.extend(events.iter().cloned());
            }
        }
        while recent.len() > self.capacity {
            recent.pop_front();
        }
    }
}

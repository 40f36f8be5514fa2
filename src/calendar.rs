//! (stub: owned by the deadlines work) The Estonian working-day calendar.

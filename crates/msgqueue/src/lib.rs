//! rumor-msgqueue: placeholder, filled in by its issue.

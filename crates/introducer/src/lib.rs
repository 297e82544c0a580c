//! rumor-introducer: placeholder, filled in by its issue.

//! rumor-daemon: placeholder, filled in by its issue.

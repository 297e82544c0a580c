//! rumor-dgrep: placeholder, filled in by its issue.

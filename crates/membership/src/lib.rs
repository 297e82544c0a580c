//! rumor-membership: placeholder, filled in by its issue.

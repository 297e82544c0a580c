//! rumor-viz: placeholder, filled in by its issue.

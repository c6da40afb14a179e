//! The market API: HTTP over the index, and creator uploads.

//! berth's workshop exercises.

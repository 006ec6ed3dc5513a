//! moxide storage.

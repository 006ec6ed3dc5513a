//! Administration commands that need no network, shared by the runtimes'
//! command lines (`moxide config …`): each takes the store and its input
//! as arguments and returns what to print or a clear error.

pub mod account;
pub mod keygen;
pub mod tlspubkey;

#[cfg(test)]
mod tlspubkey_tests;

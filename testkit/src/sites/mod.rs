//! Fixture sites served on 127.0.0.1 for the end-to-end tests.

pub mod attacker;
pub mod changing;
pub mod forms;
pub mod strict;
pub mod topics;
pub mod trap;

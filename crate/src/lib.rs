//! partita: Dask's ideas (bags, arrays and dataframes over partitions, task graphs,
//! schedulers, tree reductions, delayed and futures) in Rust, for WebAssembly and native.
//!
//! See ARCHITECTURE.md at the repository root for the map of this crate.

// Engine code must not panic (in wasm a panic kills the module); tests may.
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]

pub mod error;
pub mod value;

pub use error::{Error, ErrorKind, Result};
pub use value::Value;

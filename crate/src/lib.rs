//! partita: Dask's ideas (bags, arrays and dataframes over partitions, task graphs,
//! schedulers, tree reductions, delayed and futures) in Rust, for WebAssembly and native.
//!
//! See ARCHITECTURE.md at the repository root for the map of this crate.

// Engine code must not panic (in wasm a panic kills the module); tests may.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod array;
pub mod bag;
pub mod bench;
pub mod dataframe;
pub mod delayed;
pub mod engine;
pub mod error;
pub mod events;
pub mod expr;
pub mod futures;
pub mod graph;
pub mod lower;
pub mod ops;
pub mod partition;
pub mod plan;
pub mod pooled_alloc;
pub mod reduction;
pub mod registry;
pub mod runtime;
pub mod scheduler;
pub mod value;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

// Bags and dataframes allocate small values all the time. In the threaded bundle std's
// wasm allocator serialises them behind one lock; on one thread its search is still
// slower than a size-class pop (see pooled_alloc).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: pooled_alloc::PooledAlloc<std::alloc::System> =
    pooled_alloc::PooledAlloc::new(std::alloc::System);

pub use engine::{ComputeOptions, Computed, Engine, SchedulerKind};
pub use error::{Error, ErrorKind, Result};
pub use events::{Event, EventSink};
pub use plan::{Node, Plan};
pub use value::Value;

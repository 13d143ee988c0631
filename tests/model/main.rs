//! Model-based property tests (reliability items 1 and 2).
//!
//! - `ims_and_swr_agree_with_the_reference_model`: random sequences of IMS and
//!   SWR tag operations run against a real server over HTTP and against a small
//!   reference model written from the README; after every step their answers
//!   (status, error code, body) agree.
//! - `walks_return_every_tag_once_in_order`: v2 offset walks and v3 marker
//!   walks, any limit and order, over repositories of 0..2000 tags with tied
//!   update times, return each tag exactly once in the documented order.
//! - `marker_walks_hold_under_a_concurrent_writer`: a v3 marker walk while a
//!   writer task creates, re-tags and deletes tags between its pages: every
//!   page is exactly what the model says follows the marker, and the walk as a
//!   whole returns every tag outside the writer's reach exactly once.
//! - `any_accepted_state_exports_and_reloads_to_the_same_state`: any state the
//!   server accepts exports and loads back into a fresh server unchanged.
//!
//! Each property prints its seed (`PROPTEST_RNG_SEED=…`) on failure; set that
//! variable to replay the same cases. `PROPTEST_CASES` overrides case counts.
//!
//! # Layout
//!
//! | file | what lives there |
//! | --- | --- |
//! | `support.rs` | proptest config and seeds, the runtime, the HTTP call that fails on a 5xx |
//! | `ops.rs` | **the operations**: the `Op` enum and the strategies that generate them |
//! | `reference.rs` | **the reference model**: the fixture and what it predicts (`ImsModel`, `SwrModel`) |
//! | `check.rs` | **the checks**: `Case::step` sends one `Op` and compares the answer with the model; the model property |
//! | `paging.rs` | the paging properties (offset and marker walks, the concurrent writer) |
//! | `export.rs` | the export round-trip property and its own `StateOp` operations |
//!
//! # Adding an operation to the model property
//!
//! 1. `ops.rs`: add a variant to `Op` (its fields are the random inputs) and an
//!    arm with a weight to `op_strategy`, drawing from the small value sets
//!    there (or new ones beside them), so that operations collide often.
//! 2. `reference.rs`: if the operation reads or changes state the model does
//!    not hold yet, add it to the fixture (`model_fixture`) *and* to the model
//!    (`ImsModel::new`, `SwrModel`), with the rule that predicts the answer,
//!    written from the README and the API page, not from `src/`.
//! 3. `check.rs`: add the arm to `Case::step`: build the request as an SDK
//!    sends it, predict the status and error code (and body) from the model,
//!    compare, and apply the change to the model only when the server must
//!    have accepted it. A failed write changes nothing.
//! 4. If the operation reads the whole state, add a final check to `run_ops`.

#[path = "../common/mod.rs"]
mod common;

mod check;
mod export;
mod ops;
mod paging;
mod reference;
mod support;

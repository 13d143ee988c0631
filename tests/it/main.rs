//! Black-box tests over real HTTP: each test starts its own server on
//! `127.0.0.1:0` and calls it with reqwest. One binary, many modules.

mod admin;
mod auth;
mod cache;
mod cli;
mod env_cmd;
mod errors;
mod faults;
mod fidelity;
mod fixtures;
mod healthcheck;
mod helpers;
mod ims;
mod ims_tags;
mod registry;
mod resources;
mod swr_tags;
mod swr_v2;
mod swr_v3;
mod tls_persist;

//! Integration tests: one binary for all of them (`cargo test --test it`).

mod admin;
mod browser;
mod check;
mod cli;
mod datasets;
mod escalation;
mod eval;
mod exe;
mod forget;
mod http;
mod packaging;
mod receiver;
mod replicas;
mod semantic;
mod server;
mod webhook;

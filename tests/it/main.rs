//! Integration tests: one binary for all of them (`cargo test --test it`).

mod browser;
mod check;
mod cli;
mod datasets;
mod escalation;
mod eval;
mod exe;
mod forget;
mod http;
mod receiver;
mod semantic;
mod server;
mod shop_content;
mod webhook;

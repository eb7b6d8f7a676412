//! Integration tests: one binary for all of them (`cargo test --test it`).

mod admin;
mod browser;
mod check;
mod cli;
mod conversation;
mod convtest;
mod datasets;
mod escalation;
mod eval;
mod exe;
mod flows;
mod forget;
mod gaps;
mod handover;
mod heldout;
mod http;
mod languages;
mod packaging;
mod readme;
mod receiver;
mod replicas;
mod semantic;
mod server;
mod shop_content;
mod start;
mod webhook;

//! Concierge: a self-hosted chatbot and FAQ self-service engine for online shops.
//!
//! A shopper's message goes in; one decision comes out: answer it (from an intent or a
//! knowledge-base article), ask "did you mean…?", or hand it to a person, with one calibrated
//! confidence.
//!
//! ```
//! use concierge::{config::Settings, Engine, Question};
//!
//! let mut settings = Settings::default();
//! settings.knowledge_base = "knowledge-base".into();
//! settings.intents = "intents".into();
//! let (engine, _problems) = Engine::load(&settings).unwrap();
//! let reply = engine.ask(&Question::new("can I send my boots back?"));
//! println!("{:?} {}: {}", reply.outcome, reply.confidence, reply.text);
//! ```

pub mod chatwoot;
pub mod config;
pub mod conversation;
pub mod convtest;
pub mod cpu;
pub mod diagnostic;
pub mod engine;
pub mod escalation;
pub mod eval;
pub mod flows;
pub mod gaps;
pub mod handover;
pub mod http;
pub mod ids;
pub mod intents;
pub mod kb;
pub mod locale;
pub mod messages;
pub mod nlu;
pub mod pii;
pub mod progress;
pub mod search;
pub mod store;
pub mod window;

pub use engine::{Engine, Outcome, Question, Reply};

//! wallwatch: a terminal control room for the Wall.
//!
//! The layers, lowest first; each may use only those below it:
//! - the domain: `wall`, `sensors`, and the shared `units`, `text`, `hash`, `files`, `lockfile`;
//! - `store`: readings and crew reports kept, behind one trait;
//! - `engine`: the async shell (clock, network, collector, producer tasks);
//! - `site`: the site model, a snapshot and numbered events for every viewer;
//! - the views: `app` + `ui` + `term` (the terminal), `serve` (the socket), `http`, `broker`;
//! - `config`: the command line and the TOML file, made into one `Config`;
//! - `cmd`: one module per subcommand, dispatched by `main`.

pub mod app;
pub mod broker;
pub mod cmd;
pub mod config;
pub mod engine;
pub mod files;
pub mod hash;
pub mod http;
pub mod lockfile;
pub mod logfile;
pub mod runtime;
pub mod sensors;
pub mod serve;
pub mod site;
pub mod store;
pub mod term;
pub mod text;
pub mod ui;
pub mod units;
pub mod wall;

//! wallwatch: a terminal control room for the Wall.
//!
//! `wall` and `sensors` are the pure domain; `store` persists; `engine` is the async shell;
//! `app` and `ui` are the dashboard's state and drawing.

pub mod app;
pub mod attach;
pub mod bench;
pub mod broker;
pub mod cli;
pub mod client;
pub mod config;
pub mod dashboard;
pub mod engine;
pub mod export;
pub mod hash;
pub mod headless;
pub mod http;
pub mod keymap;
pub mod logfile;
pub mod profiles_file;
pub mod protocol;
pub mod query;
pub mod report;
pub mod runtime;
pub mod sensors;
pub mod serve;
pub mod services;
pub mod site;
pub mod store;
pub mod text;
pub mod tui;
pub mod ui;
pub mod units;
pub mod wall;

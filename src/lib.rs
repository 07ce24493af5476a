//! wallwatch: a terminal control room for the Wall.
//!
//! `wall` and `sensors` are the pure domain; `store` persists; `engine` is the async shell;
//! `app` and `ui` are the dashboard's state and drawing.

pub mod app;
pub mod cli;
pub mod engine;
pub mod keymap;
pub mod sensors;
pub mod store;
pub mod tui;
pub mod ui;
pub mod wall;

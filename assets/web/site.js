// What the page shares with the site's code. Each list is held to the Rust one by a test
// (tests/web_page.rs), so the page's filters and choices are the terminal's.

/** Every target the site logs under (site::log::TARGETS). */
export const TARGETS = ["crew", "sensor", "network", "store", "engine", "serve", "http", "broker", "control"];
/** Every sensor kind a site makes (sensors::KINDS). */
export const KINDS = ["default", "thermometer", "strain", "seismometer", "cpu", "memory", "load"];
/** Log levels, most severe first. */
export const LEVELS = ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"];
/** The speeds `-` and `+` step between (app::MIN_SPEED, app::MAX_SPEED); past the fastest is max. */
export const MIN_SPEED = 0.0625;
export const MAX_SPEED = 4096;
/** A finished section's height (wall::MAX_HEIGHT). */
export const MAX_HEIGHT = 30;
/** Cubic yards of ice per foot, Gold Dragons per foot (wall::ICE_PER_FOOT, wall::COST_PER_FOOT). */
export const ICE_PER_FOOT = 195;
export const COST_PER_FOOT = 370500;
/** A reading's range (sensors::MIN_VALUE, sensors::MAX_VALUE). */
export const MIN_VALUE = -100;
export const MAX_VALUE = 100;
/** Readings kept per sensor for its sparkline (site::model::HISTORY). */
export const HISTORY = 120;
/** Log lines the site keeps for a new viewer (site::model::RECENT_LOG). */
export const RECENT_LOG = 200;
/** Readings per sparkline bar, as the terminal groups them (ui::sensors::GROUP). */
export const GROUP = 4;

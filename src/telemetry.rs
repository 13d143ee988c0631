//! Logging setup. Logs go to stderr, so stdout carries only the one
//! `Listening at …` line that scripts wait for. Per-request events are at
//! `debug`; tokens, keys, signatures and bodies are never logged.

use std::io::IsTerminal;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The levels a filter directive may name.
const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// Checks a `--log-level` filter: comma-separated directives, each a level
/// (`debug`) or `target=level` (`ims_swr_mock=debug`, `hyper[span]=trace`).
///
/// `tracing`'s own parser takes a lone word as a target name, so a misspelt
/// level (`debg`) used to turn every log line off without a word. Here a
/// lone word must be a level; name a target with `target=level`.
pub(crate) fn parse_filter(text: &str) -> Result<String, String> {
    let level = |word: &str| LEVELS.iter().any(|l| l.eq_ignore_ascii_case(word.trim()));
    for directive in text.split(',') {
        let directive = directive.trim();
        if directive.is_empty() {
            return Err(format!("{text:?} has an empty directive"));
        }
        match directive.rsplit_once('=') {
            Some((target, lvl)) if !target.trim().is_empty() && level(lvl) => {}
            Some((_, lvl)) if !level(lvl) => {
                return Err(format!(
                    "{lvl:?} in {directive:?} is not a level ({})",
                    LEVELS.join(", ")
                ));
            }
            Some(_) => return Err(format!("{directive:?} names no target before =")),
            None if level(directive) => {}
            None => {
                return Err(format!(
                    "{directive:?} is not a level ({}); to filter by target, write target=level",
                    LEVELS.join(", ")
                ));
            }
        }
    }
    EnvFilter::try_new(text).map_err(|e| format!("{text:?}: {e}"))?;
    Ok(text.to_owned())
}

/// Installs the global subscriber. `level` is an `EnvFilter` directive such
/// as `info` or `ims_swr_mock=debug,hyper=debug`.
pub(crate) fn init(format: LogFormat, level: &str) -> Result<(), String> {
    let filter =
        EnvFilter::try_new(level).map_err(|e| format!("invalid --log-level {level:?}: {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_must_name_real_levels() {
        for good in [
            "info",
            "DEBUG",
            "off",
            "ims_swr_mock=debug",
            "ims_swr_mock=debug,hyper=warn",
            "info,ims_swr_mock::auth=trace",
        ] {
            assert_eq!(parse_filter(good).as_deref(), Ok(good), "{good}");
        }
        for bad in [
            "debg",
            "",
            "info,",
            "ims_swr_mock=debg",
            "=debug",
            "ims_swr_mock",
            "[[[",
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
        assert!(parse_filter("debg").unwrap_err().contains("not a level"));
    }
}

//! The command line: parse it, then serve, generate a fixture, or check
//! health. `main.rs` only calls [`main`].
//!
//! - `args`: the flags, their environment twins and their checks.
//! - `healthcheck`: the `healthcheck` subcommand (the image's `HEALTHCHECK`).
//! - `env`: the `env` subcommand (the SDKs' own variables, for any language).

pub(crate) mod args;
pub(crate) mod env;
pub(crate) mod healthcheck;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::StartError;
use crate::server::shutdown_signal;
use crate::store::generate::{GenerateSpec, ResourceSpec, write_fixture_with};
use args::{Cli, Command, GenerateArgs, ServeArgs};

/// Runs the command line: the `ims-swr-mock` binary is this function.
pub fn main() -> ExitCode {
    let cli = match parse_cli() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match cli.command {
        None => run(cli.serve),
        Some(Command::GenerateFixture(args)) => generate(args),
        Some(Command::Healthcheck(args)) => healthcheck::run(args),
        Some(Command::Env(args)) => env::run(args),
    }
}

/// Parses the command line and the environment. A bad value is refused
/// with exit 2, naming where it came from: the flag, or the environment
/// variable when the value was read from there (clap's own message names
/// the flag even then).
fn parse_cli() -> Result<Cli, ExitCode> {
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(std::env::args_os());
    let error = match matches.and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => return Ok(cli),
        Err(e) => e,
    };
    if let Some(message) = from_environment(&command, &error) {
        eprint!("{message}");
        return Err(ExitCode::from(2));
    }
    let code = if error.use_stderr() { 2 } else { 0 };
    let _ = error.print();
    Err(ExitCode::from(code))
}

/// Clap's message for a bad value, rewritten to name the environment
/// variable when the value came from one (the flag was not given), and to
/// hide the value of a secret setting (such as `--admin-token`).
fn from_environment(command: &clap::Command, error: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(
        error.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return None;
    }
    let Some(ContextValue::String(shown)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = shown.strip_prefix("--")?.split([' ', '=']).next()?;
    // The subcommand's own flags first (`env --region` has a twin of its own).
    let sub = std::env::args()
        .skip(1)
        .find_map(|a| command.get_subcommands().find(|s| s.get_name() == a));
    let arg = sub
        .into_iter()
        .flat_map(clap::Command::get_arguments)
        .chain(command.get_arguments())
        .find(|a| a.get_long() == Some(long))?;
    let mut text = error.render().to_string();
    let mut changed = false;
    if arg.is_hide_env_values_set()
        && let Some(ContextValue::String(value)) = error.get(ContextKind::InvalidValue)
        && !value.is_empty()
    {
        text = text.replace(value.as_str(), "<hidden>");
        changed = true;
    }
    let from_env = arg
        .get_env()
        .and_then(|env| env.to_str())
        .filter(|env| std::env::var_os(env).is_some())
        .filter(|_| {
            !std::env::args()
                .skip(1)
                .any(|a| a == format!("--{long}") || a.starts_with(&format!("--{long}=")))
        });
    if let Some(env) = from_env {
        text = text.replacen(
            &format!("'{shown}'"),
            &format!("environment variable {env} (the twin of '--{long}')"),
            1,
        );
        changed = true;
    }
    changed.then_some(text)
}

/// The runtime: multi-threaded with `workers` threads (0: one per available
/// core), or single-threaded when that comes to one.
fn runtime_with(workers: usize) -> Result<tokio::runtime::Runtime, String> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let workers = if workers == 0 { cores } else { workers };
    let mut builder = if workers <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(workers);
        b
    };
    builder
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// Serves until SIGINT or SIGTERM. Exit 2 for bad fixtures, 1 for other failures.
fn run(args: ServeArgs) -> ExitCode {
    if let Err(e) = crate::telemetry::init(args.log_format, &args.log_level) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let workers = args.workers;
    let builder = args.into_builder();
    let rt = match runtime_with(workers) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(async {
        let stop = shutdown_signal();
        let server = match builder.start().await {
            Ok(server) => server,
            Err(StartError::Fixture(e)) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        };
        // The one stable line scripts wait for; do not change its wording.
        println!("Listening at {}", server.uri());
        let _ = std::io::stdout().flush();
        stop.await;
        match server.shutdown().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error while shutting down: {e}");
                ExitCode::from(1)
            }
        }
    })
}

/// `generate-fixture`: writes a fixture to stdout.
fn generate(args: GenerateArgs) -> ExitCode {
    let extra = ResourceSpec {
        namespaces: args.namespaces,
        repos_per_namespace: args.repos_per_namespace,
        tags_per_repo: args.tags_per_repo,
    };
    let spec = GenerateSpec {
        namespace: args.namespace,
        repository: args.repository,
        tags: args.tags,
        images: if args.project.is_some() {
            args.images
        } else {
            0
        },
        project: args.project,
        tags_per_image: usize::from(args.tags_per_image),
    };
    if let Err(problems) = crate::store::generate::check(&spec) {
        for problem in problems {
            eprintln!("error: {problem}");
        }
        return ExitCode::from(2);
    }
    let stdout = std::io::stdout().lock();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout);
    match write_fixture_with(&spec, &extra, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write the fixture: {e}");
            ExitCode::from(1)
        }
    }
}

/// Checks a setting's parser: it takes every one of `good` and refuses
/// every one of `bad` (each failure names the value).
#[cfg(test)]
pub(crate) fn assert_takes_only<T, E>(
    parse: impl Fn(&str) -> Result<T, E>,
    good: &[&str],
    bad: &[&str],
) {
    for value in good {
        assert!(parse(value).is_ok(), "{value:?} should be taken");
    }
    for value in bad {
        assert!(parse(value).is_err(), "{value:?} should be refused");
    }
}

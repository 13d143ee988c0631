//! The `ims-swr-mock` binary: parse the command line, then serve, generate a
//! fixture, or check health. Everything else lives in the library.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

/// mimalloc, without transparent huge pages: glibc's allocator slows every
/// request 2.6x in a process that has loaded a big store (a fragmented heap),
/// and with huge pages mimalloc's idle footprint grows by 7 MB (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use ims_swr_mock::StartError;
use ims_swr_mock::config::{Cli, Command, GenerateArgs, ServeArgs};
use ims_swr_mock::server::shutdown_signal;
use ims_swr_mock::store::generate::{GenerateSpec, write_fixture};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => run(cli.serve),
        Some(Command::GenerateFixture(args)) => generate(args),
        Some(Command::Healthcheck(args)) => ims_swr_mock::healthcheck::run(args),
    }
}

/// The runtime: multi-threaded with `workers` threads (0: one per available
/// core), or single-threaded when that comes to one.
fn runtime_with(workers: usize) -> Result<tokio::runtime::Runtime, String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
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
    if let Err(e) = ims_swr_mock::telemetry::init(args.log_format, &args.log_level) {
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
    let stdout = std::io::stdout().lock();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout);
    match write_fixture(&spec, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write the fixture: {e}");
            ExitCode::from(1)
        }
    }
}

//! The `ims-swr-mock` binary: everything lives in the library's command
//! line ([`ims_swr_mock::cli`]); this file only picks the allocator.

/// mimalloc, without transparent huge pages: glibc's allocator slows every
/// request 2.6x in a process that has loaded a big store (a fragmented heap),
/// and with huge pages mimalloc's idle footprint grows by 7 MB (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    ims_swr_mock::cli::main()
}

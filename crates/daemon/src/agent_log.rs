//! `DATA_DIR/agent.log`: human-readable lines of everything the agent does —
//! membership events and operational messages (joins, refusals, errors) —
//! written through `tracing`, optionally copied to standard error (in
//! colour only when standard error is a terminal and `NO_COLOR` is unset).

use std::io::IsTerminal;
use std::path::Path;

use crate::log_file::LogFile;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Whether standard error gets colour: only a terminal, and only without
/// `NO_COLOR` (<https://no-color.org>: set and not empty).
pub fn colour_on_stderr() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stderr().is_terminal()
}

/// Installs the process-wide log: lines at `info` and above (or as
/// `RUST_LOG` says) appended to `path` (rotated at `max_size` bytes when
/// given), and copied to standard error unless `quiet`. Returns the file's
/// handle, to reopen it on SIGHUP.
pub fn install(path: &Path, quiet: bool, max_size: Option<u64>) -> std::io::Result<LogFile> {
    let file = LogFile::open(path, max_size)?;
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let to_file = fmt::layer()
        .with_writer(file.clone())
        .with_ansi(false)
        .with_target(false)
        .with_filter_boxed(filter());
    // The line an agent exits with is printed once by main; keep its log copy out of stderr.
    let to_stderr = (!quiet).then(|| {
        let quiet_exit = "rumor::exit=off"
            .parse()
            .expect("a literal directive parses");
        fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(colour_on_stderr())
            .with_target(false)
            .with_filter_boxed(filter().add_directive(quiet_exit))
    });
    tracing_subscriber::registry()
        .with(to_file)
        .with(to_stderr)
        .try_init()
        .map_err(std::io::Error::other)?;
    Ok(file)
}

/// Boxes a layer with its own filter, so both outputs can differ in type.
trait WithFilterBoxed<S> {
    fn with_filter_boxed(
        self,
        filter: EnvFilter,
    ) -> Box<dyn tracing_subscriber::Layer<S> + Send + Sync + 'static>;
}

impl<S, L> WithFilterBoxed<S> for L
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    L: tracing_subscriber::Layer<S> + Send + Sync + 'static,
{
    fn with_filter_boxed(
        self,
        filter: EnvFilter,
    ) -> Box<dyn tracing_subscriber::Layer<S> + Send + Sync + 'static> {
        Box::new(self.with_filter(filter))
    }
}

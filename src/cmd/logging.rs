//! Operational logs of the services (`ddrm licence node`, `ddrm serve`, `ddrm indexer`): events
//! from `tracing`, to standard error, human-readable by default and one JSON object per line
//! with `--log-format json`. Levels: `DDRM_LOG` (an `EnvFilter` directive, e.g. `debug` or
//! `market_api=debug`), by default [`DEFAULT_FILTER`]. Standard output stays for results.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Our crates at INFO (and the market API's request log), everything else at WARN: sqlx, hyper
/// and alloy log at INFO and below what an operator does not need.
pub const DEFAULT_FILTER: &str = "warn,ddrm=info,licence_net=info,market_api=info,indexer=info,\
stack=info,player=info,tower_http::trace=info";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Human,
    /// One JSON object per event (timestamp, level, target, fields, spans).
    Json,
}

impl LogFormat {
    /// Its `--log-format` value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Json => "json",
        }
    }
}

/// The subscriber for `format`, writing to `writer`, filtered by `filter`.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false);
    match format {
        LogFormat::Human => Box::new(builder.finish()),
        LogFormat::Json => Box::new(builder.json().finish()),
    }
}

/// Installs the process's subscriber (standard error). A `DDRM_LOG` that does not parse is an
/// error, not a silent default.
pub fn init(format: LogFormat) -> anyhow::Result<()> {
    let filter = match std::env::var("DDRM_LOG") {
        Ok(directives) => EnvFilter::try_new(&directives)
            .map_err(|e| anyhow::anyhow!("DDRM_LOG={directives:?}: {e}"))?,
        Err(_) => EnvFilter::new(DEFAULT_FILTER),
    };
    tracing::subscriber::set_global_default(subscriber(format, filter, std::io::stderr))
        .map_err(|e| anyhow::anyhow!("cannot install the log subscriber: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'w self) -> Buffer {
            self.clone()
        }
    }

    fn logged(format: LogFormat) -> String {
        let buffer = Buffer::default();
        let sub = subscriber(format, EnvFilter::new(DEFAULT_FILTER), buffer.clone());
        tracing::subscriber::with_default(sub, || {
            tracing::info!(target: "licence_net::node", node = 2, code = "no_access", "licence refused");
            tracing::info!(target: "sqlx::query", "SELECT 1");
        });
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn json_lines_parse_and_carry_the_fields() {
        let text = logged(LogFormat::Json);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 1, "sqlx's INFO is filtered out: {text}");
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["target"], "licence_net::node");
        assert_eq!(v["fields"]["message"], "licence refused");
        assert_eq!(v["fields"]["code"], "no_access");
        assert_eq!(v["fields"]["node"], 2);
    }

    #[test]
    fn human_lines_are_one_per_event() {
        let text = logged(LogFormat::Human);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.contains("INFO")
                && text.contains("licence refused")
                && text.contains("code=\"no_access\""),
            "{text}"
        );
        assert!(serde_json::from_str::<serde_json::Value>(text.trim()).is_err());
    }
}

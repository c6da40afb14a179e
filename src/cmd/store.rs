//! `ddrm store add|cat`, and the store arguments every command that reads or writes content
//! takes.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use futures::TryStreamExt;
use stack::StackFile;
use store::{add_and_pin, open_store, ByteRange, Cid, StoreConfig};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::args::{DataDirArgs, OutputArgs, Resolve, IPFS_API_ENV};

/// Where content is stored: the embedded store in the data directory (default) or a kubo node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct StoreArgs {
    #[command(flatten)]
    pub data: DataDirArgs,

    /// Use a kubo node's RPC API instead of the embedded store, e.g. http://127.0.0.1:5001 or
    /// /ip4/127.0.0.1/tcp/5001 [env: DDRM_IPFS_API; with --stack: the stack's store].
    #[arg(long, value_name = "URL", global = true)]
    pub ipfs_api: Option<String>,
}

impl Resolve for StoreArgs {
    /// The stack's store when neither flag is given; then the environment.
    fn resolve(&mut self, stack: Option<&StackFile>) -> anyhow::Result<()> {
        if self.data.data_dir.is_some() || self.ipfs_api.is_some() {
            return Ok(());
        }
        match stack.map(StackFile::store_config) {
            Some(StoreConfig { data_dir, ipfs_api }) => {
                self.data.data_dir = Some(data_dir);
                self.ipfs_api = ipfs_api;
            }
            None => {
                self.data.resolve(None)?;
                self.ipfs_api = std::env::var(IPFS_API_ENV).ok().filter(|v| !v.is_empty());
            }
        }
        Ok(())
    }
}

impl StoreArgs {
    /// The store these arguments select.
    pub fn config(&self) -> StoreConfig {
        StoreConfig {
            data_dir: self.data.dir(),
            ipfs_api: self.ipfs_api.clone(),
        }
    }
}

/// `ddrm store` subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum StoreCommand {
    /// Add a file to the store, pin it, and print its CID.
    Add {
        /// The file to add.
        file: PathBuf,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Write stored content (or a byte range of it) to standard output.
    Cat {
        /// The content's CID (CIDv1, as printed by `ddrm store add`).
        cid: Cid,
        /// First byte to write.
        #[arg(long, default_value_t = 0, value_name = "N")]
        offset: u64,
        /// Bytes to write at most (default: to the end).
        #[arg(long, value_name = "N")]
        length: Option<u64>,
    },
}

/// Runs `cmd` against the store `config` names: `add` prints the CID on standard output, `cat`
/// writes the bytes there.
pub async fn run(cmd: StoreCommand, config: &StoreConfig) -> anyhow::Result<()> {
    run_with_output(cmd, config, &mut tokio::io::stdout()).await
}

/// [`run`], writing what it prints to `out` instead of standard output.
async fn run_with_output<W>(
    cmd: StoreCommand,
    config: &StoreConfig,
    out: &mut W,
) -> anyhow::Result<()>
where
    W: AsyncWrite + Unpin + Send,
{
    const OUTPUT: &str = "cannot write the output";
    match cmd {
        StoreCommand::Add { file, output } => {
            let cid = add_and_pin(config, &file).await?;
            let added = serde_json::json!({ "cid": cid.to_string() });
            let text = output.render(&added, |_| format!("{cid}\n"))?;
            out.write_all(text.as_bytes()).await.context(OUTPUT)?;
        }
        StoreCommand::Cat {
            cid,
            offset,
            length,
        } => {
            let store = open_store(config).await?;
            let mut bytes = store.cat(cid, ByteRange { offset, length }).await?;
            while let Some(chunk) = bytes.try_next().await? {
                out.write_all(&chunk).await.context(OUTPUT)?;
            }
        }
    }
    out.flush().await.context(OUTPUT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use store::StoreError;

    #[derive(Debug, Parser)]
    struct TestCli {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: StoreCommand,
    }

    #[test]
    fn parses_cat_with_range_and_validates_cid() {
        let cid = Cid::for_block(store::Codec::Raw, b"x");
        let cli = TestCli::try_parse_from([
            "store",
            "--data-dir",
            "/tmp/d",
            "cat",
            &cid.to_string(),
            "--offset",
            "5",
            "--length",
            "7",
        ])
        .expect("parses");
        assert_eq!(cli.store.data.data_dir, Some(PathBuf::from("/tmp/d")));
        assert_eq!(
            cli.command,
            StoreCommand::Cat {
                cid,
                offset: 5,
                length: Some(7)
            }
        );
        let bad = TestCli::try_parse_from(["store", "cat", "bafynotacid"]);
        let message = bad.expect_err("invalid CID refused").to_string();
        assert!(message.contains("invalid CID"), "{message}");
    }

    #[test]
    fn parses_add_with_kubo() {
        let cli = TestCli::try_parse_from([
            "store",
            "--ipfs-api",
            "http://127.0.0.1:5001",
            "add",
            "movie.ddrm",
        ])
        .expect("parses");
        assert_eq!(
            cli.store.config().ipfs_api.as_deref(),
            Some("http://127.0.0.1:5001")
        );
        assert_eq!(
            cli.command,
            StoreCommand::Add {
                file: PathBuf::from("movie.ddrm"),
                output: OutputArgs::default(),
            }
        );
    }

    #[tokio::test]
    async fn add_then_cat_a_range_through_the_commands() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("input.bin");
        let chunk = store::CHUNK_SIZE;
        let data: Vec<u8> = (0..chunk * 2 + 100).map(|i| (i % 251) as u8).collect();
        std::fs::write(&file, &data).expect("write input");
        let config = StoreConfig {
            data_dir: dir.path().join("data"),
            ipfs_api: None,
        };

        let mut as_json = Vec::new();
        let add = StoreCommand::Add {
            file: file.clone(),
            output: OutputArgs { json: true },
        };
        run_with_output(add, &config, &mut as_json)
            .await
            .expect("add --json");
        let json: serde_json::Value = serde_json::from_slice(&as_json).expect("add --json is JSON");
        let mut printed = Vec::new();
        let add = StoreCommand::Add {
            file,
            output: OutputArgs::default(),
        };
        run_with_output(add, &config, &mut printed)
            .await
            .expect("add");
        let printed = String::from_utf8(printed).expect("utf-8");
        let cid: Cid = printed.trim_end().parse().expect("add prints a CID");
        assert!(printed.ends_with('\n'));
        assert_eq!(json["cid"], cid.to_string(), "{json}");

        let mut bytes = Vec::new();
        let cat = StoreCommand::Cat {
            cid,
            offset: chunk as u64 - 3,
            length: Some(6),
        };
        run_with_output(cat, &config, &mut bytes)
            .await
            .expect("cat");
        assert_eq!(bytes, &data[chunk - 3..chunk + 3]);

        let past_end = StoreCommand::Cat {
            cid,
            offset: data.len() as u64 + 1,
            length: None,
        };
        let error = run_with_output(past_end, &config, &mut Vec::new())
            .await
            .expect_err("offset past the end");
        assert!(
            matches!(
                error.downcast_ref::<StoreError>(),
                Some(StoreError::RangeOutOfBounds { .. })
            ),
            "{error}"
        );
    }
}

//! `snap-store`: makes and maintains a static store repository (see spec/store.md).
#![forbid(unsafe_code)]

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use snap_store::{Channel, Repo, SecretKey};

#[derive(Parser)]
#[command(
    name = "snap-store",
    version,
    about = "Publish snaps into a static store repository any HTTP server can serve"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Make a new ed25519 publishing key: KEYFILE (secret, mode 0600) and KEYFILE.pub (the line
    /// devices trust).
    Keygen { keyfile: PathBuf },
    /// Make an empty repository (with --key, also a signed empty index).
    Init {
        repo: PathBuf,
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Add a .snap as its snap's next revision and release it to a channel.
    Publish {
        repo: PathBuf,
        file: PathBuf,
        #[arg(long, default_value = "latest/stable")]
        channel: String,
        /// Release to this percentage of devices only (0-100).
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
        rollout: Option<u8>,
        #[arg(long)]
        publisher: Option<String>,
        #[arg(long)]
        key: PathBuf,
    },
    /// Release an existing revision to a channel.
    Release {
        repo: PathBuf,
        name: String,
        revision: u64,
        channel: String,
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
        rollout: Option<u8>,
        #[arg(long)]
        key: PathBuf,
    },
    /// Close a channel: its devices follow the next more stable one.
    Close {
        repo: PathBuf,
        name: String,
        channel: String,
        #[arg(long)]
        key: PathBuf,
    },
    /// Show the repository's snaps, revisions and channels (signatures are not checked).
    List { repo: PathBuf },
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Keygen { keyfile } => keygen(&keyfile),
        Cmd::Init { repo, key } => {
            let key = key.as_deref().map(read_key).transpose()?;
            Repo::init(&repo, key.as_ref())?;
            println!("initialised {}", repo.display());
            Ok(())
        }
        Cmd::Publish {
            repo,
            file,
            channel,
            rollout,
            publisher,
            key,
        } => {
            let channel = Channel::parse(&channel)?;
            let key = read_key(&key)?;
            let p = Repo::open(&repo)?
                .publish(&file, &channel, rollout, publisher.as_deref(), &key)
                .with_context(|| format!("publishing {}", file.display()))?;
            let how = if p.new_revision {
                ""
            } else {
                " (already uploaded)"
            };
            println!(
                "{} {} revision {}{how} released to {}{} (index serial {})",
                p.name,
                p.version,
                p.revision,
                p.channel,
                pct(rollout),
                p.serial
            );
            Ok(())
        }
        Cmd::Release {
            repo,
            name,
            revision,
            channel,
            rollout,
            key,
        } => {
            let channel = Channel::parse(&channel)?;
            let key = read_key(&key)?;
            let serial = Repo::open(&repo)?.release(&name, revision, &channel, rollout, &key)?;
            println!(
                "{name} revision {revision} released to {channel}{} (index serial {serial})",
                pct(rollout)
            );
            Ok(())
        }
        Cmd::Close {
            repo,
            name,
            channel,
            key,
        } => {
            let channel = Channel::parse(&channel)?;
            let key = read_key(&key)?;
            let serial = Repo::open(&repo)?.close(&name, &channel, &key)?;
            println!("{name}: {channel} closed (index serial {serial})");
            Ok(())
        }
        Cmd::List { repo } => list(&Repo::open(&repo)?),
    }
}

fn pct(rollout: Option<u8>) -> String {
    match rollout {
        Some(p) if p < 100 => format!(" for {p}% of devices"),
        _ => String::new(),
    }
}

fn read_key(path: &Path) -> Result<SecretKey> {
    Ok(SecretKey::read(path)?)
}

fn keygen(path: &Path) -> Result<()> {
    let pub_path = {
        let mut s = path.as_os_str().to_owned();
        s.push(".pub");
        PathBuf::from(s)
    };
    if path.exists() || pub_path.exists() {
        bail!(
            "{} or {} already exists; not overwriting a key",
            path.display(),
            pub_path.display()
        );
    }
    let key = SecretKey::generate()?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(key.to_file_text().as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    std::fs::write(&pub_path, format!("{}\n", key.public()))
        .with_context(|| format!("writing {}", pub_path.display()))?;
    println!(
        "key {}\n  secret: {}\n  public: {} ({})",
        key.key_id(),
        path.display(),
        pub_path.display(),
        key.public()
    );
    Ok(())
}

fn list(repo: &Repo) -> Result<()> {
    let index = repo.load_unverified()?;
    println!("serial {}", index.serial);
    if index.snaps.is_empty() {
        println!("no snaps");
    }
    for (name, snap) in &index.snaps {
        println!(
            "{name}  publisher: {}",
            if snap.publisher.is_empty() {
                "-"
            } else {
                &snap.publisher
            }
        );
        for (ch, e) in &snap.channels {
            let r = &snap.revisions[&e.revision];
            let wave = match &e.rollout {
                Some(ro) => format!(
                    "  ({}%; others: {})",
                    ro.percentage,
                    ro.previous.map_or("none".into(), |p| p.to_string())
                ),
                None => String::new(),
            };
            println!("  {ch:<24} {:<12} {:<5}{wave}", r.version, e.revision);
        }
        for (n, r) in &snap.revisions {
            println!(
                "  rev {n:<5} {:<12} epoch {:<3} {} bytes  {}",
                r.version, r.epoch, r.size, r.blob
            );
        }
    }
    Ok(())
}

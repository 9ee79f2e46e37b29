//! `snap-image MODEL.yaml -o OUT_DIR`: builds one `VOLUME.img` per gadget volume from an image
//! model (the gadget, kernel, base and app snaps), in the style of `ubuntu-image snap`.
//! The model format is in `spec/image-model.md`.
#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use gadget_kernel::image::{Progress, build_images};
use indicatif::{ProgressBar, ProgressStyle};

/// Build disk images for a device from its gadget, kernel, base and app snaps.
#[derive(Parser)]
#[command(name = "snap-image", version)]
struct Args {
    /// The image model (YAML): the snaps, architecture, grade, sector size.
    model: PathBuf,
    /// Where to write VOLUME.img for each volume of the gadget (created if missing; an
    /// existing image there is never overwritten).
    #[arg(short = 'o', long = "output-dir", default_value = ".")]
    output_dir: PathBuf,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
}

/// A spinner with the current step, and a bar while a filesystem is copied into the image,
/// when stderr is a terminal; one line per step otherwise.
struct Display {
    bar: Option<ProgressBar>,
    copying: bool,
    quiet: bool,
}

impl Display {
    fn new(quiet: bool) -> Display {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new_spinner();
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Display {
            bar,
            copying: false,
            quiet,
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Progress for Display {
    fn step(&mut self, message: &str) {
        match &self.bar {
            Some(b) => {
                b.set_style(ProgressStyle::default_spinner());
                b.set_message(message.to_owned());
                self.copying = false;
            }
            None if !self.quiet => eprintln!("{message}"),
            None => {}
        }
    }

    fn bytes(&mut self, done: u64, total: u64) {
        let Some(b) = &self.bar else { return };
        if !self.copying {
            let style = ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            b.set_style(style.progress_chars("=> "));
            b.set_length(total);
            self.copying = true;
        }
        b.set_position(done);
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let mut display = Display::new(args.quiet);
    let result = build_images(&args.model, &args.output_dir, &mut display);
    display.finish();
    let images =
        result.with_context(|| format!("cannot build images from {}", args.model.display()))?;
    if !args.quiet {
        for image in &images {
            println!("{}", image.display());
        }
        eprintln!(
            "built {} image(s) in {:.1}s",
            images.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

//! Waiting for a change: poll it every 100 ms, as snap does, showing which task runs.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use snapd_api::{Change, Client};

/// Most local changes finish within tens of milliseconds: the first tenth of a second is polled
/// every 5 ms (a doubling back-off would see a change done at 15 ms only at 30 ms); later polls
/// back off to snap's 100 ms so a long change costs the daemon little.
const FAST_POLL: Duration = Duration::from_millis(5);
const FAST_POLLS: u32 = 20;
const MAX_POLL: Duration = Duration::from_millis(100);

/// Polls until the change is ready. `Done` is success; anything else is the change's error.
pub async fn wait_change(client: &Client, id: &str) -> anyhow::Result<Change> {
    let on_terminal = std::io::stderr().is_terminal();
    // As snap: a spinner with the task's summary, and a bar only for tasks that report
    // progress in bytes (downloads).
    let spinner = ProgressStyle::with_template("{spinner} {msg}").expect("valid template");
    let with_bar = ProgressStyle::with_template("{spinner} {msg} {wide_bar} {bytes}/{total_bytes}")
        .expect("valid template");
    let bar = on_terminal.then(|| {
        let b = ProgressBar::new_spinner();
        b.set_style(spinner.clone());
        b.enable_steady_tick(Duration::from_millis(100));
        b
    });
    let mut last_shown = String::new();
    let mut interval = FAST_POLL;
    let mut polls = 0u32;
    loop {
        let resp = client.get(&format!("/v2/changes/{id}")).await?;
        let change: Change = serde_json::from_value(resp.result).context("cannot decode change")?;
        if let Some(task) = change.tasks.iter().find(|t| t.status == "Doing") {
            if let Some(b) = &bar {
                b.set_message(task.summary.clone());
                if task.progress.total > 1 {
                    b.set_style(with_bar.clone());
                    b.set_length(task.progress.total);
                    b.set_position(task.progress.done);
                } else {
                    b.set_style(spinner.clone());
                }
            } else if task.summary != last_shown {
                // Plain lines where there is no terminal to redraw, on stderr so that stdout
                // keeps only the result.
                eprintln!("{}", task.summary);
                last_shown = task.summary.clone();
            }
        }
        if !change.ready && change.status == "Wait" {
            // Everything that can run has run; the rest waits for something outside the
            // daemon (a reboot into a new kernel or base). Waiting here would never end.
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            eprintln!("{}", waiting_message(&change));
            return Ok(change);
        }
        if change.ready {
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            if change.status == "Done" {
                return Ok(change);
            }
            match &change.err {
                Some(err) if !err.is_empty() => bail!("{err}"),
                _ => bail!(
                    "change finished in status {:?} with no error message",
                    change.status
                ),
            }
        }
        tokio::time::sleep(interval).await;
        polls += 1;
        if polls >= FAST_POLLS {
            interval = (interval * 2).min(MAX_POLL);
        }
    }
}

/// What a change in Wait waits for, from its waiting task's last log line (`TIME LEVEL
/// message`), e.g. "Change 7 waits: reboot required to try the new kernel".
fn waiting_message(change: &Change) -> String {
    let why = change
        .tasks
        .iter()
        .find(|t| t.status == "Wait")
        .and_then(|t| t.log.last())
        .map(|line| line.splitn(3, ' ').nth(2).unwrap_or(line).to_owned())
        .unwrap_or_else(|| "waiting".to_owned());
    format!(
        "Change {} waits: {why}; it goes on after that (see 'snap tasks {}')",
        change.id, change.id
    )
}

/// The change an async response started: with `no_wait` its id is printed and `None` comes
/// back (snap's `--no-wait`), otherwise the change once it is done.
pub async fn follow(
    client: &Client,
    resp: snapd_api::Response,
    no_wait: bool,
) -> anyhow::Result<Option<Change>> {
    let id = resp
        .change
        .context("async response without change reference")?;
    if no_wait {
        println!("{id}");
        return Ok(None);
    }
    wait_change(client, &id).await.map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapd_api::Task;

    #[test]
    fn a_waiting_change_says_what_it_waits_for() {
        let change = Change {
            id: "7".into(),
            status: "Wait".into(),
            tasks: vec![
                Task {
                    status: "Done".into(),
                    log: vec!["2026-11-25T10:00:00Z INFO linked".into()],
                    ..Task::default()
                },
                Task {
                    status: "Wait".into(),
                    log: vec![
                        "2026-11-25T10:00:01Z INFO reboot required to try the new kernel".into(),
                    ],
                    ..Task::default()
                },
            ],
            ..Change::default()
        };
        assert_eq!(
            waiting_message(&change),
            "Change 7 waits: reboot required to try the new kernel; it goes on after that \
             (see 'snap tasks 7')"
        );
    }
}

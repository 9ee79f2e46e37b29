//! The files inside a snap that snap.yaml says will be run or read.

use crate::error::join;
use crate::model::{Hook, SnapYaml};
use crate::paths::clean;

/// What the file at an [`ExecPath`] must allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecPathKind {
    /// Run by everyone: a regular file (or symlink to one) that is world-readable and
    /// executable, in world-readable and executable directories.
    Executable,
    /// Run by the service manager only: must be a regular file and executable.
    ServiceExecutable,
    /// Read by everyone (a bash completion script).
    Readable,
}

/// A path relative to the snap's root that must exist, and the field that names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecPath {
    /// e.g. `apps.foo.command`, `hooks.install.command-chain[0]`.
    pub field: String,
    pub path: String,
    pub kind: ExecPathKind,
}

/// The file a command refers to: its first word, cleaned and relative to the snap root.
/// `None` for empty commands and ones pointing outside the snap, which nothing can check.
fn snap_path(command: &str) -> Option<String> {
    let first = command.split(' ').next().unwrap_or("");
    if first.is_empty() {
        return None;
    }
    let cleaned = clean(first);
    let rel = cleaned.trim_start_matches('/');
    if rel.is_empty() || rel == "." || rel == ".." || rel.starts_with("../") {
        return None;
    }
    Some(rel.to_owned())
}

fn chain(out: &mut Vec<ExecPath>, owner: &str, entries: &[String], kind: ExecPathKind) {
    for (i, entry) in entries.iter().enumerate() {
        if let Some(path) = snap_path(entry) {
            out.push(ExecPath {
                field: format!("{}[{i}]", join(owner, "command-chain")),
                path,
                kind,
            });
        }
    }
}

fn hooks<'a>(
    out: &mut Vec<ExecPath>,
    prefix: &str,
    hooks: impl Iterator<Item = (&'a String, &'a Hook)>,
) {
    for (name, hook) in hooks {
        chain(
            out,
            &join(prefix, name),
            &hook.command_chain,
            ExecPathKind::Executable,
        );
    }
}

impl SnapYaml {
    /// Every file snap.yaml names as something to run or read, for a packer or installer to
    /// check: each app's command (first word), command-chain entries, for services also the
    /// stop/reload/post-stop commands, completers, and hooks' command-chain entries. Paths are
    /// taken literally, as snapd takes them (a `$SNAP/` prefix is not expanded).
    pub fn app_commands(&self) -> Vec<ExecPath> {
        let mut out = Vec::new();
        for (name, app) in &self.apps {
            let owner = join("apps", name);
            let kind = if app.is_service() {
                ExecPathKind::ServiceExecutable
            } else {
                ExecPathKind::Executable
            };
            let mut commands = vec![("command", &app.command)];
            // snapd only ever runs these for services, so only then must they exist.
            if app.is_service() {
                commands.push(("stop-command", &app.stop_command));
                commands.push(("reload-command", &app.reload_command));
                commands.push(("post-stop-command", &app.post_stop_command));
            }
            for (field, value) in commands {
                if let Some(path) = value.as_deref().and_then(snap_path) {
                    out.push(ExecPath {
                        field: join(&owner, field),
                        path,
                        kind,
                    });
                }
            }
            chain(
                &mut out,
                &owner,
                &app.command_chain,
                ExecPathKind::Executable,
            );
            if let Some(path) = app.completer.as_deref().and_then(snap_path) {
                out.push(ExecPath {
                    field: join(&owner, "completer"),
                    path,
                    kind: ExecPathKind::Readable,
                });
            }
        }
        hooks(&mut out, "hooks", self.hooks.iter());
        for (cname, comp) in &self.components {
            hooks(
                &mut out,
                &join(&join("components", cname), "hooks"),
                comp.hooks.iter(),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_snap_yaml;

    #[test]
    fn first_word_cleaned() {
        assert_eq!(snap_path("bin/foo --x"), Some("bin/foo".into()));
        assert_eq!(snap_path("/bin//foo"), Some("bin/foo".into()));
        assert_eq!(snap_path("./bin/foo"), Some("bin/foo".into()));
        assert_eq!(snap_path("../foo"), None);
        assert_eq!(snap_path(""), None);
        assert_eq!(snap_path("$SNAP/bin/foo"), Some("$SNAP/bin/foo".into()));
    }

    #[test]
    fn lists_everything_to_check() {
        let snap = parse_snap_yaml(
            br#"
name: ss
version: 1
apps:
  cli:
    command: bin/cli --flag
    command-chain: [bin/chain]
    completer: share/complete.sh
    stop-command: bin/ignored-for-non-services
  svc:
    command: bin/svc
    daemon: simple
    stop-command: bin/stop now
    post-stop-command: bin/post
hooks:
  install:
    command-chain: [bin/hook-chain]
"#,
        )
        .unwrap();
        let got: Vec<(String, String, ExecPathKind)> = snap
            .app_commands()
            .into_iter()
            .map(|e| (e.field, e.path, e.kind))
            .collect();
        use ExecPathKind::*;
        let want = [
            ("apps.cli.command", "bin/cli", Executable),
            ("apps.cli.command-chain[0]", "bin/chain", Executable),
            ("apps.cli.completer", "share/complete.sh", Readable),
            ("apps.svc.command", "bin/svc", ServiceExecutable),
            ("apps.svc.stop-command", "bin/stop", ServiceExecutable),
            ("apps.svc.post-stop-command", "bin/post", ServiceExecutable),
            (
                "hooks.install.command-chain[0]",
                "bin/hook-chain",
                Executable,
            ),
        ];
        let want: Vec<(String, String, ExecPathKind)> = want
            .iter()
            .map(|(f, p, k)| (f.to_string(), p.to_string(), *k))
            .collect();
        assert_eq!(got, want);
    }
}

//! The argument vector of an app or hook, as snap-exec builds it: command-chain entries, then
//! the command (or the hook's executable), as absolute paths inside the sandbox.

use snap_core::{App, Hook};

use crate::ProfileError;

/// `path` (relative to the snap's root, absolute meaning the same, or starting with `$SNAP/`)
/// as an absolute path under `mount` (`/snap/NAME/REV`). Paths that leave the snap are refused.
fn in_snap(mount: &str, field: &str, path: &str) -> Result<String, ProfileError> {
    let rel = ["$SNAP/", "${SNAP}/"]
        .iter()
        .find_map(|p| path.strip_prefix(p))
        .unwrap_or(path);
    let joined = snap_core::clean_path(&format!("{mount}/{rel}"));
    match joined.strip_prefix(mount) {
        Some(rest) if rest.starts_with('/') => Ok(joined),
        _ => Err(ProfileError::OutsideSnap {
            field: field.to_owned(),
            path: path.to_owned(),
        }),
    }
}

fn chain(owner: &str, mount: &str, entries: &[String]) -> Result<Vec<String>, ProfileError> {
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| in_snap(mount, &format!("{owner}.command-chain[{i}]"), e))
        .collect()
}

/// The command-chain, then the command's executable, then its arguments as written (the
/// launcher expands `$VAR`s in them at exec, as snap-exec does).
pub(crate) fn app_command(snap: &str, mount: &str, app: &App) -> Result<Vec<String>, ProfileError> {
    let owner = format!("apps.{}", app.name);
    let command = app
        .command
        .as_deref()
        .ok_or_else(|| ProfileError::NoCommand {
            snap: snap.to_owned(),
            app: app.name.clone(),
        })?;
    // snap-exec splits on single spaces; the empty words that leaves expand to nothing and
    // are dropped.
    let mut words = command.split(' ').filter(|w| !w.is_empty());
    let exe = words.next().ok_or_else(|| ProfileError::NoCommand {
        snap: snap.to_owned(),
        app: app.name.clone(),
    })?;
    let mut argv = chain(&owner, mount, &app.command_chain)?;
    argv.push(in_snap(mount, &format!("{owner}.command"), exe)?);
    argv.extend(words.map(str::to_owned));
    Ok(argv)
}

/// A service's `stop-command`, `reload-command` and `post-stop-command`, built like its
/// command (the command-chain first, as snap-exec does for `--command=...`), keyed `stop`,
/// `reload` and `post-stop` as the launcher's `--command=` names them.
pub(crate) fn service_commands(
    mount: &str,
    app: &App,
) -> Result<std::collections::BTreeMap<String, Vec<String>>, ProfileError> {
    let owner = format!("apps.{}", app.name);
    let mut out = std::collections::BTreeMap::new();
    for (key, field, command) in [
        ("stop", "stop-command", &app.stop_command),
        ("reload", "reload-command", &app.reload_command),
        ("post-stop", "post-stop-command", &app.post_stop_command),
    ] {
        let Some(command) = command.as_deref() else {
            continue;
        };
        let mut words = command.split(' ').filter(|w| !w.is_empty());
        let Some(exe) = words.next() else {
            continue;
        };
        let mut argv = chain(&owner, mount, &app.command_chain)?;
        argv.push(in_snap(mount, &format!("{owner}.{field}"), exe)?);
        argv.extend(words.map(str::to_owned));
        out.insert(key.to_owned(), argv);
    }
    Ok(out)
}

/// The command-chain, then `$SNAP/meta/hooks/NAME`.
pub(crate) fn hook_command(mount: &str, hook: &Hook) -> Result<Vec<String>, ProfileError> {
    let mut argv = chain(&format!("hooks.{}", hook.name), mount, &hook.command_chain)?;
    argv.push(format!("{mount}/meta/hooks/{}", hook.name));
    Ok(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_land_in_the_snap() {
        let m = "/snap/a/x1";
        for (input, want) in [
            ("bin/app", "/snap/a/x1/bin/app"),
            ("./bin/app", "/snap/a/x1/bin/app"),
            ("/bin/app", "/snap/a/x1/bin/app"),
            ("$SNAP/bin/app", "/snap/a/x1/bin/app"),
            ("${SNAP}/bin/app", "/snap/a/x1/bin/app"),
            ("bin/../app", "/snap/a/x1/app"),
        ] {
            assert_eq!(in_snap(m, "f", input).unwrap(), want, "{input}");
        }
        for bad in ["../x", "bin/../../x", "", ".", "$SNAP/"] {
            assert!(
                matches!(in_snap(m, "f", bad), Err(ProfileError::OutsideSnap { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn service_commands_follow_the_chain() {
        let snap = snap_core::parse_snap_yaml(
            b"name: sv\nversion: '1'\napps:\n  d:\n    command: bin/d\n    daemon: simple\n    command-chain: [bin/chain]\n    stop-command: bin/stop --now\n    post-stop-command: $SNAP/bin/post\n",
        )
        .unwrap();
        let cmds = service_commands("/snap/sv/x1", &snap.apps["d"]).unwrap();
        assert_eq!(
            cmds["stop"],
            ["/snap/sv/x1/bin/chain", "/snap/sv/x1/bin/stop", "--now"]
        );
        assert_eq!(
            cmds["post-stop"],
            ["/snap/sv/x1/bin/chain", "/snap/sv/x1/bin/post"]
        );
        assert!(!cmds.contains_key("reload"));
    }
}

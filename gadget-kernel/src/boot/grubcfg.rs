//! The grub.cfg a pc-like gadget ships for try-boot (UC16/18 layout: grub, its environment
//! and the extracted kernels all on the ESP, under grub's `$prefix`, `/EFI/ubuntu`).
//! [`super::bootloader_boot`] is the same logic in Rust; `spec/boot.md` explains both.

use super::BootError;

/// A grub.cfg that boots `$prefix/<kernel-file>/kernel.img` with its `initrd.img`, choosing
/// the kernel file and the base file by the try-boot protocol (each with its own status),
/// with `snap_kernel=<file>`, then `snap_core=<file>` when the environment names a base,
/// then `cmdline` on the kernel command line. `cmdline` is inserted literally, so it may not
/// hold quotes, `$`, `\`, `;`, braces or newlines.
pub fn try_boot_grub_cfg(cmdline: &str) -> Result<String, BootError> {
    if let Some(c) = cmdline.chars().find(|c| {
        matches!(
            c,
            '"' | '\'' | '$' | '\\' | ';' | '{' | '}' | '\n' | '\r' | '#'
        )
    }) {
        return Err(BootError::GrubCfg(format!(
            "the kernel command line {cmdline:?} holds {c:?}, which grub's script would interpret"
        )));
    }
    Ok(TEMPLATE.replace("@CMDLINE@", cmdline))
}

const TEMPLATE: &str = r#"# Try-boot of kernel and base snaps (spec/boot.md). The environment is $prefix/grubenv:
#   snap_kernel      the kernel file known to boot (<name>_<rev>.snap)
#   snap_try_kernel  a candidate written by the daemon before a refresh's reboot
#   kernel_status    "" | "try" (set by the daemon) | "trying" (set here)
#   snap_core, snap_try_core, base_status: the same for the base, whose file name is passed
#   to the initramfs as snap_core= (it mounts /var/lib/snapd/snaps/<file>).
# Kernels are extracted to $prefix/<kernel file>/{kernel.img,initrd.img}.
set default=0
set timeout=0
if [ -s $prefix/grubenv ]; then
    load_env --file $prefix/grubenv snap_kernel snap_try_kernel kernel_status snap_core snap_try_core base_status
fi
set kernel_file="$snap_kernel"
if [ "$kernel_status" = "try" ]; then
    if [ -n "$snap_try_kernel" ]; then
        # Boot the candidate once. If "trying" cannot be saved, do not try at all: a
        # candidate that fails would otherwise be booted again on every reset.
        set kernel_status="trying"
        if save_env --file $prefix/grubenv kernel_status; then
            set kernel_file="$snap_try_kernel"
        fi
    else
        set kernel_status=""
        save_env --file $prefix/grubenv kernel_status
    fi
elif [ "$kernel_status" = "trying" ]; then
    # The candidate was booted and never confirmed by the daemon: fall back.
    echo "kernel $snap_try_kernel failed to boot: falling back to $snap_kernel"
    set kernel_status=""
    save_env --file $prefix/grubenv kernel_status
elif [ -n "$kernel_status" ]; then
    echo "unknown kernel_status $kernel_status: booting $snap_kernel"
    set kernel_status=""
    save_env --file $prefix/grubenv kernel_status
fi
set core_file="$snap_core"
if [ "$base_status" = "try" ]; then
    if [ -n "$snap_try_core" ]; then
        set base_status="trying"
        if save_env --file $prefix/grubenv base_status; then
            set core_file="$snap_try_core"
        fi
    else
        set base_status=""
        save_env --file $prefix/grubenv base_status
    fi
elif [ "$base_status" = "trying" ]; then
    echo "base $snap_try_core failed to boot: falling back to $snap_core"
    set base_status=""
    save_env --file $prefix/grubenv base_status
elif [ -n "$base_status" ]; then
    echo "unknown base_status $base_status: booting $snap_core"
    set base_status=""
    save_env --file $prefix/grubenv base_status
fi
export kernel_file
export core_file
menuentry "kernel $kernel_file" {
    echo "loading $kernel_file"
    if [ -n "$core_file" ]; then
        linux $prefix/$kernel_file/kernel.img snap_kernel=$kernel_file snap_core=$core_file @CMDLINE@
    else
        linux $prefix/$kernel_file/kernel.img snap_kernel=$kernel_file @CMDLINE@
    fi
    initrd $prefix/$kernel_file/initrd.img
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_placed_and_checked() {
        let cfg = try_boot_grub_cfg("console=ttyS0 panic=-1").unwrap();
        assert!(cfg.contains(
            "linux $prefix/$kernel_file/kernel.img snap_kernel=$kernel_file console=ttyS0 panic=-1\n"
        ));
        assert!(!cfg.contains("@CMDLINE@"));
        // The base, when the environment names one, goes between snap_kernel= and the rest.
        assert!(cfg.contains(
            "linux $prefix/$kernel_file/kernel.img snap_kernel=$kernel_file snap_core=$core_file console=ttyS0 panic=-1\n"
        ));
        // Every variable of both slots is loaded, and only the statuses are ever saved.
        assert!(cfg.contains(
            "load_env --file $prefix/grubenv snap_kernel snap_try_kernel kernel_status snap_core snap_try_core base_status\n"
        ));
        let mut saved = std::collections::BTreeSet::new();
        for line in cfg.lines().filter(|l| l.contains("save_env")) {
            let (_, rest) = line
                .split_once("save_env --file $prefix/grubenv ")
                .unwrap_or_else(|| panic!("{line}"));
            let var = rest.strip_suffix("; then").unwrap_or(rest);
            assert!(var == "kernel_status" || var == "base_status", "{line}");
            saved.insert(var);
        }
        assert_eq!(saved.len(), 2);
        for bad in ["a\"b", "$x", "a;reboot", "a\nb", "{x}"] {
            assert!(
                matches!(try_boot_grub_cfg(bad), Err(BootError::GrubCfg(_))),
                "{bad}"
            );
        }
    }
}

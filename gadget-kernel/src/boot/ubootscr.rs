//! The U-Boot boot script a U-Boot gadget ships for try-boot (`boot.scr`), the same state
//! machine as [`super::grubcfg`] and [`super::bootloader_boot`] (the kernel, then the base),
//! and its compiled form: a legacy U-Boot image of type "script", what `mkimage -T script`
//! makes and U-Boot's `source` runs. `spec/boot.md` ("U-Boot") explains the choices.
//!
//! The environment lives in a file on the partition the script is loaded from (`uboot.env`
//! at the root on UC16/18, `uboot/ubuntu/boot.sel` on UC20+), in U-Boot's format with its CRC
//! ([`crate::image::env::ubootenv`]). The script reads it with `env import -c` and saves it
//! with `env export -c` and `fatwrite`, rather than with `saveenv`: that works with any U-Boot
//! that has FAT write support, whatever its own environment storage is (Debian's QEMU builds
//! keep theirs "nowhere", where `saveenv` cannot save), and the file is the one the daemon
//! and the image builder already write. `env import -c` reads the layout U-Boot was built
//! for: a 4-byte CRC header, or a 5-byte one (CRC and flag byte) when U-Boot was built with a
//! redundant environment; the gadget ships the file in its U-Boot's layout.

use super::{BOOT_SLOTS, BootSlot};

/// The variables the script reads from the environment file and writes back: every slot's
/// (`snap_kernel`, `snap_try_kernel`, `kernel_status`, then the base's), and UC16/18's
/// `snap_mode`, which the image builder writes. A save writes only these: any other
/// variable in the file is dropped at the bootloader's first save.
pub fn script_variables() -> Vec<&'static str> {
    let mut vars: Vec<&'static str> = BOOT_SLOTS
        .iter()
        .flat_map(|s| [s.current, s.candidate, s.status])
        .collect();
    vars.push("snap_mode");
    vars
}

/// How U-Boot starts the kernel it loaded (`kernel.img`, `initrd.img`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelBoot {
    /// x86 bzImage: `zboot`.
    Zboot,
    /// x86 bzImage, `zboot`, with the initramfs loaded at this address instead of the
    /// board's `ramdisk_addr_r`. The kernel decompresses itself into `[pref_address,
    /// pref_address + init_size)` of its setup header, and an initramfs inside that window
    /// is overwritten before the kernel unpacks it: Debian's 6.1 kernel needs 16 MiB + 63.6
    /// MiB, while `qemu-x86`'s `ramdisk_addr_r` is 64 MiB, which only a small initramfs
    /// survives. (This U-Boot has no `setexpr` to compute the address from the header.)
    ZbootInitrdAt(u32),
    /// arm64 `Image`: `booti`, with a device tree.
    Booti,
    /// 32-bit arm `zImage`: `bootz`, with a device tree.
    Bootz,
}

/// Why a script or a script image cannot be made or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    #[error("the kernel command line {0:?} holds {1:?}, which U-Boot's shell would interpret")]
    Cmdline(String, char),
    #[error("{0:?} is not a relative path of letters, digits, '.', '_', '-' and '/'")]
    Path(String),
    #[error("the image name {0:?} is longer than 31 bytes")]
    Name(String),
    #[error("not a U-Boot script image: {0}")]
    NotScriptImage(String),
}

/// Where the script finds its files, relative to the partition it is loaded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptLayout<'a> {
    /// The environment file (`uboot.env`, `uboot/ubuntu/boot.sel`).
    pub env_file: &'a str,
    /// The directory holding one directory per kernel file, as
    /// [`super::kernel_assets_dir`] gives it (`""` for the root).
    pub kernels_dir: &'a str,
}

impl ScriptLayout<'static> {
    /// UC16/18: `uboot.env` and the kernels at the root of `system-boot`.
    pub const UC16: ScriptLayout<'static> = ScriptLayout {
        env_file: "uboot.env",
        kernels_dir: "",
    };
    /// UC20+: `uboot/ubuntu/boot.sel` and the kernels beside it on `ubuntu-boot`.
    pub const UC20: ScriptLayout<'static> = ScriptLayout {
        env_file: "uboot/ubuntu/boot.sel",
        kernels_dir: "uboot/ubuntu",
    };
}

fn check_path(path: &str, may_be_empty: bool) -> Result<(), ScriptError> {
    let bad = || ScriptError::Path(path.to_owned());
    if path.is_empty() {
        return if may_be_empty { Ok(()) } else { Err(bad()) };
    }
    let plain = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    if path.split('/').all(plain) {
        Ok(())
    } else {
        Err(bad())
    }
}

/// The boot script (`boot.cmd`, U-Boot's hush shell) that boots
/// `<kernels_dir>/<kernel file>/kernel.img` with its `initrd.img`, choosing the kernel file
/// and the base file by the try-boot protocol, one slot after the other ([`BOOT_SLOTS`],
/// each with its own status), with `snap_kernel=<file>`, then `snap_core=<file>` when the
/// environment names a base, then `cmdline` on the kernel command line: what
/// [`super::bootloader_boot`] models and the grub.cfg of [`super::grubcfg`] does.
///
/// It relies on the variables U-Boot's distro boot sets before it runs a `boot.scr`
/// (`devtype`, `devnum`, `distro_bootpart`: the partition the script came from) and on the
/// board's `kernel_addr_r`, `ramdisk_addr_r` (and `fdt_addr_r`, `fdtfile` for a device tree).
/// `cmdline` is inserted literally inside double quotes, so it may not hold quotes, `$`,
/// `\`, `;`, braces, `#`, `&`, `|`, a backquote or newlines.
pub fn try_boot_script(
    layout: ScriptLayout<'_>,
    cmdline: &str,
    boot: KernelBoot,
) -> Result<String, ScriptError> {
    if let Some(c) = cmdline.chars().find(|c| {
        matches!(
            c,
            '"' | '\'' | '$' | '\\' | ';' | '{' | '}' | '#' | '&' | '|' | '`'
        ) || c.is_control()
    }) {
        return Err(ScriptError::Cmdline(cmdline.to_owned(), c));
    }
    check_path(layout.env_file, false)?;
    check_path(layout.kernels_dir, true)?;
    let part = "${devtype} ${devnum}:${distro_bootpart}";
    let env = format!("/{}", layout.env_file);
    let kdir = if layout.kernels_dir.is_empty() {
        "/${kernel_file}".to_owned()
    } else {
        format!("/{}/${{kernel_file}}", layout.kernels_dir)
    };
    let vars = script_variables().join(" ");
    let mut s = format!(
        "# Try-boot of kernel and base snaps (spec/boot.md), run by U-Boot's distro boot, which\n\
         # sets devtype, devnum and distro_bootpart to the partition this script came from.\n\
         # The environment is {env} there, read with env import -c and saved whole (its own\n\
         # size and layout) with env export -c and fatwrite:\n\
         #   snap_kernel      the kernel file known to boot (<name>_<rev>.snap)\n\
         #   snap_try_kernel  a candidate written by the daemon before a refresh's reboot\n\
         #   kernel_status    \"\" | \"try\" (set by the daemon) | \"trying\" (set here)\n\
         #   snap_core, snap_try_core, base_status: the same for the base, whose file name is\n\
         #   passed to the initramfs as snap_core= (it mounts /var/lib/snapd/snaps/<file>).\n\
         # Kernels are extracted to {kdir}/ (kernel.img, initrd.img, dtbs/).\n\
         setenv snap_env_size\n\
         setenv snap_env_ok\n\
         if load {part} ${{kernel_addr_r}} {env}; then\n\
         \x20   setenv snap_env_size ${{filesize}}\n\
         \x20   if env import -d -c ${{kernel_addr_r}} ${{snap_env_size}} {vars}; then\n\
         \x20       setenv snap_env_ok 1\n\
         \x20   fi\n\
         fi\n\
         if test -z \"${{snap_env_ok}}\"; then\n\
         \x20   echo \"cannot read the boot environment {env}: not booting\"\n\
         fi\n"
    );
    // A save: the listed variables, in the file's own size, over the file; `then` runs only
    // when both steps worked.
    let save = |then: &str| {
        format!(
            "if env export -c -s ${{snap_env_size}} ${{kernel_addr_r}} {vars}; then\n\
             \x20   if fatwrite {part} ${{kernel_addr_r}} {env} ${{snap_env_size}}; then\n\
             \x20       {then}\n\
             \x20   fi\n\
             fi\n"
        )
    };
    for slot in BOOT_SLOTS {
        let file = slot_file_var(slot);
        let BootSlot {
            what,
            current,
            candidate,
            status,
            ..
        } = slot;
        s.push_str(&format!(
            "setenv {file} \"${{{current}}}\"\n\
             if test -n \"${{snap_env_ok}}\"; then\n\
             \x20   if test \"${{{status}}}\" = \"try\"; then\n\
             \x20       if test -n \"${{{candidate}}}\"; then\n\
             \x20           # Boot the candidate once. If \"trying\" cannot be saved, do not try\n\
             \x20           # at all: a candidate that fails would otherwise be booted again on\n\
             \x20           # every reset. The status goes back to \"try\" in memory too, so a\n\
             \x20           # later save (every save writes every variable) keeps the file's.\n\
             \x20           setenv {status} trying\n\
             \x20           setenv snap_saved\n"
        ));
        s.push_str(&indent(&save("setenv snap_saved 1"), "            "));
        s.push_str(&format!(
            "            if test -n \"${{snap_saved}}\"; then\n\
             \x20               setenv {file} \"${{{candidate}}}\"\n\
             \x20           else\n\
             \x20               setenv {status} try\n\
             \x20           fi\n\
             \x20       else\n\
             \x20           setenv {status}\n"
        ));
        s.push_str(&indent(
            &save(&format!("echo \"cleared {status}\"")),
            "            ",
        ));
        s.push_str(&format!(
            "        fi\n\
             \x20   elif test \"${{{status}}}\" = \"trying\"; then\n\
             \x20       # The candidate was booted and never confirmed by the daemon: fall back.\n\
             \x20       echo \"{what} ${{{candidate}}} failed to boot: falling back to ${{{current}}}\"\n\
             \x20       setenv {status}\n"
        ));
        s.push_str(&indent(
            &save(&format!("echo \"cleared {status}\"")),
            "        ",
        ));
        s.push_str(&format!(
            "    elif test -n \"${{{status}}}\"; then\n\
             \x20       echo \"unknown {status} ${{{status}}}: booting ${{{current}}}\"\n\
             \x20       setenv {status}\n"
        ));
        s.push_str(&indent(
            &save(&format!("echo \"cleared {status}\"")),
            "        ",
        ));
        s.push_str("    fi\nfi\n");
    }
    // The command line: the first slot's file always, the others' when named, then the
    // given arguments.
    let mut args = String::new();
    for (i, slot) in BOOT_SLOTS.iter().enumerate() {
        let file = slot_file_var(*slot);
        let key = slot.cmdline_key;
        if i == 0 {
            args.push_str(&format!("    setenv bootargs \"{key}=${{{file}}}\"\n"));
        } else {
            args.push_str(&format!(
                "    if test -n \"${{{file}}}\"; then\n\
                 \x20       setenv bootargs \"${{bootargs}} {key}=${{{file}}}\"\n\
                 \x20   fi\n"
            ));
        }
    }
    if !cmdline.trim().is_empty() {
        args.push_str(&format!(
            "    setenv bootargs \"${{bootargs}} {}\"\n",
            cmdline.trim()
        ));
    }
    let ramdisk = match boot {
        KernelBoot::ZbootInitrdAt(at) => format!("{at:#x}"),
        _ => "${ramdisk_addr_r}".to_owned(),
    };
    let boot_cmd = match boot {
        KernelBoot::Zboot | KernelBoot::ZbootInitrdAt(_) => {
            format!("zboot ${{kernel_addr_r}} 0 {ramdisk} ${{snap_initrd_size}}\n")
        }
        KernelBoot::Booti | KernelBoot::Bootz => {
            let cmd = if boot == KernelBoot::Booti {
                "booti"
            } else {
                "bootz"
            };
            format!(
                "# The kernel's own device tree when the board names one (fdtfile), else\n\
                 # the one U-Boot runs with (from the firmware or QEMU).\n\
                 setenv snap_fdt ${{fdtcontroladdr}}\n\
                 if test -n \"${{fdtfile}}\"; then\n\
                 \x20   if load {part} ${{fdt_addr_r}} {kdir}/dtbs/${{fdtfile}}; then\n\
                 \x20       setenv snap_fdt ${{fdt_addr_r}}\n\
                 \x20   fi\n\
                 fi\n\
                 {cmd} ${{kernel_addr_r}} ${{ramdisk_addr_r}}:${{snap_initrd_size}} ${{snap_fdt}}\n"
            )
        }
    };
    s.push_str(&format!(
        "if test -n \"${{snap_env_ok}}\"; then\n\
         \x20   echo \"loading ${{kernel_file}}\"\n\
         {args}\
         \x20   if load {part} ${{kernel_addr_r}} {kdir}/kernel.img; then\n\
         \x20       if load {part} {ramdisk} {kdir}/initrd.img; then\n\
         \x20           setenv snap_initrd_size ${{filesize}}\n"
    ));
    s.push_str(&indent(&boot_cmd, "            "));
    s.push_str(
        "        fi\n\
         \x20   fi\n\
         \x20   echo \"cannot boot ${kernel_file}\"\n\
         fi\n",
    );
    Ok(s)
}

/// The script's variable holding the file it boots for `slot`: `kernel_file`, `core_file`
/// (grub.cfg's names).
fn slot_file_var(slot: BootSlot) -> String {
    let name = slot.current.strip_prefix("snap_").unwrap_or(slot.current);
    format!("{name}_file")
}

fn indent(text: &str, by: &str) -> String {
    text.lines().map(|l| format!("{by}{l}\n")).collect()
}

/// The architecture field of an image header (U-Boot's `IH_ARCH_*`); `source` does not check
/// it, `mkimage -A` sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageArch {
    Arm,
    X86,
    Arm64,
    Riscv,
}

impl ImageArch {
    fn code(self) -> u8 {
        match self {
            ImageArch::Arm => 2,
            ImageArch::X86 => 3,
            ImageArch::Arm64 => 22,
            ImageArch::Riscv => 26,
        }
    }
}

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
const IMAGE_MAGIC: u32 = 0x2705_1956;
const HEADER_SIZE: usize = 64;
const NAME_SIZE: usize = 32;
const OS_LINUX: u8 = 5;
const TYPE_SCRIPT: u8 = 6;
const COMP_NONE: u8 = 0;

/// `script` as a legacy U-Boot image of type "script" (`boot.scr`), byte for byte what
/// `mkimage -A <arch> -O linux -T script -C none -n <name> -d <script>` makes with
/// `SOURCE_DATE_EPOCH=<time>`: a 64-byte big-endian header (magic, header CRC, time, data
/// size, load and entry 0, data CRC, OS, arch, type, compression, name), then the data: a
/// table of image lengths ended by 0 (here one image) and the script.
pub fn script_image(
    script: &str,
    arch: ImageArch,
    name: &str,
    time: u32,
) -> Result<Vec<u8>, ScriptError> {
    if name.len() >= NAME_SIZE {
        return Err(ScriptError::Name(name.to_owned()));
    }
    let len = u32::try_from(script.len())
        .map_err(|_| ScriptError::NotScriptImage("the script is over 4 GiB".into()))?;
    let mut data = Vec::with_capacity(8 + script.len());
    data.extend_from_slice(&len.to_be_bytes());
    data.extend_from_slice(&0u32.to_be_bytes());
    data.extend_from_slice(script.as_bytes());
    let mut header = [0u8; HEADER_SIZE];
    header[0..4].copy_from_slice(&IMAGE_MAGIC.to_be_bytes());
    header[8..12].copy_from_slice(&time.to_be_bytes());
    header[12..16].copy_from_slice(&(data.len() as u32).to_be_bytes());
    // Load address and entry point (16..24) stay 0.
    header[24..28].copy_from_slice(&CRC32.checksum(&data).to_be_bytes());
    header[28] = OS_LINUX;
    header[29] = arch.code();
    header[30] = TYPE_SCRIPT;
    header[31] = COMP_NONE;
    header[32..32 + name.len()].copy_from_slice(name.as_bytes());
    let hcrc = CRC32.checksum(&header);
    header[4..8].copy_from_slice(&hcrc.to_be_bytes());
    let mut out = header.to_vec();
    out.extend_from_slice(&data);
    Ok(out)
}

/// The script of a script image, as U-Boot's `source` finds it (the first image of the
/// length table), after checking the magic, both CRCs, the type and the lengths.
pub fn read_script_image(bytes: &[u8]) -> Result<String, ScriptError> {
    let bad = |why: &str| ScriptError::NotScriptImage(why.to_owned());
    if bytes.len() < HEADER_SIZE + 8 {
        return Err(bad("too short"));
    }
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    if be(0) != IMAGE_MAGIC {
        return Err(bad("bad magic"));
    }
    let mut header = [0u8; HEADER_SIZE];
    header.copy_from_slice(&bytes[..HEADER_SIZE]);
    header[4..8].fill(0);
    if CRC32.checksum(&header) != be(4) {
        return Err(bad("bad header CRC"));
    }
    if bytes[30] != TYPE_SCRIPT || bytes[31] != COMP_NONE {
        return Err(bad("not an uncompressed script"));
    }
    let size = be(12) as usize;
    let data = bytes
        .get(HEADER_SIZE..HEADER_SIZE + size)
        .ok_or_else(|| bad("shorter than its header says"))?;
    if CRC32.checksum(data) != be(24) {
        return Err(bad("bad data CRC"));
    }
    // The length table: lengths until a 0; the first image follows the table.
    let mut lens = Vec::new();
    let mut at = 0;
    loop {
        let l = data
            .get(at..at + 4)
            .ok_or_else(|| bad("unterminated length table"))?;
        at += 4;
        let l = u32::from_be_bytes(l.try_into().expect("4 bytes")) as usize;
        if l == 0 {
            break;
        }
        lens.push(l);
    }
    let first = *lens.first().ok_or_else(|| bad("no image in the table"))?;
    let script = data
        .get(at..at + first)
        .ok_or_else(|| bad("the script is shorter than the table says"))?;
    String::from_utf8(script.to_vec()).map_err(|_| bad("the script is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boot::{BASE_SLOT, KERNEL_SLOT, bootloader_boot};
    use crate::image::env::ubootenv::UbootEnv;
    use std::collections::BTreeMap;

    /// What mkimage 2023.01 made of `echo hi\n` with `-A x86 -O linux -T script -C none
    /// -n "snap try-boot"` and `SOURCE_DATE_EPOCH=1700000000`, and the header bytes that
    /// differ for the other architectures (header CRC and arch).
    const MKIMAGE_X86: &str = "270519569e8d47116553f100000000100000000000000000d934016205030600\
                               736e6170207472792d626f6f7400000000000000000000000000000000000000\
                               00000008000000006563686f2068690a";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn script_image_is_mkimages() {
        let img =
            script_image("echo hi\n", ImageArch::X86, "snap try-boot", 1_700_000_000).unwrap();
        assert_eq!(img, hex(MKIMAGE_X86));
        for (arch, hcrc, code) in [
            (ImageArch::Arm, "511350d9", 2u8),
            (ImageArch::Arm64, "96734730", 0x16),
            (ImageArch::Riscv, "d4acb597", 0x1a),
        ] {
            let img = script_image("echo hi\n", arch, "snap try-boot", 1_700_000_000).unwrap();
            assert_eq!(&img[4..8], &hex(hcrc)[..], "{arch:?}");
            assert_eq!(img[29], code);
        }
        assert_eq!(read_script_image(&img).unwrap(), "echo hi\n");
        let mut bad = img.clone();
        bad[70] ^= 1;
        assert!(matches!(
            read_script_image(&bad),
            Err(ScriptError::NotScriptImage(_))
        ));
        let mut bad = img.clone();
        bad[40] ^= 1;
        assert!(read_script_image(&bad).is_err());
        assert!(script_image("x", ImageArch::X86, &"n".repeat(32), 0).is_err());
        assert!(script_image("x", ImageArch::X86, &"n".repeat(31), 0).is_ok());
    }

    #[test]
    fn inputs_are_checked() {
        for bad in [
            "a\"b", "$x", "a;reset", "a\nb", "{x}", "a#b", "a&&b", "a|b", "`x`",
        ] {
            assert!(
                matches!(
                    try_boot_script(ScriptLayout::UC16, bad, KernelBoot::Zboot),
                    Err(ScriptError::Cmdline(..))
                ),
                "{bad}"
            );
        }
        for bad in ["", "/uboot.env", "a/../b", "a b", "a//b", "x$y"] {
            let layout = ScriptLayout {
                env_file: bad,
                kernels_dir: "",
            };
            assert!(
                try_boot_script(layout, "", KernelBoot::Zboot).is_err(),
                "{bad}"
            );
        }
        let layout = ScriptLayout {
            env_file: "uboot.env",
            kernels_dir: "../x",
        };
        assert!(try_boot_script(layout, "", KernelBoot::Zboot).is_err());
    }

    #[test]
    fn paths_variables_and_boot_commands() {
        let s = try_boot_script(
            ScriptLayout::UC16,
            "console=ttyS0 panic=-1",
            KernelBoot::Zboot,
        )
        .unwrap();
        assert!(
            s.contains("load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} /uboot.env;")
        );
        assert!(s.contains("/${kernel_file}/kernel.img;"));
        assert!(s.contains("setenv bootargs \"snap_kernel=${kernel_file}\"\n"));
        assert!(s.contains("setenv bootargs \"${bootargs} snap_core=${core_file}\"\n"));
        assert!(s.contains("setenv bootargs \"${bootargs} console=ttyS0 panic=-1\"\n"));
        assert!(s.contains("zboot ${kernel_addr_r} 0 ${ramdisk_addr_r} ${snap_initrd_size}\n"));
        // An initramfs placed above a large kernel's decompression window.
        let high = try_boot_script(
            ScriptLayout::UC16,
            "",
            KernelBoot::ZbootInitrdAt(0x800_0000),
        )
        .unwrap();
        assert!(high.contains(" 0x8000000 /${kernel_file}/initrd.img; then\n"));
        assert!(high.contains("zboot ${kernel_addr_r} 0 0x8000000 ${snap_initrd_size}\n"));
        assert!(!high.contains("ramdisk_addr_r"));
        // Every import and export names exactly the listed variables.
        let vars = script_variables().join(" ");
        for l in s
            .lines()
            .filter(|l| l.contains("if env import") || l.contains("if env export"))
        {
            assert!(l.ends_with(&format!(" {vars}; then")), "{l}");
        }
        let s = try_boot_script(ScriptLayout::UC20, "", KernelBoot::Booti).unwrap();
        assert!(s.contains("${kernel_addr_r} /uboot/ubuntu/boot.sel;"));
        assert!(s.contains("/uboot/ubuntu/${kernel_file}/initrd.img;"));
        assert!(s.contains("/uboot/ubuntu/${kernel_file}/dtbs/${fdtfile};"));
        assert!(s.contains(
            "booti ${kernel_addr_r} ${ramdisk_addr_r}:${snap_initrd_size} ${snap_fdt}\n"
        ));
        let s = try_boot_script(ScriptLayout::UC16, "", KernelBoot::Bootz).unwrap();
        assert!(s.contains("bootz ${kernel_addr_r}"));
    }

    // A small interpreter of exactly the shell the script uses (setenv, if/elif/else/fi,
    // test, echo, load, env import/export -c, fatwrite and the boot commands), over an
    // in-memory partition: enough to run the generated text against the Rust model in
    // every state, with saves that fail. The real U-Boot runs it in
    // tests/tests/uboot_boot.rs.
    struct Machine {
        files: BTreeMap<String, Vec<u8>>,
        env: BTreeMap<String, String>,
        mem: BTreeMap<String, Vec<u8>>,
        /// How many `fatwrite`s fail before they work again.
        failing_writes: usize,
        redundant: bool,
        console: Vec<String>,
        booted: Option<(String, String)>,
    }

    impl Machine {
        fn expand(&self, word: &str) -> String {
            let mut out = String::new();
            let mut rest = word;
            while let Some(i) = rest.find("${") {
                out.push_str(&rest[..i]);
                let end = rest[i..].find('}').unwrap() + i;
                let name = &rest[i + 2..end];
                out.push_str(self.env.get(name).map(String::as_str).unwrap_or(""));
                rest = &rest[end + 1..];
            }
            out.push_str(rest);
            out
        }

        /// Splits a command into words, quotes grouping, variables expanded.
        fn words(&self, cmd: &str) -> Vec<String> {
            let mut words = Vec::new();
            let mut cur = String::new();
            let mut quoted = false;
            let mut any = false;
            for c in cmd.chars() {
                match c {
                    '"' => {
                        quoted = !quoted;
                        any = true;
                    }
                    ' ' if !quoted => {
                        if any || !cur.is_empty() {
                            words.push(self.expand(&cur));
                        }
                        cur.clear();
                        any = false;
                    }
                    _ => cur.push(c),
                }
            }
            if any || !cur.is_empty() {
                words.push(self.expand(&cur));
            }
            words
        }

        fn run(&mut self, cmd: &str) -> bool {
            let w = self.words(cmd);
            let args: Vec<&str> = w.iter().map(String::as_str).collect();
            let part = "virtio 0:1";
            match args.as_slice() {
                ["setenv", k] => {
                    self.env.remove(*k);
                    true
                }
                ["setenv", k, v] => {
                    if v.is_empty() {
                        self.env.remove(*k);
                    } else {
                        self.env.insert(k.to_string(), v.to_string());
                    }
                    true
                }
                ["echo", msg] => {
                    self.console.push(msg.to_string());
                    true
                }
                ["test", "-z", v] => v.is_empty(),
                ["test", "-n", v] => !v.is_empty(),
                ["test", a, "=", b] => a == b,
                ["load", dev, p, addr, path] => {
                    assert_eq!(format!("{dev} {p}"), part);
                    match self.files.get(*path) {
                        Some(data) => {
                            self.mem.insert(addr.to_string(), data.clone());
                            let size = format!("{:x}", data.len());
                            self.env.insert("filesize".into(), size);
                            true
                        }
                        None => false,
                    }
                }
                ["env", "import", "-d", "-c", addr, size, vars @ ..] => {
                    let data = &self.mem[*addr];
                    assert_eq!(usize::from_str_radix(size, 16).unwrap(), data.len());
                    let Ok(file) = UbootEnv::parse(data) else {
                        return false;
                    };
                    for v in vars {
                        match file.get(v) {
                            Some(x) => self.env.insert(v.to_string(), x.to_owned()),
                            None => self.env.remove(*v),
                        };
                    }
                    true
                }
                ["env", "export", "-c", "-s", size, addr, vars @ ..] => {
                    let size = usize::from_str_radix(size, 16).unwrap();
                    let mut e = UbootEnv::new(size, self.redundant);
                    // U-Boot's export pads with NULs (`tests/tests/uboot_boot.rs` checks it).
                    e.set_padding(0);
                    for v in vars {
                        if let Some(x) = self.env.get(*v) {
                            e.set(v, x).unwrap();
                        }
                    }
                    self.mem.insert(addr.to_string(), e.encode().unwrap());
                    true
                }
                ["fatwrite", dev, p, addr, path, size] => {
                    assert_eq!(format!("{dev} {p}"), part);
                    let data = self.mem[*addr].clone();
                    assert_eq!(usize::from_str_radix(size, 16).unwrap(), data.len());
                    if self.failing_writes > 0 {
                        self.failing_writes -= 1;
                        return false;
                    }
                    self.files.insert(path.to_string(), data);
                    true
                }
                ["zboot", kaddr, "0", raddr, size] => {
                    let k = String::from_utf8(self.mem[*kaddr].clone()).unwrap();
                    assert_eq!(
                        usize::from_str_radix(size, 16).unwrap(),
                        self.mem[*raddr].len()
                    );
                    self.booted = Some((k, self.env["bootargs"].clone()));
                    true
                }
                other => panic!("the interpreter does not know {other:?}"),
            }
        }

        /// Runs the script's lines; nested if/elif/else/fi by a stack of (taking this
        /// branch, some branch was taken, the enclosing block runs).
        fn source(&mut self, script: &str) {
            let mut stack: Vec<(bool, bool, bool)> = Vec::new();
            let active = |stack: &Vec<(bool, bool, bool)>| stack.last().is_none_or(|f| f.0 && f.2);
            for line in script.lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if let Some(cond) = line.strip_prefix("if ") {
                    let outer = active(&stack);
                    let cond = cond.strip_suffix("; then").unwrap();
                    let ok = outer && self.run(cond);
                    stack.push((ok, ok, outer));
                } else if let Some(cond) = line.strip_prefix("elif ") {
                    let (_, taken, outer) = stack.pop().unwrap();
                    let cond = cond.strip_suffix("; then").unwrap();
                    let ok = outer && !taken && self.run(cond);
                    stack.push((ok, taken || ok, outer));
                } else if line == "else" {
                    let (_, taken, outer) = stack.pop().unwrap();
                    stack.push((!taken, true, outer));
                } else if line == "fi" {
                    stack.pop().unwrap();
                } else if active(&stack) {
                    assert!(!line.contains(';'), "{line}");
                    self.run(line);
                }
            }
            assert!(stack.is_empty());
        }
    }

    const A: &str = "pi-kernel_1.snap";
    const B: &str = "pi-kernel_2.snap";
    const BASE_A: &str = "core18_1.snap";
    const BASE_B: &str = "core18_2.snap";

    /// A machine whose `/uboot.env` holds `vars`, with kernels A and B extracted.
    fn machine(vars: &[(&str, &str)], redundant: bool) -> (Machine, UbootEnv) {
        let mut env = UbootEnv::new(4096, redundant);
        for (k, v) in vars {
            env.set(k, v).unwrap();
        }
        let mut files = BTreeMap::new();
        files.insert("/uboot.env".to_owned(), env.encode().unwrap());
        for k in [A, B] {
            files.insert(format!("/{k}/kernel.img"), k.as_bytes().to_vec());
            files.insert(format!("/{k}/initrd.img"), b"initrd".to_vec());
        }
        let mut uboot = BTreeMap::new();
        for (k, v) in [
            ("devtype", "virtio"),
            ("devnum", "0"),
            ("distro_bootpart", "1"),
            ("kernel_addr_r", "0x1000000"),
            ("ramdisk_addr_r", "0x4000000"),
        ] {
            uboot.insert(k.to_owned(), v.to_owned());
        }
        let m = Machine {
            files,
            env: uboot,
            mem: BTreeMap::new(),
            failing_writes: 0,
            redundant,
            console: Vec::new(),
            booted: None,
        };
        (m, env)
    }

    const KERNEL_STATES: [(&str, &str); 7] = [
        ("", ""),
        ("", B),
        ("try", B),
        ("try", ""),
        ("trying", B),
        ("trying", ""),
        ("bogus", B),
    ];

    #[test]
    fn the_script_is_the_model_in_every_state() {
        let script = try_boot_script(ScriptLayout::UC16, "panic=-1", KernelBoot::Zboot).unwrap();
        // (snap_core, snap_try_core, base_status); no base at all in the first.
        let base_states = [
            ("", "", ""),
            (BASE_A, "", ""),
            (BASE_A, BASE_B, "try"),
            (BASE_A, BASE_B, "trying"),
            (BASE_A, "", "try"),
            (BASE_A, BASE_B, "bogus"),
        ];
        for redundant in [false, true] {
            for (status, try_kernel) in KERNEL_STATES {
                for (core, try_core, base_status) in base_states {
                    let what = format!(
                        "kernel {status:?} {try_kernel:?}, base {core:?} {try_core:?} {base_status:?}"
                    );
                    let (mut m, mut model) = machine(
                        &[
                            ("snap_kernel", A),
                            ("snap_try_kernel", try_kernel),
                            ("kernel_status", status),
                            ("snap_core", core),
                            ("snap_try_core", try_core),
                            ("base_status", base_status),
                        ],
                        redundant,
                    );
                    let before = model.encode().unwrap();
                    let chosen = bootloader_boot(&mut model).unwrap();
                    m.source(&script);
                    let (kernel, args) = m.booted.clone().unwrap_or_else(|| panic!("{what}"));
                    assert_eq!(kernel, chosen.kernel, "{what}");
                    let base_arg = if chosen.base.is_empty() {
                        String::new()
                    } else {
                        format!(" snap_core={}", chosen.base)
                    };
                    assert_eq!(
                        args,
                        format!("snap_kernel={}{base_arg} panic=-1", chosen.kernel),
                        "{what}"
                    );
                    let after = UbootEnv::parse(&m.files["/uboot.env"]).unwrap();
                    assert_eq!(after.vars(), model.vars(), "{what}");
                    for (slot, st, cand) in [
                        (KERNEL_SLOT, status, try_kernel),
                        (BASE_SLOT, base_status, try_core),
                    ] {
                        let line = format!(
                            "{} {cand} failed to boot: falling back to {}",
                            slot.what,
                            if slot == KERNEL_SLOT { A } else { core }
                        );
                        assert_eq!(
                            m.console.contains(&line),
                            st == "trying",
                            "{what}: {:?}",
                            m.console
                        );
                    }
                    // A state that needs no save is not written at all.
                    if status.is_empty() && base_status.is_empty() {
                        assert_eq!(m.files["/uboot.env"], before, "{what}");
                    }
                }
            }
        }
    }

    #[test]
    fn other_variables_of_the_builder_survive_a_save() {
        let script = try_boot_script(ScriptLayout::UC16, "", KernelBoot::Zboot).unwrap();
        let (mut m, _) = machine(
            &[
                ("snap_kernel", A),
                ("snap_try_kernel", B),
                ("kernel_status", "try"),
                ("snap_mode", "x"),
                ("not_ours", "y"),
            ],
            false,
        );
        m.source(&script);
        assert_eq!(
            m.booted.clone().unwrap(),
            (B.into(), format!("snap_kernel={B}"))
        );
        let after = UbootEnv::parse(&m.files["/uboot.env"]).unwrap();
        assert_eq!(after.get("snap_mode"), Some("x"));
        assert_eq!(after.get("kernel_status"), Some("trying"));
        // Documented: a variable the script does not list is dropped by its saves.
        assert_eq!(after.get("not_ours"), None);
    }

    #[test]
    fn a_try_that_cannot_be_saved_is_not_booted() {
        let script = try_boot_script(ScriptLayout::UC16, "panic=-1", KernelBoot::Zboot).unwrap();
        let vars = [
            ("snap_kernel", A),
            ("snap_try_kernel", B),
            ("kernel_status", "try"),
            ("snap_core", BASE_A),
            ("snap_try_core", BASE_B),
            ("base_status", "try"),
        ];
        let (mut m, model) = machine(&vars, false);
        m.failing_writes = usize::MAX;
        m.source(&script);
        assert_eq!(
            m.booted.unwrap(),
            (
                A.into(),
                format!("snap_kernel={A} snap_core={BASE_A} panic=-1")
            )
        );
        assert_eq!(m.files["/uboot.env"], model.encode().unwrap());
    }

    #[test]
    fn a_failed_save_is_not_written_by_a_later_one() {
        // The kernel's save fails, the base's works: the kernel is not tried and the file
        // keeps its "try", as grub (which saves one variable at a time) leaves it.
        let script = try_boot_script(ScriptLayout::UC16, "", KernelBoot::Zboot).unwrap();
        let (mut m, _) = machine(
            &[
                ("snap_kernel", A),
                ("snap_try_kernel", B),
                ("kernel_status", "try"),
                ("snap_core", BASE_A),
                ("snap_try_core", BASE_B),
                ("base_status", "try"),
            ],
            false,
        );
        m.failing_writes = 1;
        m.source(&script);
        assert_eq!(
            m.booted.unwrap(),
            (A.into(), format!("snap_kernel={A} snap_core={BASE_B}"))
        );
        let after = UbootEnv::parse(&m.files["/uboot.env"]).unwrap();
        assert_eq!(after.get("kernel_status"), Some("try"));
        assert_eq!(after.get("base_status"), Some("trying"));
    }

    #[test]
    fn an_unreadable_environment_boots_nothing() {
        let script = try_boot_script(ScriptLayout::UC16, "panic=-1", KernelBoot::Zboot).unwrap();
        let (mut m, _) = machine(
            &[
                ("snap_kernel", A),
                ("snap_try_kernel", B),
                ("kernel_status", "try"),
            ],
            false,
        );
        let mut bad = m.files["/uboot.env"].clone();
        bad[20] ^= 1;
        m.files.insert("/uboot.env".into(), bad.clone());
        m.source(&script);
        assert!(m.booted.is_none());
        assert!(
            m.console
                .contains(&"cannot read the boot environment /uboot.env: not booting".to_owned())
        );
        assert_eq!(m.files["/uboot.env"], bad);
    }

    #[test]
    fn an_initramfs_address_for_zboot_is_where_it_loads_and_boots() {
        let script = try_boot_script(
            ScriptLayout::UC16,
            "panic=-1",
            KernelBoot::ZbootInitrdAt(0x800_0000),
        )
        .unwrap();
        let (mut m, _) = machine(
            &[
                ("snap_kernel", A),
                ("snap_try_kernel", B),
                ("kernel_status", "try"),
            ],
            false,
        );
        m.source(&script);
        assert_eq!(
            m.booted.clone().unwrap(),
            (B.into(), format!("snap_kernel={B} panic=-1"))
        );
        assert_eq!(m.mem["0x8000000"], b"initrd");
        assert!(!m.mem.contains_key("0x4000000"));
        // The save is NUL-padded, as the real U-Boot's.
        let saved = UbootEnv::parse(&m.files["/uboot.env"]).unwrap();
        assert_eq!(saved.padding(), 0);
        assert_eq!(saved.get("kernel_status"), Some("trying"));
    }
}

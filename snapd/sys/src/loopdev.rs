//! Read-only loop devices: attach with `LOOP_CTL_GET_FREE` + `LOOP_CONFIGURE`, released by
//! `LO_FLAGS_AUTOCLEAR`, inspected through sysfs.
//!
//! Attaching is one atomic `LOOP_CONFIGURE` (not the racy `LOOP_SET_FD` + `LOOP_SET_STATUS64`
//! pair). Another process may take the device between `LOOP_CTL_GET_FREE` and `LOOP_CONFIGURE`;
//! the kernel then answers `EBUSY` and we ask for another free device, a bounded number of times.
//!
//! Nothing ever detaches a device explicitly: every device is configured with `AUTOCLEAR`, so
//! the kernel detaches it on the last close of the block device, i.e. when both the
//! [`LoopDevice`] handle is dropped and no mounted filesystem uses it any more. That makes
//! "no loop device left behind on failure" a consequence of dropping the handle.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use linux_raw_sys::loop_device::{
    LO_FLAGS_AUTOCLEAR, LO_FLAGS_READ_ONLY, LOOP_CONFIGURE, LOOP_CTL_GET_FREE, LOOP_GET_STATUS64,
    loop_config, loop_info64,
};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::ioctl::{Getter, Ioctl, IoctlOutput, Opcode, Setter};

use crate::error::SysError;
use crate::mountinfo::resolve;

/// The loop control device.
pub const LOOP_CONTROL: &str = "/dev/loop-control";

/// How many times to ask for a free device when others keep taking it first (`EBUSY`).
const MAX_ATTACH_ATTEMPTS: u32 = 64;

/// An attached, read-only, auto-clearing loop device.
///
/// Holding this handle keeps the device open, hence attached. Keep it until the filesystem on
/// it is mounted (`fsmount` returned): if it is dropped before anything else opened the device,
/// `AUTOCLEAR` detaches the device at once.
#[derive(Debug)]
pub struct LoopDevice {
    number: u32,
    path: PathBuf,
    fd: OwnedFd,
}

impl LoopDevice {
    /// Attaches `image` read-only (and with `AUTOCLEAR`) to a free loop device.
    pub fn attach_read_only(image: &Path) -> Result<LoopDevice, SysError> {
        let err = |source: io::Error| SysError::Attach {
            image: image.into(),
            source,
        };
        let backing = File::open(image).map_err(err)?;
        let meta = backing.metadata().map_err(err)?;
        if !meta.is_file() && !meta.file_type().is_block_device() {
            return Err(err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            )));
        }
        let control = rustix::fs::open(LOOP_CONTROL, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| err(context(e, format_args!("opening {LOOP_CONTROL}"))))?;
        let config = loop_config_for(&backing, image);

        let mut last = Errno::BUSY;
        for attempt in 0..MAX_ATTACH_ATTEMPTS {
            if attempt > 0 {
                // Others are attaching at the same moment; let them finish.
                std::thread::sleep(Duration::from_millis(u64::from(attempt.min(10))));
            }
            // SAFETY: LOOP_CTL_GET_FREE takes no argument and returns the device number as the
            // ioctl's return value; `GetFree` passes a null argument and reads only that value.
            let number = unsafe { rustix::ioctl::ioctl(&control, GetFree) }
                .map_err(|e| err(context(e, "LOOP_CTL_GET_FREE")))?;
            let path = PathBuf::from(format!("/dev/loop{number}"));
            let fd = match rustix::fs::open(&path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            {
                Ok(fd) => fd,
                // Removed (LOOP_CTL_REMOVE) by someone else in between: ask again.
                Err(e @ (Errno::NOENT | Errno::NXIO)) => {
                    last = e;
                    continue;
                }
                Err(e) => return Err(err(context(e, format_args!("opening {}", path.display())))),
            };
            // SAFETY: LOOP_CONFIGURE reads one `struct loop_config` (linux-raw-sys's binding of
            // the uapi struct, so the type matches the opcode) through the pointer and writes
            // nothing back; the Setter owns that struct for the whole call, and its `fd` field
            // is `backing`, which stays open until this function returns.
            let configure =
                unsafe { Setter::<{ LOOP_CONFIGURE as Opcode }, loop_config>::new(config) };
            // SAFETY: as above; `fd` is an open loop block device, the object LOOP_CONFIGURE is for.
            match unsafe { rustix::ioctl::ioctl(&fd, configure) } {
                Ok(()) => return Ok(LoopDevice { number, path, fd }),
                // Someone configured this device after LOOP_CTL_GET_FREE handed it to us.
                Err(Errno::BUSY) => last = Errno::BUSY,
                Err(e) => {
                    return Err(err(context(
                        e,
                        format_args!("LOOP_CONFIGURE {}", path.display()),
                    )));
                }
            }
        }
        Err(err(context(
            last,
            format_args!("no free loop device after {MAX_ATTACH_ATTEMPTS} attempts"),
        )))
    }

    /// The device number N of `/dev/loopN`.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// `/dev/loopN`.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl AsFd for LoopDevice {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// `errno` with what we were doing, e.g. "opening /dev/loop-control: No such file or directory".
/// Keeps the error kind; the raw errno survives only in the text.
fn context(errno: Errno, what: impl std::fmt::Display) -> io::Error {
    io::Error::new(errno.kind(), format!("{what}: {}", io::Error::from(errno)))
}

/// `struct loop_config` for a read-only, auto-clearing device backed by `backing`.
fn loop_config_for(backing: &File, image: &Path) -> loop_config {
    // lo_file_name is informational only (what `losetup -l` shows); the kernel NUL-terminates it.
    let mut lo_file_name = [0u8; 64];
    let name = image.as_os_str().as_bytes();
    let n = name.len().min(lo_file_name.len() - 1);
    lo_file_name[..n].copy_from_slice(&name[..n]);
    loop_config {
        fd: backing.as_raw_fd() as u32,
        block_size: 0,
        info: loop_info64 {
            lo_device: 0,
            lo_inode: 0,
            lo_rdevice: 0,
            lo_offset: 0,
            lo_sizelimit: 0,
            lo_number: 0,
            lo_encrypt_type: 0,
            lo_encrypt_key_size: 0,
            lo_flags: LO_FLAGS_READ_ONLY as u32 | LO_FLAGS_AUTOCLEAR as u32,
            lo_file_name,
            lo_crypt_name: [0; 64],
            lo_encrypt_key: [0; 32],
            lo_init: [0; 2],
        },
        __reserved: [0; 8],
    }
}

/// `ioctl(fd, LOOP_CTL_GET_FREE)`: no argument, the result is the return value.
struct GetFree;

// SAFETY: LOOP_CTL_GET_FREE ignores its argument (we pass null), touches no user memory
// (IS_MUTATING = false is accurate), and returns a non-negative device number on success.
unsafe impl Ioctl for GetFree {
    type Output = u32;
    const IS_MUTATING: bool = false;

    fn opcode(&self) -> Opcode {
        LOOP_CTL_GET_FREE as Opcode
    }

    fn as_ptr(&mut self) -> *mut std::ffi::c_void {
        std::ptr::null_mut()
    }

    unsafe fn output_from_ptr(
        out: IoctlOutput,
        _: *mut std::ffi::c_void,
    ) -> rustix::io::Result<u32> {
        u32::try_from(out).map_err(|_| Errno::RANGE)
    }
}

/// The block major number of loop devices.
const LOOP_MAJOR: u32 = 7;

/// `(st_dev, st_ino)` of the file backing loop device `dev` (from `LOOP_GET_STATUS64`), provided
/// `dev` is the loop block device `major:minor` (as a mount table entry names it).
pub(crate) fn backing_file_id(dev: &Path, (major, minor): (u32, u32)) -> io::Result<(u64, u64)> {
    let fd = rustix::fs::open(dev, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let st = rustix::fs::fstat(&fd)?;
    let rdev = (rustix::fs::major(st.st_rdev), rustix::fs::minor(st.st_rdev));
    let is_blk =
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::BlockDevice;
    if !is_blk || major != LOOP_MAJOR || rdev != (major, minor) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not loop block device {major}:{minor}", dev.display()),
        ));
    }
    // SAFETY: LOOP_GET_STATUS64 writes exactly one `struct loop_info64` (linux-raw-sys's binding
    // of the uapi struct) through the pointer, which `Getter` provides and then reads back.
    let get = unsafe { Getter::<{ LOOP_GET_STATUS64 as Opcode }, loop_info64>::new() };
    // SAFETY: as above; `fd` was just checked to be a loop block device, whose driver
    // implements LOOP_GET_STATUS64 with exactly that struct.
    let info = unsafe { rustix::ioctl::ioctl(&fd, get) }?;
    Ok((info.lo_device, info.lo_inode))
}

/// What sysfs says about one bound loop device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopInfo {
    /// `/dev/loopN`.
    pub device: PathBuf,
    /// The backing file, as the kernel resolves it now (renames are followed), without the
    /// ` (deleted)` suffix.
    pub backing_file: PathBuf,
    /// The backing file has been unlinked (the kernel appends ` (deleted)`).
    pub deleted: bool,
}

const DELETED_SUFFIX: &[u8] = b" (deleted)";

/// The raw backing file of loop device `dev` (`/dev/loop7` or `loop7`), as the kernel reports it
/// in `/sys/block/loopN/loop/backing_file` (including a ` (deleted)` suffix if it was unlinked).
/// `None` if the device does not exist or is not bound.
pub fn loop_backing_file(dev: &Path) -> Option<PathBuf> {
    let name = dev.file_name()?;
    if !name.as_bytes().starts_with(b"loop") {
        return None;
    }
    let mut raw =
        std::fs::read(Path::new("/sys/block").join(name).join("loop/backing_file")).ok()?;
    if raw.last() == Some(&b'\n') {
        raw.pop();
    }
    Some(PathBuf::from(
        <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(raw),
    ))
}

/// Every bound loop device whose backing file is `prefix` or below it (path-component-wise,
/// after resolving `prefix`), including devices whose backing file has been deleted since.
pub fn loops_backed_by(prefix: &Path) -> Vec<LoopInfo> {
    let prefix = resolve(prefix);
    let Ok(dir) = std::fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    let mut found: Vec<LoopInfo> = dir
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().as_bytes().starts_with(b"loop"))
        .filter_map(|e| {
            let device = Path::new("/dev").join(e.file_name());
            // Unbound devices have no loop/ directory; a device may also unbind meanwhile.
            let raw = loop_backing_file(&device)?;
            let raw = raw.as_os_str().as_bytes();
            let (path, deleted) = match raw.strip_suffix(DELETED_SUFFIX) {
                Some(p) => (p, true),
                None => (raw, false),
            };
            let backing_file = PathBuf::from(std::ffi::OsStr::from_bytes(path));
            backing_file.starts_with(&prefix).then_some(LoopInfo {
                device,
                backing_file,
                deleted,
            })
        })
        .collect();
    found.sort_by(|a, b| a.device.cmp(&b.device));
    found
}

/// `(st_dev, st_ino)` of a file, in the same encoding `LOOP_GET_STATUS64` uses.
pub(crate) fn file_id(path: &Path) -> io::Result<(u64, u64)> {
    let meta = std::fs::metadata(path)?;
    Ok((meta.dev(), meta.ino()))
}

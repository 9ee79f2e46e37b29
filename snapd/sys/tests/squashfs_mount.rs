//! Privileged tests against the real kernel: root, loop devices, squashfs.
//! Each test is independent and may run concurrently with the others (nextest or cargo test).

mod common;

use std::fs;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{Scratch, assert_no_loops, assert_no_mounts};
use snap_sys::{
    KernelMounter, LoopDevice, Mounter, SysError, is_mount_point, loop_backing_file,
    loops_backed_by, mount_at, mount_squashfs, mounts_under, remove_dir_all_if_exists, unmount,
};

#[test]
fn mount_read_readonly_unmount() {
    let s = Scratch::new();
    let img = s.image("hello", "hello world\n");
    let target = s.target("hello/x1");

    mount_squashfs(&img, &target).unwrap();

    assert!(is_mount_point(&target).unwrap());
    assert_eq!(
        fs::read_to_string(target.join("hello.txt")).unwrap(),
        "hello world\n"
    );
    let entry = mount_at(&target).unwrap().unwrap();
    assert_eq!(entry.fs_type, "squashfs");
    assert!(entry.has_mount_option("ro"), "{entry:?}");
    assert!(entry.has_mount_option("nodev"), "{entry:?}");
    assert_eq!(entry.major, 7, "{entry:?}");
    let dev = PathBuf::from(&entry.source);
    assert_eq!(
        loop_backing_file(&dev).unwrap(),
        fs::canonicalize(&img).unwrap()
    );
    let loops = loops_backed_by(&img);
    assert_eq!(loops.len(), 1, "{loops:?}");
    assert_eq!(loops[0].device, dev);
    assert!(!loops[0].deleted);

    let err = fs::write(target.join("hello.txt"), "x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
    let err = fs::write(target.join("new"), "x").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");

    unmount(&target).unwrap();
    assert!(!is_mount_point(&target).unwrap());
    assert_no_loops(s.path());
    assert_no_mounts(s.path());
    // The mount point is an ordinary, empty directory again.
    assert_eq!(fs::read_dir(&target).unwrap().count(), 0);
}

#[test]
fn mount_twice_is_idempotent() {
    let s = Scratch::new();
    let img = s.image("twice", "1");
    let target = s.target("twice/x1");
    mount_squashfs(&img, &target).unwrap();
    mount_squashfs(&img, &target).unwrap();
    // Through another spelling of the same paths, too.
    mount_squashfs(&s.path().join("./twice.snap"), &target.join("../x1")).unwrap();
    assert_eq!(mounts_under(s.path()).unwrap().len(), 1);
    assert_eq!(loops_backed_by(s.path()).len(), 1);
    unmount(&target).unwrap();
    unmount(&target).unwrap();
    assert_no_loops(s.path());
    assert_no_mounts(s.path());
}

#[test]
fn other_image_on_mounted_target_is_refused() {
    let s = Scratch::new();
    let a = s.image("a", "a");
    let b = s.image("b", "b");
    let target = s.target("a/x1");
    mount_squashfs(&a, &target).unwrap();
    let err = mount_squashfs(&b, &target).unwrap_err();
    assert!(matches!(err, SysError::AlreadyMounted { .. }), "{err}");
    assert!(err.to_string().contains(a.to_str().unwrap()), "{err}");
    assert_eq!(fs::read_to_string(target.join("hello.txt")).unwrap(), "a");
    assert_eq!(mounts_under(s.path()).unwrap().len(), 1);
    assert!(loops_backed_by(&b).is_empty());
    unmount(&target).unwrap();
    assert_no_loops(s.path());
}

#[test]
fn image_replaced_at_same_path_is_not_the_same_image() {
    let s = Scratch::new();
    let img = s.image("r", "old");
    let target = s.target("r/x1");
    mount_squashfs(&img, &target).unwrap();
    // A new file renamed over the path: the mounted inode is now unlinked.
    let other = s.image("r2", "new");
    fs::rename(&other, &img).unwrap();
    let err = mount_squashfs(&img, &target).unwrap_err();
    assert!(matches!(err, SysError::AlreadyMounted { .. }), "{err}");
    assert!(err.to_string().contains("(deleted)"), "{err}");
    let loops = loops_backed_by(s.path());
    assert_eq!(loops.len(), 1, "{loops:?}");
    assert!(loops[0].deleted, "{loops:?}");
    unmount(&target).unwrap();
    assert_no_loops(s.path());
}

#[test]
fn garbage_image_is_rejected_without_leaking_a_loop() {
    let s = Scratch::new();
    let img = s.path().join("garbage.snap");
    fs::write(&img, vec![0x5au8; 64 * 1024]).unwrap();
    let target = s.target("garbage/x1");
    let err = mount_squashfs(&img, &target).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, SysError::InvalidImage { .. }), "{msg}");
    assert!(msg.contains("not a valid squashfs image"), "{msg}");
    assert!(
        msg.contains(img.to_str().unwrap()) && msg.contains(target.to_str().unwrap()),
        "{msg}"
    );
    eprintln!("garbage image error: {msg}");
    assert_no_loops(s.path());
    assert!(!is_mount_point(&target).unwrap());
}

#[test]
fn empty_image_is_rejected_without_leaking_a_loop() {
    let s = Scratch::new();
    let img = s.path().join("empty.snap");
    fs::write(&img, b"").unwrap();
    let target = s.target("empty/x1");
    let err = mount_squashfs(&img, &target).unwrap_err();
    eprintln!("empty image error: {err}");
    assert!(matches!(err, SysError::InvalidImage { .. }), "{err}");
    assert_no_loops(s.path());
    assert_no_mounts(s.path());
}

#[test]
fn truncated_image_is_rejected_without_leaking_a_loop() {
    let s = Scratch::new();
    // Hex digits of a xorshift sequence: about 64 KiB that do not compress to nothing.
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let content: String = (0..16384)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("{:08x}", x as u32)
        })
        .collect();
    let img = s.image("trunc", &content);
    // Cut the image in the middle of what the superblock says it uses (bytes_used, at offset
    // 40), not just in the padding mksquashfs adds up to 4 KiB.
    let bytes = fs::read(&img).unwrap();
    let bytes_used = u64::from_le_bytes(bytes[40..48].try_into().unwrap());
    let f = fs::OpenOptions::new().write(true).open(&img).unwrap();
    f.set_len(bytes_used / 2).unwrap();
    drop(f);
    let target = s.target("trunc/x1");
    let err = mount_squashfs(&img, &target).unwrap_err();
    let msg = err.to_string();
    eprintln!("truncated image error: {msg}");
    assert!(msg.contains("not a valid squashfs image"), "{msg}");
    assert_no_loops(s.path());
    assert_no_mounts(s.path());
}

#[test]
fn missing_image_or_target_is_an_error_without_a_loop() {
    let s = Scratch::new();
    let img = s.image("m", "m");
    let err = mount_squashfs(&s.path().join("nope.snap"), &s.target("m/x1")).unwrap_err();
    assert!(err.to_string().starts_with("attaching "), "{err}");
    let err = mount_squashfs(&img, &s.path().join("no/such/dir")).unwrap_err();
    assert_eq!(err.io_error().unwrap().kind(), ErrorKind::NotFound, "{err}");
    // A regular file is not a mount target for a directory tree.
    let file = s.path().join("file");
    fs::write(&file, b"").unwrap();
    let err = mount_squashfs(&img, &file).unwrap_err();
    assert!(err.to_string().starts_with("mounting /dev/loop"), "{err}");
    assert_no_loops(s.path());
    assert_no_mounts(s.path());
}

#[test]
fn unmount_of_non_mount_is_ok() {
    let s = Scratch::new();
    let target = s.target("plain");
    unmount(&target).unwrap();
    unmount(&s.path().join("does/not/exist")).unwrap();
    assert!(target.is_dir());
}

#[test]
fn twenty_cycles_leave_nothing_behind() {
    let s = Scratch::new();
    let img = s.image("cycle", "c");
    let target = s.target("cycle/x1");
    let mut mount_t = Duration::ZERO;
    let mut unmount_t = Duration::ZERO;
    for i in 0..20 {
        let t0 = Instant::now();
        mount_squashfs(&img, &target).unwrap();
        let t1 = Instant::now();
        assert_eq!(
            fs::read_to_string(target.join("hello.txt")).unwrap(),
            "c",
            "cycle {i}"
        );
        let t2 = Instant::now();
        unmount(&target).unwrap();
        let t3 = Instant::now();
        mount_t += t1 - t0;
        unmount_t += t3 - t2;
        assert_no_loops(s.path());
    }
    eprintln!(
        "20 cycles: mount {:?}/cycle, unmount {:?}/cycle (average)",
        mount_t / 20,
        unmount_t / 20
    );
    assert_no_mounts(s.path());
}

#[test]
fn four_threads_mount_at_once() {
    let s = Arc::new(Scratch::new());
    let jobs: Vec<(PathBuf, PathBuf)> = (0..4)
        .map(|i| {
            (
                s.image(&format!("c{i}"), &format!("{i}")),
                s.target(&format!("c{i}/x1")),
            )
        })
        .collect();
    let barrier = Arc::new(Barrier::new(jobs.len()));
    let handles: Vec<_> = jobs
        .iter()
        .cloned()
        .map(|(img, target)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                mount_squashfs(&img, &target)
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    let mut devices: Vec<_> = mounts_under(s.path())
        .unwrap()
        .into_iter()
        .map(|m| m.source)
        .collect();
    devices.sort();
    devices.dedup();
    assert_eq!(devices.len(), 4, "{devices:?}");
    for (i, (_, target)) in jobs.iter().enumerate() {
        assert_eq!(
            fs::read_to_string(target.join("hello.txt")).unwrap(),
            i.to_string()
        );
    }
    std::thread::scope(|sc| {
        for (_, target) in &jobs {
            sc.spawn(move || unmount(target).unwrap());
        }
    });
    assert_no_loops(s.path());
    assert_no_mounts(s.path());
}

#[test]
fn concurrent_attach_gets_distinct_devices_and_drop_frees_them() {
    let s = Scratch::new();
    let img = s.image("att", "a");
    let barrier = Barrier::new(8);
    let devs: Vec<LoopDevice> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..8)
            .map(|_| {
                sc.spawn(|| {
                    barrier.wait();
                    LoopDevice::attach_read_only(&img).unwrap()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut numbers: Vec<u32> = devs.iter().map(LoopDevice::number).collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 8, "{numbers:?}");
    assert_eq!(loops_backed_by(&img).len(), 8);
    for d in &devs {
        assert_eq!(
            loop_backing_file(d.path()).unwrap(),
            fs::canonicalize(&img).unwrap()
        );
    }
    drop(devs);
    assert_no_loops(s.path());
}

#[test]
fn busy_mount_is_detached_lazily_and_loop_freed_when_released() {
    let s = Scratch::new();
    let img = s.image("busy", "busy");
    let target = s.target("busy/x1");
    mount_squashfs(&img, &target).unwrap();
    // An open file makes a plain umount fail with EBUSY.
    let mut open = fs::File::open(target.join("hello.txt")).unwrap();

    unmount(&target).unwrap();
    assert!(!is_mount_point(&target).unwrap());
    // Still in use: the filesystem lives on and the loop device stays attached.
    assert_eq!(loops_backed_by(s.path()).len(), 1);
    let mut text = String::new();
    open.read_to_string(&mut text).unwrap();
    assert_eq!(text, "busy");

    drop(open);
    assert_no_loops(s.path());
}

#[test]
fn unmount_removes_stacked_mounts() {
    let s = Scratch::new();
    let img = s.image("stack", "s");
    let target = s.target("stack/x1");
    mount_squashfs(&img, &target).unwrap();
    rustix::mount::mount(
        "tmpfs",
        &target,
        "tmpfs",
        rustix::mount::MountFlags::empty(),
        None,
    )
    .unwrap();
    // The visible mount is tmpfs now: not our image.
    let err = mount_squashfs(&img, &target).unwrap_err();
    assert!(matches!(err, SysError::AlreadyMounted { .. }), "{err}");
    assert_eq!(mounts_under(&target).unwrap().len(), 2);
    unmount(&target).unwrap();
    assert_no_mounts(s.path());
    assert_no_loops(s.path());
}

#[test]
fn symlinked_target_and_kernel_mounter() {
    let s = Scratch::new();
    let img = s.image("sym", "sym");
    let real = s.target("sym/x1");
    let link = s.path().join("snap/sym/current");
    std::os::unix::fs::symlink("x1", &link).unwrap();
    let m: Box<dyn Mounter> = Box::new(KernelMounter);
    m.mount_squashfs(&img, &link).unwrap();
    assert!(m.is_mounted(&real).unwrap());
    assert!(m.is_mounted(&link).unwrap());
    m.mount_squashfs(&img, &real).unwrap();
    assert_eq!(mounts_under(s.path()).unwrap().len(), 1);
    m.unmount(&link).unwrap();
    assert!(!m.is_mounted(&real).unwrap());
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_no_loops(s.path());
}

#[test]
fn remove_dir_all_refuses_mounted_trees() {
    let s = Scratch::new();
    let img = s.image("rm", "rm");
    let target = s.target("rm/x1");
    mount_squashfs(&img, &target).unwrap();
    let tree = s.path().join("snap/rm");
    let err = remove_dir_all_if_exists(&tree).unwrap_err();
    assert!(matches!(err, SysError::MountedBeneath { .. }), "{err}");
    assert_eq!(fs::read_to_string(target.join("hello.txt")).unwrap(), "rm");
    unmount(&target).unwrap();
    remove_dir_all_if_exists(&tree).unwrap();
    assert!(!tree.exists());
    assert_no_loops(s.path());
}

#[test]
fn loop_helpers_on_unknown_devices() {
    common::require_privileges();
    assert_eq!(loop_backing_file(Path::new("/dev/sda")), None);
    assert_eq!(loop_backing_file(Path::new("/dev/loop999999")), None);
    let d = tempfile::tempdir().unwrap();
    assert!(loops_backed_by(d.path()).is_empty());
}

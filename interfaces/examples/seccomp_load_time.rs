//! How long `seccomp(SECCOMP_SET_MODE_FILTER)` takes for the default strict program of this
//! architecture, laid out as a search tree (what `compile_program` emits) and as seccompiler's
//! linear chain (what it emitted before). At load the kernel runs the filter for every
//! syscall number to find those it always allows, so the cost follows the number of
//! instructions run per syscall, not the program's size alone.
//!
//! Each load happens in a forked child that times the call and exits; the two layouts take
//! turns, with a one-instruction filter for the fixed cost of any load. Prints the median
//! and the 10th and 90th percentiles in microseconds.
//!
//! ```text
//! cargo run --release -p snap-interfaces --example seccomp_load_time [-- LOADS]
//! ```

use std::io;

use snap_interfaces::{BpfProgram, compile_program, compile_program_linear, sock_filter};

/// Nanoseconds the kernel took to load `program` into a new child process.
fn load_once(program: &[sock_filter]) -> io::Result<u64> {
    let fprog = libc::sock_fprog {
        len: u16::try_from(program.len()).map_err(io::Error::other)?,
        // seccompiler's sock_filter is #[repr(C)] with libc's fields; the kernel only reads.
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: this program is single-threaded; the child only makes raw syscalls and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let mut start = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let mut end = start;
        // SAFETY: async-signal-safe calls on memory the child owns; `fprog` points at
        // `program`, alive in the child's copy of the address space.
        unsafe {
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut start);
            let rc = libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &fprog as *const libc::sock_fprog,
            );
            libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut end);
            let ns: u64 = if rc == 0 {
                ((end.tv_sec - start.tv_sec) * 1_000_000_000 + end.tv_nsec - start.tv_nsec) as u64
            } else {
                u64::MAX
            };
            libc::write(fds[1], (&ns as *const u64).cast(), 8);
            libc::_exit(0);
        }
    }
    // SAFETY: closing our copy of the write end, which nothing else uses.
    unsafe { libc::close(fds[1]) };
    let mut ns = [0u8; 8];
    // SAFETY: reading at most 8 bytes into `ns`.
    let n = unsafe { libc::read(fds[0], ns.as_mut_ptr().cast(), 8) };
    // SAFETY: closing the read end; waiting for the child forked above.
    unsafe {
        libc::close(fds[0]);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
    let ns = u64::from_ne_bytes(ns);
    if n != 8 || ns == u64::MAX {
        return Err(io::Error::other("the child could not load the program"));
    }
    Ok(ns)
}

fn percentile(sorted: &[u64], p: usize) -> f64 {
    sorted[(sorted.len() - 1) * p / 100] as f64 / 1000.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let loads: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 200,
    };
    let yaml = b"name: probe\nversion: '1'\napps:\n  probe:\n    command: bin/probe\n";
    let snap = snap_core::parse_snap_yaml(yaml)?;
    let profile = snap_interfaces::app_profile(&snap, "1", "probe")?;
    let arch = snap_interfaces::Arch::host()?;
    // What loading any filter costs: one instruction that allows everything.
    let minimal = vec![sock_filter {
        code: 0x06, // BPF_RET | BPF_K
        jt: 0,
        jf: 0,
        k: 0x7fff_0000, // SECCOMP_RET_ALLOW
    }];
    let layouts: [(&str, BpfProgram); 3] = [
        ("tree", compile_program(&profile.seccomp, arch)?),
        ("linear", compile_program_linear(&profile.seccomp, arch)?),
        ("allow", minimal),
    ];
    let mut times = vec![Vec::with_capacity(loads); layouts.len()];
    // A few loads to warm up, then the layouts take turns.
    for round in 0..loads + 10 {
        for (i, (_, program)) in layouts.iter().enumerate() {
            let ns = load_once(program)?;
            if round >= 10 {
                times[i].push(ns);
            }
        }
    }
    println!(
        "{} strict default, {loads} loads each:",
        std::env::consts::ARCH
    );
    for ((name, program), mut t) in layouts.iter().zip(times) {
        t.sort_unstable();
        println!(
            "  {name:6} {:4} instructions: median {:7.1} µs (p10 {:.1}, p90 {:.1})",
            program.len(),
            percentile(&t, 50),
            percentile(&t, 10),
            percentile(&t, 90),
        );
    }
    Ok(())
}

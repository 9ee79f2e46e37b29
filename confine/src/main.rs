//! `snap-confine [--debug] SNAP.APP [ARGS...]`, `snap-confine [--debug] --hook=HOOK SNAP`.
//! See the library's documentation for what it does.

fn main() {
    let code = snap_confine::main_with_args(std::env::args_os().skip(1).collect());
    std::process::exit(code);
}

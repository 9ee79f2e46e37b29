//! Reading `/proc`.

/// The start time of `pid` (field 22 of `/proc/PID/stat`, in clock ticks since boot), or of
/// this process for `None`. With the pid it names one process and no later one that reuses
/// the pid.
pub fn start_time(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_the_same_start_time_by_pid_and_as_self() {
        let mine = start_time(None).expect("a start time");
        assert_eq!(start_time(Some(std::process::id())), Some(mine));
        assert_eq!(start_time(Some(u32::MAX)), None);
    }
}

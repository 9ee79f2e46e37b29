//! The `timer:` schedule grammar snapd accepts (the same as `refresh.timer`).
//!
//! A schedule is one or more event sets joined by `,,`; an event set is comma-separated
//! fragments: weekday spans (`mon`, `mon-fri`, `mon1`, `sun5`) first, then clock spans
//! (`10:00`, `9:00-11:00`, `9:00~11:00`, `9:00-11:00/2`, `-/4`). Only parsing is done here;
//! computing the next event belongs to whatever runs timers.

fn clock(s: &str) -> Result<(), String> {
    let bad = || format!("cannot parse {s:?}");
    if s == "24:00" {
        return Ok(());
    }
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit());
    if !digits(h) || !digits(m) || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(())
}

fn clock_range(s: &str) -> Result<(), String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("cannot parse {s:?}: not a valid interval"))?;
    clock(a).map_err(|_| format!("cannot parse {a:?}: not a valid time"))?;
    clock(b).map_err(|_| format!("cannot parse {b:?}: not a valid time"))
}

fn clock_span(s: &str) -> Result<(), String> {
    let bad_interval = || format!("cannot parse {s:?}: not a valid interval");
    let mut rest = s.to_owned();
    if s.contains('/') {
        let parts: Vec<&str> = s.split('/').collect();
        let [span, count] = parts.as_slice() else {
            return Err(bad_interval());
        };
        match count.parse::<u32>() {
            Ok(n) if n > 0 && count.bytes().all(|c| c.is_ascii_digit()) => {}
            _ => return Err(bad_interval()),
        }
        rest = (*span).to_owned();
    }
    // `~` means "spread over the span" and is otherwise a `-`.
    let rest = rest.replacen('~', "-", 1);
    let parsed = if rest == "-" {
        Ok(())
    } else if rest.contains('-') {
        clock_range(&rest)
    } else {
        clock(&rest)
    };
    parsed.map_err(|_| format!("cannot parse {s:?}: not a valid time"))
}

/// `(weekday, week-of-month)`, with 0 meaning every week.
fn weekday(s: &str) -> Result<(u8, u8), String> {
    let b = s.as_bytes();
    if b.len() != 3 && b.len() != 4 {
        return Err(format!("cannot parse {s:?}: invalid format"));
    }
    let mut pos = 0;
    if b.len() == 4 {
        pos = match b[3] {
            c @ b'1'..=b'5' => c - b'0',
            _ => return Err(format!("cannot parse {s:?}: invalid week number")),
        };
    }
    let day = match &b[..3] {
        b"sun" => 0,
        b"mon" => 1,
        b"tue" => 2,
        b"wed" => 3,
        b"thu" => 4,
        b"fri" => 5,
        b"sat" => 6,
        _ => return Err(format!("cannot parse {s:?}: invalid weekday")),
    };
    Ok((day, pos))
}

fn week_span(s: &str) -> Result<(), String> {
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() > 2 {
        return Err(format!("cannot parse {s:?}: invalid week span"));
    }
    let start = weekday(parts[0])
        .map_err(|_| format!("cannot parse {s:?}: {:?} is not a valid weekday", parts[0]))?;
    let end = match parts.get(1) {
        Some(p) => {
            weekday(p).map_err(|_| format!("cannot parse {s:?}: {p:?} is not a valid weekday"))?
        }
        None => start,
    };
    if start.1 != 0 && end.1 != 0 && end.1 < start.1 {
        return Err(format!("cannot parse {s:?}: unsupported schedule"));
    }
    Ok(())
}

fn event_set(s: &str) -> Result<(), String> {
    let mut expect_time = false;
    for fragment in s.split(',') {
        if fragment.is_empty() {
            return Err(format!("cannot parse {s:?}: not a valid fragment"));
        }
        if fragment.contains(':') {
            clock_span(fragment)?;
            expect_time = true;
        } else if !expect_time {
            week_span(fragment)?;
        } else {
            return Err(format!(
                "cannot parse {fragment:?}: invalid schedule fragment"
            ));
        }
    }
    Ok(())
}

/// Checks a `timer:` value; the error explains which part is wrong.
pub fn validate_timer(spec: &str) -> Result<(), String> {
    spec.split(",,").try_for_each(event_set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted() {
        for ok in [
            "10:00",
            "9:00-11:00",
            "9:00~11:00",
            "23:00-01:00/2",
            "mon,10:00",
            "mon-fri,10:00-11:00",
            "mon1-fri,9:00",
            "sun5,00:00",
            "mon",
            "24:00",
            "mon,10:00,,fri,15:00",
            "00:00-24:00/96",
            "0:00",
        ] {
            assert_eq!(validate_timer(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refused() {
        for bad in [
            "",
            "10",
            "25:00",
            "10:60",
            "10:0",
            "100:00",
            "mon,",
            "10:00,mon",
            "monday",
            "mon6",
            "mon0",
            "mon-tue-wed",
            "fri2-mon1",
            "9:00-11:00/0",
            "9:00-11:00/x",
            "9:00/2/3",
            "9:00-",
            "xyz,10:00",
            ",,",
            // The whole-day span needs a colon somewhere to be read as a time at all.
            "-/4",
            "~/4",
        ] {
            assert!(validate_timer(bad).is_err(), "{bad}");
        }
        assert_eq!(
            validate_timer("10:00,mon").unwrap_err(),
            "cannot parse \"mon\": invalid schedule fragment"
        );
    }
}

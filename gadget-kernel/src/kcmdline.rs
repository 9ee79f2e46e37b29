//! Kernel command-line arguments and patterns, as `kernel-cmdline: {allow, append, remove}`
//! spells them.
//!
//! Arguments are split the way the Linux kernel's `next_arg` does (snapd follows it too):
//! whitespace separates arguments, double quotes protect whitespace, the first `=` splits the
//! parameter from its value.

use std::fmt;

/// One parsed kernel argument: `param`, `param=value` or `param="quoted value"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelArgument {
    pub param: String,
    pub value: String,
    /// The value (or a value-less parameter) was written in double quotes.
    pub quoted: bool,
}

impl fmt::Display for KernelArgument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quote = |s: &str, force: bool| {
            if force || s.contains(' ') {
                format!("\"{s}\"")
            } else {
                s.to_owned()
            }
        };
        if self.value.is_empty() {
            f.write_str(&quote(&self.param, false))
        } else {
            write!(
                f,
                "{}={}",
                quote(&self.param, false),
                quote(&self.value, self.quoted)
            )
        }
    }
}

/// What values a [`KernelArgumentPattern`] accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValuePattern {
    /// `param=*`: any value.
    Any,
    /// `param=value` or `param="value"`: exactly this value (empty for a bare `param`).
    Constant(String),
}

/// An `allow` or `remove` entry: a parameter and the values it matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelArgumentPattern {
    pub param: String,
    pub value: ValuePattern,
}

impl KernelArgumentPattern {
    /// Whether `arg` is matched by this pattern.
    pub fn matches(&self, arg: &KernelArgument) -> bool {
        arg.param == self.param
            && match &self.value {
                ValuePattern::Any => true,
                ValuePattern::Constant(v) => *v == arg.value,
            }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Splits a command line into arguments, in order (arguments may repeat).
pub fn parse_cmdline(cmdline: &str) -> Vec<KernelArgument> {
    let bytes = cmdline.as_bytes();
    let mut args = Vec::new();
    let mut start = skip_spaces(bytes, 0);
    while start < bytes.len() {
        let (arg, len) = parse_argument(&bytes[start..]);
        args.push(arg);
        start = skip_spaces(bytes, start + len);
    }
    args
}

fn skip_spaces(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && is_space(bytes[at]) {
        at += 1;
    }
    at
}

fn text(bytes: &[u8], from: usize, to: usize) -> String {
    // Quotes, `=` and spaces are ASCII, so the cut points are character boundaries; a range
    // that would run backwards (e.g. `a="`) is empty.
    bytes
        .get(from..to.max(from))
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

/// Parses the argument at the start of `args` (which is not empty and does not start with a
/// space); returns it and how many bytes it used.
fn parse_argument(args: &[u8]) -> (KernelArgument, usize) {
    let arg_quoted = args.first() == Some(&b'"');
    let start_arg = usize::from(arg_quoted);
    let mut in_quote = arg_quoted;
    // Position of the first `=`; 0 doubles as "none", as in the kernel.
    let mut equals = 0;
    let mut i = start_arg;
    while i < args.len() {
        let b = args[i];
        if is_space(b) && !in_quote {
            break;
        }
        if b == b'=' && equals == 0 {
            equals = i;
        }
        if b == b'"' {
            in_quote = !in_quote;
        }
        i += 1;
    }
    let end = i;
    let mut quoted = false;
    let (mut trim_value, mut trim_param) = (0, 0);
    if arg_quoted && end > start_arg && args[end - 1] == b'"' {
        quoted = true;
        if equals != 0 {
            trim_value = 1;
        } else {
            trim_param = 1;
        }
    }
    let mut end_param = end;
    let mut value = String::new();
    if equals != 0 {
        end_param = equals;
        let mut start_value = equals + 1;
        if start_value < end && args[start_value] == b'"' {
            quoted = true;
            start_value += 1;
            if args[end - 1] == b'"' {
                trim_value = 1;
            }
        }
        value = text(args, start_value, end.saturating_sub(trim_value));
    }
    let param = text(args, start_arg, end_param.saturating_sub(trim_param));
    (
        KernelArgument {
            param,
            value,
            quoted,
        },
        end,
    )
}

/// Parses one `append` entry: it must hold exactly one argument.
pub fn parse_argument_entry(entry: &str) -> Result<KernelArgument, String> {
    let mut parsed = parse_cmdline(entry);
    if parsed.len() != 1 {
        return Err(format!("{entry:?} is not a unique kernel argument"));
    }
    Ok(parsed.remove(0))
}

/// Parses one `allow`/`remove` entry: exactly one argument; `*` alone as the value means any
/// value, and other glob characters must be quoted (they are reserved for future globbing).
pub fn parse_pattern_entry(entry: &str) -> Result<KernelArgumentPattern, String> {
    let arg = parse_argument_entry(entry)?;
    if !arg.quoted && arg.value != "*" && arg.value.contains(['*', '?', '[', ']', '\\', '{', '}']) {
        return Err(format!(
            "{:?} contains globbing characters and is not quoted",
            arg.value
        ));
    }
    let value = if !arg.quoted && arg.value == "*" {
        ValuePattern::Any
    } else {
        ValuePattern::Constant(arg.value)
    };
    Ok(KernelArgumentPattern {
        param: arg.param,
        value,
    })
}

/// Whether a gadget may add `param` to the kernel command line: `root`, `nfsroot`, `init` and
/// anything starting with `snapd` are snapd's to set, except `snapd.debug` and
/// `snapd_system_disk`.
pub fn is_argument_allowed(param: &str) -> bool {
    if matches!(param, "snapd_system_disk" | "snapd.debug") {
        return true;
    }
    !(param.starts_with("snapd") || matches!(param, "root" | "nfsroot" | "init"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arg(param: &str, value: &str, quoted: bool) -> KernelArgument {
        KernelArgument {
            param: param.into(),
            value: value.into(),
            quoted,
        }
    }

    #[test]
    fn splits_like_the_kernel() {
        assert_eq!(
            parse_cmdline(r#" foo bar=baz  x="a b" "quoted param" y= "#),
            vec![
                arg("foo", "", false),
                arg("bar", "baz", false),
                arg("x", "a b", true),
                arg("quoted param", "", true),
                arg("y", "", false),
            ]
        );
        assert_eq!(parse_cmdline(""), vec![]);
        assert_eq!(parse_cmdline("   \t"), vec![]);
        assert_eq!(parse_cmdline("a=b=c"), vec![arg("a", "b=c", false)]);
    }

    #[test]
    fn degenerate_quotes_do_not_panic() {
        for weird in [r#"""#, r#"a=""#, r#""="#, r#"""""#, r#"="x"#, "\"\u{e9}=\""] {
            let _ = parse_cmdline(weird);
        }
        assert_eq!(parse_cmdline(r#"a=""#), vec![arg("a", "", true)]);
    }

    #[test]
    fn display_quotes_when_needed() {
        assert_eq!(arg("x", "a b", true).to_string(), r#"x="a b""#);
        assert_eq!(arg("x", "ab", true).to_string(), r#"x="ab""#);
        assert_eq!(arg("x", "ab", false).to_string(), "x=ab");
        assert_eq!(arg("x", "", false).to_string(), "x");
    }

    #[test]
    fn entries_hold_exactly_one_argument() {
        assert!(parse_argument_entry("foo=bar").is_ok());
        assert_eq!(
            parse_argument_entry("foo bar").unwrap_err(),
            r#""foo bar" is not a unique kernel argument"#
        );
        assert!(parse_argument_entry("").is_err());
    }

    #[test]
    fn patterns() {
        assert_eq!(
            parse_pattern_entry("foo=*").unwrap().value,
            ValuePattern::Any
        );
        assert_eq!(
            parse_pattern_entry(r#"foo="*""#).unwrap().value,
            ValuePattern::Constant("*".into())
        );
        assert_eq!(
            parse_pattern_entry("foo=").unwrap().value,
            ValuePattern::Constant(String::new())
        );
        assert_eq!(
            parse_pattern_entry("foo=a*").unwrap_err(),
            r#""a*" contains globbing characters and is not quoted"#
        );
        assert!(parse_pattern_entry(r#"foo="a*""#).is_ok());
        let p = parse_pattern_entry("console=*").unwrap();
        assert!(p.matches(&arg("console", "ttyS0", false)));
        assert!(!p.matches(&arg("consoles", "ttyS0", false)));
    }

    #[test]
    fn snapd_owned_arguments() {
        for denied in ["root", "nfsroot", "init", "snapd_recovery_mode", "snapd.x"] {
            assert!(!is_argument_allowed(denied), "{denied}");
        }
        for allowed in [
            "snapd.debug",
            "snapd_system_disk",
            "console",
            "rootwait",
            "quiet",
        ] {
            assert!(is_argument_allowed(allowed), "{allowed}");
        }
    }
}

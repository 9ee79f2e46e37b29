//! `license:` must be an SPDX license expression over the identifiers snapd knows.
//!
//! The identifier lists are the SPDX License List 3.11 (the version snapd ships), one per line,
//! plus `Proprietary`, which the store uses and snapd accepts.

const LICENSES: &str = include_str!("spdx-licenses.txt");
const EXCEPTIONS: &str = include_str!("spdx-exceptions.txt");

/// Parentheses nested deeper than this are refused rather than recursed into.
const MAX_NESTING: usize = 64;

fn is_license(id: &str) -> bool {
    LICENSES.lines().any(|l| l == id)
}

fn is_exception(id: &str) -> bool {
    EXCEPTIONS.lines().any(|l| l == id)
}

fn is_operator(tok: &str) -> bool {
    matches!(tok, "AND" | "OR" | "WITH")
}

/// Tokens are separated by spaces and newlines only; parentheses stand alone.
fn tokens(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match c {
            ' ' | '\n' | '(' | ')' => {
                if let Some(st) = start.take() {
                    out.push(&s[st..i]);
                }
                if c == '(' || c == ')' {
                    out.push(&s[i..i + 1]);
                }
            }
            _ => {
                start.get_or_insert(i);
            }
        }
    }
    if let Some(st) = start {
        out.push(&s[st..]);
    }
    out
}

struct Parser<'a> {
    toks: Vec<&'a str>,
    pos: usize,
}

impl<'a> Parser<'a> {
    /// Validates one (possibly parenthesised) expression; on `)` returns with `pos` on it.
    fn expr(&mut self, depth: usize) -> Result<(), String> {
        let mut last = "";
        while let Some(&tok) = self.toks.get(self.pos) {
            self.pos += 1;
            match tok {
                "(" => {
                    if last == "WITH" {
                        return Err("\"(\" not allowed after WITH".into());
                    }
                    if depth >= MAX_NESTING {
                        return Err("expression nested too deeply".into());
                    }
                    self.expr(depth + 1)?;
                    if self.toks.get(self.pos) != Some(&")") {
                        let got = self.toks.get(self.pos).copied().unwrap_or("");
                        return Err(format!("expected \")\" got {got:?}"));
                    }
                    self.pos += 1;
                }
                ")" => {
                    if depth == 0 {
                        return Err("unexpected \")\"".into());
                    }
                    if last.is_empty() {
                        return Err("empty expression".into());
                    }
                    self.pos -= 1;
                    return Ok(());
                }
                op if is_operator(op) => {
                    if last.is_empty() {
                        return Err(format!("missing license before {op}"));
                    }
                    if last == "AND" || last == "OR" {
                        return Err(format!("expected license name, got {op:?}"));
                    }
                    if op == "WITH" && last == "(" {
                        return Err(format!("expected license name before {op}"));
                    }
                    if last == "WITH" {
                        return Err(format!("expected exception name, got {op:?}"));
                    }
                }
                id => match last {
                    "WITH" => {
                        if !is_exception(id) {
                            return Err(format!("unknown license exception: {id}"));
                        }
                    }
                    "" | "AND" | "OR" => {
                        if !is_license(id) {
                            return Err(format!("unknown license: {id}"));
                        }
                    }
                    prev => {
                        if is_license(prev) && is_license(id) {
                            return Err(format!("missing AND or OR between {prev:?} and {id:?}"));
                        }
                        return Err(format!("unexpected string: {id:?}"));
                    }
                },
            }
            last = tok;
        }
        if is_operator(last) {
            return Err(format!("missing license after {last}"));
        }
        if last.is_empty() {
            return Err("empty expression".into());
        }
        Ok(())
    }
}

/// Checks an SPDX license expression such as `GPL-3.0 OR (MIT AND Apache-2.0)`.
pub fn validate_license(license: &str) -> Result<(), String> {
    let mut p = Parser {
        toks: tokens(license),
        pos: 0,
    };
    p.expr(0)
        .map_err(|e| format!("cannot validate license {license:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted() {
        for ok in [
            "MIT",
            "GPL-3.0",
            "GPL-3.0+",
            "MIT OR Apache-2.0",
            "GPL-2.0 WITH Classpath-exception-2.0",
            "(MIT AND BSD-3-Clause) OR GPL-3.0-only",
            "((MIT))",
            "MIT\nOR GPL-3.0",
            // Not SPDX, but the store uses it and snapd accepts it.
            "Proprietary",
        ] {
            assert_eq!(validate_license(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refused() {
        let err = |s: &str| validate_license(s).unwrap_err();
        assert!(err("Foo-1.0").contains("unknown license: Foo-1.0"));
        assert!(err("").contains("empty expression"));
        assert!(err("MIT OR").contains("missing license after OR"));
        assert!(err("OR MIT").contains("missing license before OR"));
        assert!(err("MIT GPL-3.0").contains("missing AND or OR"));
        assert!(err("MIT AND OR GPL-3.0").contains("expected license name"));
        assert!(err("MIT WITH Foo").contains("unknown license exception"));
        assert!(err("(MIT").contains("expected \")\""));
        assert!(err("MIT)").contains("unexpected \")\""));
        assert!(err("()").contains("empty expression"));
        assert!(err("MIT\tOR GPL-3.0").contains("unknown license"));
        assert!(err(&"(".repeat(10_000)).contains("nested too deeply"));
    }
}

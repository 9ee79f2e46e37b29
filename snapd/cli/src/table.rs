//! Column output in the layout `snap` prints (Go's tabwriter: cells padded by two spaces,
//! at least five wide, the last column left as is).

const PADDING: usize = 2;
const MIN_WIDTH: usize = 5;

pub fn render(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count() + PADDING)
                .max()
                .unwrap_or(0)
                .max(MIN_WIDTH)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', widths[c] - cell.chars().count()));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_like_snap_list() {
        let rows = vec![
            vec![
                "Name".into(),
                "Version".into(),
                "Rev".into(),
                "Notes".into(),
            ],
            vec!["hello-world".into(), "6.4".into(), "x1".into(), "-".into()],
        ];
        assert_eq!(
            render(&rows),
            "Name         Version  Rev  Notes\nhello-world  6.4      x1   -\n"
        );
    }
}

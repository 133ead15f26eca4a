//! How `trustplane admin` prints its results (`--output json|table`) and reports progress on
//! loops over many items (a bar on stderr, drawn only when stderr is a terminal).

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

/// The format of a command's result on stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// One JSON document (scripts: `| jq`).
    #[default]
    Json,
    /// A table with a header row, columns aligned with spaces.
    Table,
}

/// A table column: its header and the field of each row's JSON object it shows.
pub type Column = (&'static str, &'static str);

impl Output {
    /// Prints `document` as JSON, or `rows` (JSON objects) as a table of `columns`.
    pub fn print(self, document: &Value, columns: &[Column], rows: &[Value]) {
        match self {
            Output::Json => println!("{document}"),
            Output::Table => print!("{}", table(columns, rows)),
        }
    }
}

/// `rows` as a table: a header line, then one line per row; a string cell as is, an array's
/// items joined with commas, a missing or null field as `-`.
pub fn table(columns: &[Column], rows: &[Value]) -> String {
    let mut lines = vec![columns.iter().map(|(header, _)| header.to_string()).collect::<Vec<_>>()];
    lines.extend(rows.iter().map(|row| columns.iter().map(|(_, field)| cell(&row[*field])).collect()));
    let widths: Vec<usize> = (0..columns.len()).map(|i| lines.iter().map(|line| line[i].chars().count()).max().unwrap_or(0)).collect();
    lines
        .iter()
        .map(|line| {
            let padded: Vec<String> = line.iter().zip(&widths).map(|(text, width)| format!("{text:<width$}")).collect();
            format!("{}\n", padded.join("  ").trim_end())
        })
        .collect()
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// A progress bar over `len` items labelled `what`, on stderr when it is a terminal (hidden
/// otherwise, so piped output stays clean).
pub fn progress(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}").map(|s| s.progress_chars("=> "));
    bar.set_style(style.unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar.set_prefix(what.to_owned());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_table_aligns_its_columns_under_the_header_and_shows_missing_fields_as_a_dash() {
        let rows = [json!({ "id": "k1", "scopes": ["admin", "ca:read"] }), json!({ "id": "longer-id", "scopes": null })];
        let text = table(&[("ID", "id"), ("SCOPES", "scopes"), ("NAME", "name")], &rows);
        assert_eq!(text, "ID         SCOPES         NAME\nk1         admin,ca:read  -\nlonger-id  -              -\n");
    }
}

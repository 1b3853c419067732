//! `sightline query`: runs SQL on the server and prints the rows.

use crate::client::{Profile, call};
use anyhow::Result;
use serde_json::Value;
use std::io::Write;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Writes rows in the chosen format.
pub fn render(
    out: &mut impl Write,
    format: Format,
    columns: &[String],
    rows: &[serde_json::Map<String, Value>],
) -> std::io::Result<()> {
    match format {
        Format::Json => {
            for r in rows {
                writeln!(out, "{}", Value::Object(r.clone()))?;
            }
        }
        Format::Csv => {
            writeln!(
                out,
                "{}",
                columns
                    .iter()
                    .map(|c| csv_field(c))
                    .collect::<Vec<_>>()
                    .join(",")
            )?;
            for r in rows {
                let line: Vec<String> = columns
                    .iter()
                    .map(|c| csv_field(&cell(r.get(c).unwrap_or(&Value::Null))))
                    .collect();
                writeln!(out, "{}", line.join(","))?;
            }
        }
        Format::Table => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    columns
                        .iter()
                        .map(|c| cell(r.get(c).unwrap_or(&Value::Null)))
                        .collect()
                })
                .collect();
            let widths: Vec<usize> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    cells
                        .iter()
                        .map(|r| r[i].chars().count())
                        .chain([c.chars().count()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |out: &mut dyn Write, vals: &[String]| -> std::io::Result<()> {
                let padded: Vec<String> = vals
                    .iter()
                    .zip(&widths)
                    .map(|(v, w)| format!("{v:<w$}"))
                    .collect();
                writeln!(out, "| {} |", padded.join(" | "))
            };
            let sep: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            writeln!(out, "+-{}-+", sep.join("-+-"))?;
            line(out, columns)?;
            writeln!(out, "+-{}-+", sep.join("-+-"))?;
            for r in &cells {
                line(out, r)?;
            }
            writeln!(out, "+-{}-+", sep.join("-+-"))?;
            writeln!(
                out,
                "{} row{}",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" }
            )?;
        }
    }
    Ok(())
}

pub async fn run(profile: Profile, format: Format, sql: &str) -> Result<()> {
    let body = call(
        &profile,
        "sightline",
        "Sightline_20261126",
        "ExecuteQuery",
        &serde_json::json!({ "Sql": sql }),
    )
    .await?;
    let columns: Vec<String> = body["Columns"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["Name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let rows: Vec<serde_json::Map<String, Value>> = body["Rows"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r.as_object().cloned()).collect())
        .unwrap_or_default();
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    render(&mut lock, format, &columns, &rows)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> (Vec<String>, Vec<serde_json::Map<String, Value>>) {
        let cols = vec!["name".to_owned(), "n".to_owned()];
        let r: Vec<serde_json::Map<String, Value>> = vec![
            serde_json::from_str(r#"{"name":"a,b","n":1}"#).unwrap(),
            serde_json::from_str(r#"{"name":null,"n":22}"#).unwrap(),
        ];
        (cols, r)
    }

    #[test]
    fn csv_quotes_and_nulls() {
        let (c, r) = rows();
        let mut out = Vec::new();
        render(&mut out, Format::Csv, &c, &r).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "name,n\n\"a,b\",1\n,22\n");
    }

    #[test]
    fn table_aligns_columns() {
        let (c, r) = rows();
        let mut out = Vec::new();
        render(&mut out, Format::Table, &c, &r).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("| name | n  |"), "{text}");
        assert!(text.contains("| a,b  | 1  |"), "{text}");
        assert!(text.ends_with("2 rows\n"), "{text}");
    }

    #[test]
    fn json_is_one_object_per_line() {
        let (c, r) = rows();
        let mut out = Vec::new();
        render(&mut out, Format::Json, &c, &r).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"name\":\"a,b\",\"n\":1}\n{\"name\":null,\"n\":22}\n"
        );
    }
}

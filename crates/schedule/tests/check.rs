//! Walks the cases in `tests/data/*.txt`, so that what is accepted, what is refused and
//! when each expression is due read as tables rather than as code.
//!
//! Each line is `kind | column | ...`; the kinds and their columns are described at the
//! top of each file. A column in double quotes is taken literally, with `\t` for a tab and
//! `\n` for a newline.

// The property tests share this test binary (one per crate).
mod properties;

use std::fs;
use std::path::Path;

use chrono::{DateTime, NaiveDateTime, Utc};
use sightline_schedule::{API_MESSAGE, Schedule, parse};

fn column(text: &str) -> String {
    let text = text.trim();
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(literal) => literal.replace("\\t", "\t").replace("\\n", "\n"),
        None => text.to_owned(),
    }
}

fn instant(text: &str) -> Result<DateTime<Utc>, String> {
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("bad instant {text:?}"))
}

/// Expected due times: instants, optionally ending in `none`.
fn expected(text: &str) -> Result<(Vec<DateTime<Utc>>, bool), String> {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    let exhausted = words.last() == Some(&"none");
    if exhausted {
        words.pop();
    }
    let times = words.into_iter().map(instant).collect::<Result<_, _>>()?;
    Ok((times, exhausted))
}

fn schedule(expression: &str) -> Result<Schedule, String> {
    parse(expression).map_err(|e| format!("does not parse: {e}"))
}

/// Follows `next_after` from `from` and compares with the expected sequence.
fn check_sequence(
    schedule: &Schedule,
    anchor: DateTime<Utc>,
    from: DateTime<Utc>,
    want: &str,
) -> Result<(), String> {
    let (times, exhausted) = expected(want)?;
    let mut at = from;
    for (i, want) in times.iter().enumerate() {
        match schedule.next_after(at, anchor) {
            Some(got) if got == *want => at = got,
            got => {
                return Err(format!(
                    "due time #{i} after {at}: got {got:?}, want {want}"
                ));
            }
        }
    }
    if exhausted && let Some(got) = schedule.next_after(at, anchor) {
        return Err(format!("after {at}: got {got}, want none"));
    }
    Ok(())
}

fn check_line(cols: &[String]) -> Result<(), String> {
    let arg = |i: usize| cols.get(i).map(String::as_str).ok_or("too few columns");
    match arg(0)? {
        "valid" => {
            let parsed = schedule(arg(1)?)?;
            if let Ok(display) = arg(2)
                && parsed.to_string() != display
            {
                return Err(format!("displays as {parsed}, want {display}"));
            }
            let reparsed = schedule(&parsed.to_string())?;
            if reparsed != parsed {
                return Err(format!("{parsed} reparses differently"));
            }
            Ok(())
        }
        "invalid" => match parse(arg(1)?) {
            Ok(parsed) => Err(format!("parsed as {parsed:?}")),
            Err(e) if e.api_message() != API_MESSAGE => Err("wrong API message".into()),
            Err(e) => match arg(2) {
                Ok(reason) if !e.to_string().contains(reason) => {
                    Err(format!("reason {:?} lacks {reason:?}", e.to_string()))
                }
                _ => Ok(()),
            },
        },
        "next" => {
            let from = instant(arg(2)?)?;
            check_sequence(&schedule(arg(1)?)?, from, from, arg(3)?)
        }
        "rate" => check_sequence(
            &schedule(arg(1)?)?,
            instant(arg(2)?)?,
            instant(arg(3)?)?,
            arg(4)?,
        ),
        "between" => {
            let parsed = schedule(arg(1)?)?;
            let (anchor, after, up_to) = (instant(arg(2)?)?, instant(arg(3)?)?, instant(arg(4)?)?);
            let (want, _) = expected(arg(5)?)?;
            let got: Vec<_> = parsed.due_between(after, up_to, anchor).collect();
            if got != want {
                return Err(format!("got {got:?}"));
            }
            Ok(())
        }
        other => Err(format!("unknown kind {other:?}")),
    }
}

#[test]
fn check() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut paths: Vec<_> = fs::read_dir(&dir)
        .expect("tests/data is readable")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    paths.sort();
    let (mut cases, mut failures) = (0, Vec::new());
    for path in &paths {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let text = fs::read_to_string(path).expect("case file is readable");
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            cases += 1;
            let cols: Vec<String> = line.split('|').map(column).collect();
            if let Err(e) = check_line(&cols) {
                failures.push(format!("{name}:{}: {line}\n    {e}", number + 1));
            }
        }
    }
    assert!(cases > 100, "only {cases} cases found in {}", dir.display());
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{cases} cases from {} files passed", paths.len());
}

//! The `parse` command's extraction: glob patterns and regular expressions.
//!
//! A glob is literal text with `*` wildcards. Each wildcard captures the shortest text
//! that lets the rest of the pattern match (the regex `(.*?)`), the pattern may match
//! anywhere in the value, and a trailing `*` captures the rest of the value (less a final
//! line break). Because every wildcard is lazy, finding each literal at its earliest
//! position after the previous one gives exactly the regex's leftmost match, so globs
//! run as a few `memmem` searches instead of a regex. An event the pattern does not match
//! gets no value for any of the fields.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StructArray};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::Result;
use memchr::memmem;

use super::strings::{SliceBuilder, Strings};
use crate::regex_util::CompiledRegex;

#[derive(Debug, Clone)]
pub(crate) struct Glob {
    /// The literal text around the wildcards: one more part than there are wildcards.
    parts: Vec<String>,
}

impl Glob {
    pub(crate) fn new(pattern: &str) -> Glob {
        Glob {
            parts: pattern.split('*').map(str::to_string).collect(),
        }
    }

    /// How many values a match yields: one per wildcard, or the matched text itself
    /// for a pattern without wildcards.
    pub(crate) fn outputs(&self) -> usize {
        (self.parts.len() - 1).max(1)
    }

    /// Byte ranges of the captures in `text`, or `None` when the pattern does not match.
    pub(crate) fn captures(&self, text: &str) -> Option<Vec<(usize, usize)>> {
        let first = self.parts.first()?;
        let begin = if first.is_empty() {
            0
        } else {
            memmem::find(text.as_bytes(), first.as_bytes())?
        };
        let mut pos = begin + first.len();
        if self.parts.len() == 1 {
            return Some(vec![(begin, pos)]);
        }
        let mut captures = Vec::with_capacity(self.parts.len() - 1);
        let last = self.parts.len() - 1;
        for (k, part) in self.parts.iter().enumerate().skip(1) {
            if k == last && part.is_empty() {
                let end = text
                    .strip_suffix("\r\n")
                    .or_else(|| text.strip_suffix('\n'))
                    .map_or(text.len(), str::len)
                    .max(pos);
                captures.push((pos, end));
                pos = text.len();
            } else {
                let found = memmem::find(text.as_bytes().get(pos..)?, part.as_bytes())?;
                captures.push((pos, pos + found));
                pos += found + part.len();
            }
        }
        Some(captures)
    }
}

fn struct_type(count: usize) -> Fields {
    (0..count)
        .map(|i| Field::new(i.to_string(), DataType::Utf8View, true))
        .collect()
}

pub(crate) fn output_type(count: usize) -> DataType {
    DataType::Struct(struct_type(count))
}

fn assemble(count: usize, columns: Vec<ArrayRef>) -> Result<ArrayRef> {
    Ok(Arc::new(StructArray::try_new(
        struct_type(count),
        columns,
        None,
    )?))
}

pub(crate) fn run_glob(glob: &Glob, source: &ArrayRef) -> Result<ArrayRef> {
    let strings = Strings::new(source)?;
    let count = glob.outputs();
    let mut builders: Vec<SliceBuilder> = (0..count).map(|_| SliceBuilder::new(&strings)).collect();
    for row in 0..strings.len() {
        let captures = strings.get(row).and_then(|text| glob.captures(text));
        match captures {
            Some(ranges) => {
                for (builder, (start, end)) in builders.iter_mut().zip(ranges) {
                    builder.append_slice(row, start, end)?;
                }
            }
            None => builders.iter_mut().for_each(SliceBuilder::append_null),
        }
    }
    assemble(
        count,
        builders.into_iter().map(SliceBuilder::finish).collect(),
    )
}

/// Runs a regex; `groups` lists, for each output, the capture group it comes from.
pub(crate) fn run_regex(
    regex: &CompiledRegex,
    groups: &[usize],
    source: &ArrayRef,
) -> Result<ArrayRef> {
    let strings = Strings::new(source)?;
    let mut builders: Vec<SliceBuilder> =
        groups.iter().map(|_| SliceBuilder::new(&strings)).collect();
    let mut locations = regex.regex.capture_locations();
    for row in 0..strings.len() {
        let matched = strings
            .get(row)
            .and_then(|text| regex.regex.captures_read(&mut locations, text));
        for (builder, &group) in builders.iter_mut().zip(groups) {
            match matched.and_then(|_| locations.get(group)) {
                Some((start, end)) => builder.append_slice(row, start, end)?,
                None => builder.append_null(),
            }
        }
    }
    assemble(
        groups.len(),
        builders.into_iter().map(SliceBuilder::finish).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(pattern: &str, text: &str) -> Option<Vec<String>> {
        Glob::new(pattern).captures(text).map(|ranges| {
            ranges
                .into_iter()
                .map(|(s, e)| text[s..e].to_string())
                .collect()
        })
    }

    #[test]
    fn wildcards_are_lazy_and_a_trailing_one_takes_the_rest() {
        assert_eq!(
            caps("[*] *", "x [ERROR] disk [full]\n"),
            Some(vec!["ERROR".into(), "disk [full]".into()])
        );
        assert_eq!(
            caps(
                "user=*, method:*, latency := *",
                "user=bob, method:GET, latency := 5ms"
            ),
            Some(vec!["bob".into(), "GET".into(), "5ms".into()])
        );
        assert_eq!(caps("a=* b=*;", "a=1 b=2"), None);
        assert_eq!(caps("ERROR", "an ERROR here"), Some(vec!["ERROR".into()]));
    }
}

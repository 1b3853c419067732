//! Uniform access to Arrow's three string layouts, and an output builder that hands out
//! slices of its input as zero-copy views.
//!
//! Extracting a JSON value or a `parse` capture yields a substring of the message. When
//! the message column is a `Utf8View` array, the substring can point into the message's
//! own data buffer, so extraction copies nothing but the 16-byte view.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, LargeStringArray, StringArray, StringViewArray, StringViewBuilder,
};
use datafusion::arrow::buffer::ScalarBuffer;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};

/// A string column of any layout.
pub(crate) enum Strings<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

impl<'a> Strings<'a> {
    pub(crate) fn new(array: &'a ArrayRef) -> Result<Strings<'a>> {
        Ok(match array.data_type() {
            DataType::Utf8 => Strings::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => Strings::Large(array.as_string::<i64>()),
            DataType::Utf8View => Strings::View(array.as_string_view()),
            other => return exec_err!("expected a string column, found {other}"),
        })
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Strings::Utf8(a) => a.len(),
            Strings::Large(a) => a.len(),
            Strings::View(a) => a.len(),
        }
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Strings::Utf8(a) => (!a.is_null(i)).then(|| a.value(i)),
            Strings::Large(a) => (!a.is_null(i)).then(|| a.value(i)),
            Strings::View(a) => (!a.is_null(i)).then(|| a.value(i)),
        }
    }
}

/// Builds a `Utf8View` column whose values are mostly slices of a source column.
pub(crate) struct SliceBuilder<'a> {
    source: &'a Strings<'a>,
    views: Option<&'a ScalarBuffer<u128>>,
    blocks: Vec<u32>,
    builder: StringViewBuilder,
}

impl<'a> SliceBuilder<'a> {
    pub(crate) fn new(source: &'a Strings<'a>) -> SliceBuilder<'a> {
        let mut builder = StringViewBuilder::with_capacity(source.len());
        let mut blocks = Vec::new();
        let mut views = None;
        if let Strings::View(array) = source {
            for buffer in array.data_buffers() {
                blocks.push(builder.append_block(buffer.clone()));
            }
            views = Some(array.views());
        }
        SliceBuilder {
            source,
            views,
            blocks,
            builder,
        }
    }

    /// Appends `value`, which must be `self.source.get(row)[start..end]`.
    #[inline]
    pub(crate) fn append_slice(&mut self, row: usize, start: usize, end: usize) -> Result<()> {
        let len = end.saturating_sub(start);
        if let Some(views) = self.views {
            let raw = views.get(row).copied().unwrap_or_default();
            let whole = raw as u32;
            if whole > 12 && len > 12 {
                let buffer_index = (raw >> 64) as u32;
                let offset = (raw >> 96) as u32;
                if let Some(&block) = self.blocks.get(buffer_index as usize) {
                    self.builder
                        .try_append_view(block, offset + start as u32, len as u32)?;
                    return Ok(());
                }
            }
        }
        match self.source.get(row).and_then(|s| s.get(start..end)) {
            Some(value) => self.builder.append_value(value),
            None => self.builder.append_null(),
        }
        Ok(())
    }

    pub(crate) fn append_value(&mut self, value: &str) {
        self.builder.append_value(value);
    }

    pub(crate) fn append_null(&mut self) {
        self.builder.append_null();
    }

    pub(crate) fn finish(mut self) -> ArrayRef {
        Arc::new(self.builder.finish())
    }
}

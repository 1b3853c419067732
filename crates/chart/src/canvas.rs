//! An RGB raster with the few primitives a chart needs: rectangles, clipped lines, alpha
//! tints and bitmap text, plus PNG encoding.
//!
//! Coordinates are `i64` and anything outside the image is clipped, so callers can pass
//! positions computed from arbitrary data without checking them first.

use crate::font::{self, ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH};
use crate::{Error, Result};

/// An sRGB colour.
pub type Rgb = [u8; 3];

pub const TEXT: Rgb = [0x33, 0x33, 0x33];
pub const MUTED: Rgb = [0x68, 0x6e, 0x76];
pub const GRID: Rgb = [0xe4, 0xe6, 0xe9];
pub const AXIS: Rgb = [0xb8, 0xbc, 0xc2];

/// Parses `#rrggbb`.
pub fn parse_color(text: &str) -> Option<Rgb> {
    let hex = text.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

pub struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
    /// Drawing is confined to `clip` (x0, y0, x1, y1; end-exclusive), so series lines
    /// cannot spill over the axes.
    clip: (i64, i64, i64, i64),
}

impl Canvas {
    pub fn new(width: usize, height: usize) -> Canvas {
        let clip = (0, 0, width as i64, height as i64);
        Canvas {
            width,
            height,
            pixels: vec![255; width * height * 3],
            clip,
        }
    }

    /// Confines drawing to the rectangle, intersected with the image.
    pub fn set_clip(&mut self, x: i64, y: i64, w: i64, h: i64) {
        let (x0, y0) = (x.clamp(0, self.width()), y.clamp(0, self.height()));
        let x1 = x.saturating_add(w.max(0)).clamp(x0, self.width());
        let y1 = y.saturating_add(h.max(0)).clamp(y0, self.height());
        self.clip = (x0, y0, x1, y1);
    }

    pub fn reset_clip(&mut self) {
        self.clip = (0, 0, self.width(), self.height());
    }

    pub fn width(&self) -> i64 {
        self.width as i64
    }

    pub fn height(&self) -> i64 {
        self.height as i64
    }

    fn index(&self, x: i64, y: i64) -> Option<usize> {
        let (x0, y0, x1, y1) = self.clip;
        if x < x0 || y < y0 || x >= x1 || y >= y1 {
            return None;
        }
        Some((y as usize * self.width + x as usize) * 3)
    }

    pub fn put(&mut self, x: i64, y: i64, c: Rgb) {
        if let Some(i) = self.index(x, y) {
            self.pixels[i..i + 3].copy_from_slice(&c);
        }
    }

    /// Mixes `c` over the pixel with opacity `alpha`/255.
    pub fn tint(&mut self, x: i64, y: i64, c: Rgb, alpha: u8) {
        if let Some(i) = self.index(x, y) {
            let a = u32::from(alpha);
            for (dst, src) in self.pixels[i..i + 3].iter_mut().zip(c) {
                let old = u32::from(*dst);
                *dst = ((u32::from(src) * a + old * (255 - a) + 127) / 255) as u8;
            }
        }
    }

    /// Clamps a rectangle to the image, returning its inclusive-exclusive bounds.
    fn clip_rect(&self, x: i64, y: i64, w: i64, h: i64) -> (i64, i64, i64, i64) {
        let x0 = x.clamp(0, self.width());
        let y0 = y.clamp(0, self.height());
        let x1 = x.saturating_add(w.max(0)).clamp(0, self.width());
        let y1 = y.saturating_add(h.max(0)).clamp(0, self.height());
        (x0, y0, x1, y1)
    }

    pub fn fill_rect(&mut self, x: i64, y: i64, w: i64, h: i64, c: Rgb) {
        let (x0, y0, x1, y1) = self.clip_rect(x, y, w, h);
        for yy in y0..y1 {
            for xx in x0..x1 {
                self.put(xx, yy, c);
            }
        }
    }

    pub fn tint_rect(&mut self, x: i64, y: i64, w: i64, h: i64, c: Rgb, alpha: u8) {
        let (x0, y0, x1, y1) = self.clip_rect(x, y, w, h);
        for yy in y0..y1 {
            for xx in x0..x1 {
                self.tint(xx, yy, c, alpha);
            }
        }
    }

    /// A vertical span from `y0` to `y1` inclusive, either order, tinted.
    pub fn tint_span(&mut self, x: i64, y0: i64, y1: i64, c: Rgb, alpha: u8) {
        let (a, b) = (y0.min(y1), y0.max(y1));
        self.tint_rect(x, a, 1, b.saturating_sub(a).saturating_add(1), c, alpha);
    }

    pub fn hline(&mut self, x0: i64, x1: i64, y: i64, c: Rgb) {
        let (a, b) = (x0.min(x1), x0.max(x1));
        self.fill_rect(a, y, b.saturating_sub(a).saturating_add(1), 1, c);
    }

    pub fn vline(&mut self, x: i64, y0: i64, y1: i64, c: Rgb) {
        let (a, b) = (y0.min(y1), y0.max(y1));
        self.fill_rect(x, a, 1, b.saturating_sub(a).saturating_add(1), c);
    }

    /// A line between two points given in floating pixels, clipped to the image first
    /// (Liang–Barsky) so that far-off points cost nothing, then drawn with Bresenham.
    /// `thick` doubles it across its minor axis for a 2-pixel stroke.
    pub fn line(&mut self, from: (f64, f64), to: (f64, f64), c: Rgb, thick: bool) {
        let Some(((x0, y0), (x1, y1))) = self.clip_line(from, to) else {
            return;
        };
        let (mut x, mut y) = (x0.round() as i64, y0.round() as i64);
        let (xe, ye) = (x1.round() as i64, y1.round() as i64);
        let dx = (xe - x).abs();
        let dy = -(ye - y).abs();
        let sx = if x < xe { 1 } else { -1 };
        let sy = if y < ye { 1 } else { -1 };
        let steep = dx < -dy;
        let mut err = dx + dy;
        loop {
            self.put(x, y, c);
            if thick {
                if steep {
                    self.put(x + 1, y, c)
                } else {
                    self.put(x, y + 1, c)
                }
            }
            if x == xe && y == ye {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    fn clip_line(&self, a: (f64, f64), b: (f64, f64)) -> Option<((f64, f64), (f64, f64))> {
        if ![a.0, a.1, b.0, b.1].iter().all(|v| v.is_finite()) {
            return None;
        }
        let (x0, y0, x1, y1) = self.clip;
        let (xmin, ymin) = (x0 as f64 - 1.0, y0 as f64 - 1.0);
        let (xmax, ymax) = (x1 as f64, y1 as f64);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        for (p, q) in [
            (-dx, a.0 - xmin),
            (dx, xmax - a.0),
            (-dy, a.1 - ymin),
            (dy, ymax - a.1),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    return None;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
                if t0 > t1 {
                    return None;
                }
            }
        }
        Some((
            (a.0 + t0 * dx, a.1 + t0 * dy),
            (a.0 + t1 * dx, a.1 + t1 * dy),
        ))
    }

    /// Draws `text` with its top-left corner at (`x`, `y`), each font pixel a
    /// `scale`×`scale` block. `bold` strikes twice, one pixel apart.
    pub fn text(&mut self, x: i64, y: i64, text: &str, c: Rgb, scale: i64, bold: bool) {
        let scale = scale.max(1);
        let mut pen = x;
        for ch in text.chars() {
            if pen >= self.width() {
                break;
            }
            if pen + (GLYPH_WIDTH as i64 + 1) * scale >= 0 {
                for gy in 0..GLYPH_HEIGHT {
                    for gx in 0..GLYPH_WIDTH {
                        if font::ink(ch, gx, gy) {
                            let (px, py) = (pen + gx as i64 * scale, y + gy as i64 * scale);
                            self.fill_rect(px, py, scale, scale, c);
                            if bold {
                                self.fill_rect(px + 1, py, scale, scale, c);
                            }
                        }
                    }
                }
            }
            pen += ADVANCE as i64 * scale + i64::from(bold);
        }
    }

    /// Draws `text` turned a quarter anticlockwise, reading bottom to top, with the
    /// bottom-left of its first character at (`x`, `y`).
    pub fn text_vertical(&mut self, x: i64, y: i64, text: &str, c: Rgb) {
        let mut pen = y;
        for ch in text.chars() {
            if pen < 0 {
                break;
            }
            for gy in 0..GLYPH_HEIGHT {
                for gx in 0..GLYPH_WIDTH {
                    if font::ink(ch, gx, gy) {
                        self.put(x + gy as i64, pen - gx as i64, c);
                    }
                }
            }
            pen -= ADVANCE as i64;
        }
    }

    pub fn encode_png(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let (w, h) = (self.width as u32, self.height as u32);
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .map_err(|e| Error::Encode(e.to_string()))?;
        writer
            .write_image_data(&self.pixels)
            .map_err(|e| Error::Encode(e.to_string()))?;
        writer.finish().map_err(|e| Error::Encode(e.to_string()))?;
        Ok(out)
    }
}

/// `text` cut to at most `max_px` pixels wide at scale 1, ending in `..` when cut.
pub fn fit_text(text: &str, max_px: i64) -> String {
    if font::text_width(text) as i64 <= max_px {
        return text.to_owned();
    }
    let keep = ((max_px + 1) / ADVANCE as i64 - 2).max(0) as usize;
    if keep == 0 {
        return String::new();
    }
    let mut cut: String = text.chars().take(keep).collect();
    cut.push_str("..");
    cut
}

/// Width of `text` in pixels at `scale` (bold adds a pixel per character).
pub fn text_px(text: &str, scale: i64, bold: bool) -> i64 {
    let n = text.chars().count() as i64;
    if n == 0 {
        0
    } else {
        n * (ADVANCE as i64 * scale + i64::from(bold)) - scale
    }
}

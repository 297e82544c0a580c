//! The drawing primitives of a frame: filled discs batched into one
//! geometry call, rectangles, and text in SDL's 8×8 debug font.

use std::f32::consts::TAU;

use sdl3::pixels::{Color, FColor};
use sdl3::render::{BlendMode, Canvas, FPoint, FRect, RenderTarget, Vertex, VertexIndices};

use crate::VizError;
use crate::palette::Rgba;

/// An SDL colour of a palette colour.
pub(crate) fn colour(c: Rgba) -> Color {
    Color::RGBA(c.0, c.1, c.2, c.3)
}

fn fcolour(c: Rgba) -> FColor {
    FColor::RGBA(
        c.0 as f32 / 255.0,
        c.1 as f32 / 255.0,
        c.2 as f32 / 255.0,
        c.3 as f32 / 255.0,
    )
}

/// A canvas and the triangles waiting to be drawn on it in one call.
pub(crate) struct Painter<'c, T: RenderTarget> {
    pub(crate) canvas: &'c mut Canvas<T>,
    shapes: Vec<Vertex>,
}

impl<'c, T: RenderTarget> Painter<'c, T> {
    /// A painter on `canvas`, with no shapes waiting.
    pub(crate) fn new(canvas: &'c mut Canvas<T>) -> Painter<'c, T> {
        Painter {
            canvas,
            shapes: Vec::new(),
        }
    }

    pub(crate) fn disc(&mut self, (x, y): (f32, f32), r: f32, c: Rgba) {
        let segments = ((r * 2.5) as usize).clamp(8, 48);
        let color = fcolour(c);
        let vertex = |px: f32, py: f32| Vertex {
            position: FPoint::new(px, py),
            color,
            tex_coord: FPoint::new(0.0, 0.0),
        };
        for i in 0..segments {
            let a0 = TAU * i as f32 / segments as f32;
            let a1 = TAU * (i + 1) as f32 / segments as f32;
            self.shapes.push(vertex(x, y));
            self.shapes.push(vertex(x + r * a0.cos(), y + r * a0.sin()));
            self.shapes.push(vertex(x + r * a1.cos(), y + r * a1.sin()));
        }
    }

    pub(crate) fn flush_shapes(&mut self) -> Result<(), VizError> {
        if !self.shapes.is_empty() {
            self.canvas
                .render_geometry(&self.shapes, None, VertexIndices::Sequential)?;
            self.shapes.clear();
        }
        Ok(())
    }

    pub(crate) fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, c: Rgba) -> Result<(), VizError> {
        // Opaque fills skip blending: in software that is most of a frame's cost.
        self.canvas.set_blend_mode(if c.3 == 255 {
            BlendMode::None
        } else {
            BlendMode::Blend
        });
        self.canvas.set_draw_color(colour(c));
        self.canvas.fill_rect(FRect::new(x, y, w, h))?;
        Ok(())
    }

    pub(crate) fn text(&mut self, x: f32, y: f32, s: &str, c: Rgba) -> Result<(), VizError> {
        self.canvas.set_draw_color(colour(c));
        self.canvas
            .draw_debug_text(s, FPoint::new(x.round(), y.round()))?;
        Ok(())
    }

    pub(crate) fn big_text(&mut self, x: f32, y: f32, s: &str, c: Rgba) -> Result<(), VizError> {
        self.canvas.set_scale(2.0, 2.0)?;
        let drawn = self.text(x / 2.0, y / 2.0, s, c);
        self.canvas.set_scale(1.0, 1.0)?;
        drawn
    }
}

/// Width in pixels of `s` in the 8×8 debug font.
pub(crate) fn text_width(s: &str) -> f32 {
    8.0 * s.chars().count() as f32
}

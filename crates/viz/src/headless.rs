//! Rendering without a display: SDL's software renderer drawing into a
//! surface in memory, read back as RGBA and written as PNG. The output is
//! the same on every machine, so tests compare it with reference images.

use std::io::BufWriter;
use std::path::Path;

use sdl3::pixels::PixelFormat;
use sdl3::render::Canvas;
use sdl3::surface::Surface;

use crate::{FrameInfo, Replay, Scene, VizError, draw_frame};

/// An RGBA image, 8 bits per channel, rows top to bottom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 4` bytes.
    pub rgba: Vec<u8>,
}

impl Image {
    /// The pixel at (x, y) as `[r, g, b, a]`.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        [
            self.rgba[i],
            self.rgba[i + 1],
            self.rgba[i + 2],
            self.rgba[i + 3],
        ]
    }

    /// Writes the image as a PNG file.
    pub fn write_png(&self, path: &Path) -> Result<(), VizError> {
        let failed = |why: String| VizError::Png {
            path: path.to_path_buf(),
            why,
        };
        let file = std::fs::File::create(path).map_err(|e| failed(e.to_string()))?;
        let mut encoder = png::Encoder::new(BufWriter::new(file), self.width, self.height);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().map_err(|e| failed(e.to_string()))?;
        writer
            .write_image_data(&self.rgba)
            .map_err(|e| failed(e.to_string()))?;
        writer.finish().map_err(|e| failed(e.to_string()))
    }

    /// Reads a PNG file written by [`Image::write_png`] (8-bit RGBA).
    pub fn read_png(path: &Path) -> Result<Image, VizError> {
        let failed = |why: String| VizError::Png {
            path: path.to_path_buf(),
            why,
        };
        let file = std::fs::File::open(path).map_err(|e| failed(e.to_string()))?;
        let mut reader = png::Decoder::new(std::io::BufReader::new(file))
            .read_info()
            .map_err(|e| failed(e.to_string()))?;
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| failed("image too large".into()))?;
        let mut rgba = vec![0; size];
        let info = reader
            .next_frame(&mut rgba)
            .map_err(|e| failed(e.to_string()))?;
        if info.color_type != png::ColorType::Rgba || info.bit_depth != png::BitDepth::Eight {
            return Err(failed(format!(
                "expected 8-bit RGBA, found {:?} {:?}",
                info.color_type, info.bit_depth
            )));
        }
        rgba.truncate(info.buffer_size());
        Ok(Image {
            width: info.width,
            height: info.height,
            rgba,
        })
    }
}

/// A software canvas of a fixed size that renders frames into memory.
pub struct Headless {
    canvas: Canvas<Surface<'static>>,
}

impl Headless {
    /// A `width`×`height` canvas. Needs no display and no SDL video subsystem.
    pub fn new(width: u32, height: u32) -> Result<Headless, VizError> {
        // ARGB8888 is the software renderer's native format: its glyph blits
        // need no channel swizzling. Pixels are converted to RGBA on read.
        let surface = Surface::new(width.max(1), height.max(1), PixelFormat::ARGB8888)?;
        let canvas = surface.into_canvas()?;
        Ok(Headless { canvas })
    }

    /// Draws `scene` and returns the pixels.
    pub fn render(
        &mut self,
        replay: &Replay,
        scene: &Scene,
        info: &FrameInfo,
    ) -> Result<Image, VizError> {
        draw_frame(&mut self.canvas, replay, scene, info)?;
        self.read()
    }

    fn read(&mut self) -> Result<Image, VizError> {
        let shot = self.canvas.read_pixels(None)?;
        let shot = if shot.pixel_format() == PixelFormat::RGBA32 {
            shot
        } else {
            shot.convert_format(PixelFormat::RGBA32)?
        };
        let (width, height, pitch) = (shot.width(), shot.height(), shot.pitch() as usize);
        let row = width as usize * 4;
        let mut rgba = Vec::with_capacity(row * height as usize);
        shot.with_lock(|pixels| {
            for y in 0..height as usize {
                rgba.extend_from_slice(&pixels[y * pitch..y * pitch + row]);
            }
        });
        Ok(Image {
            width,
            height,
            rgba,
        })
    }
}

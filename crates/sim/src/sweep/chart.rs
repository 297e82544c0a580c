//! One chart, drawn with plotters the same way as SVG and as PNG: lines
//! with markers, one colour per series, optionally on log axes. Text uses
//! DejaVu Sans embedded in the binary (no system fonts needed).

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use crate::SimError;

/// Pixels of every chart.
const SIZE: (u32, u32) = (760, 480);

/// What a chart shows.
#[non_exhaustive]
pub struct Chart {
    /// The title line.
    pub title: String,
    /// The x axis's caption.
    pub x_label: String,
    /// The y axis's caption.
    pub y_label: String,
    /// Draw x on a log10 scale (positive values only).
    pub x_log: bool,
    /// Draw y on a log10 scale (positive values only).
    pub y_log: bool,
    /// Points joined by lines (false: markers only).
    pub lines: bool,
    /// Named series of (x, y) points, drawn in order.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

fn register_font() {
    static FONT: Once = Once::new();
    FONT.call_once(|| {
        // DejaVu Sans is valid TrueType: registering it cannot fail.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

impl Chart {
    /// Writes the chart as `stem.svg` and `stem.png` in `dir`.
    pub fn write(&self, dir: &Path, stem: &str) -> Result<(), SimError> {
        register_font();
        let svg_path = dir.join(format!("{stem}.svg"));
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            self.draw(&root).map_err(|e| plot_error(&svg_path, e))?;
            root.present()
                .map_err(|e| plot_error(&svg_path, e.to_string()))?;
        }
        write(&svg_path, svg.as_bytes())?;
        let png_path = dir.join(format!("{stem}.png"));
        let mut rgb = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
            self.draw(&root).map_err(|e| plot_error(&png_path, e))?;
            root.present()
                .map_err(|e| plot_error(&png_path, e.to_string()))?;
        }
        let mut png = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut png, SIZE.0, SIZE.1);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder
                .write_header()
                .map_err(|e| plot_error(&png_path, e.to_string()))?;
            writer
                .write_image_data(&rgb)
                .map_err(|e| plot_error(&png_path, e.to_string()))?;
        }
        write(&png_path, &png)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let keep = |(x, y): (f64, f64)| (!self.x_log || x > 0.0) && (!self.y_log || y > 0.0);
        let points: Vec<Vec<(f64, f64)>> = self
            .series
            .iter()
            .map(|(_, pts)| pts.iter().copied().filter(|&p| keep(p)).collect())
            .collect();
        let (x0, x1, y0, y1) = points.iter().flatten().fold(
            (f64::MAX, f64::MIN, f64::MAX, f64::MIN),
            |(a, b, c, d), &(x, y)| (a.min(x), b.max(x), c.min(y), d.max(y)),
        );
        let (x0, x1, y0, y1) = if x0 > x1 {
            (1.0, 10.0, 1.0, 10.0)
        } else {
            (x0, x1, y0, y1)
        };
        let x = span(x0, x1, self.x_log, false);
        let y = span(y0, y1, self.y_log, true);
        match (self.x_log, self.y_log) {
            (false, false) => self.plot(root, x.0..x.1, y.0..y.1, &points),
            (true, false) => self.plot(root, (x.0..x.1).log_scale(), y.0..y.1, &points),
            (false, true) => self.plot(root, x.0..x.1, (y.0..y.1).log_scale(), &points),
            (true, true) => self.plot(
                root,
                (x.0..x.1).log_scale(),
                (y.0..y.1).log_scale(),
                &points,
            ),
        }
    }

    fn plot<DB, X, Y>(
        &self,
        root: &DrawingArea<DB, Shift>,
        x: X,
        y: Y,
        points: &[Vec<(f64, f64)>],
    ) -> Result<(), String>
    where
        DB: DrawingBackend,
        X: AsRangedCoord<Value = f64>,
        Y: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x, y)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 15))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, ((name, _), pts)) in self.series.iter().zip(points).enumerate() {
            let color = Palette99::pick(i).mix(0.9);
            if self.lines {
                chart
                    .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
                    .map_err(|e| e.to_string())?;
            }
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(|e| e.to_string())?
                .label(name)
                .legend(move |(x, y)| Circle::new((x + 6, y), 4, color.filled()));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font(("sans-serif", 13))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|e| e.to_string())
    }
}

/// The axis range around `[a, b]`: a margin of 5 % (on log axes, from the
/// power of ten below and 30 % above), and from zero for linear y axes.
fn span(a: f64, b: f64, log: bool, from_zero: bool) -> (f64, f64) {
    if log {
        let (a, b) = if b > a { (a, b) } else { (a / 2.0, b * 2.0) };
        // From the power of ten below: plotters labels a log axis from
        // its first power of ten on.
        (10f64.powf(a.log10().floor()), b * 1.3)
    } else {
        let a = if from_zero { a.min(0.0) } else { a };
        let w = if b > a { (b - a) * 0.05 } else { 0.5 };
        (a - w, b + w)
    }
}

fn tick(v: &f64) -> String {
    let v = *v;
    if v.abs() >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v.abs() >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn plot_error(path: &Path, message: String) -> SimError {
    SimError::Invalid(format!("cannot draw {}: {message}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), SimError> {
    std::fs::write(path, bytes).map_err(|source| SimError::Write {
        path: path.to_owned(),
        source,
    })
}

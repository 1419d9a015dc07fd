//! Learning curves as SVG and PNG (plotters). Text is drawn with the DejaVu Sans font embedded
//! from the `dejavu` crate, so no system fontconfig is needed.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::error::{Result, SimError};
use crate::summary::{Curve, Summary};

static FONT: Once = Once::new();

fn ensure_font() {
    FONT.call_once(|| {
        // Registration fails only for an invalid font file; the embedded one is valid.
        let _ = register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

fn plot_err(path: &Path, e: impl std::fmt::Display) -> SimError {
    SimError::Output {
        path: path.to_path_buf(),
        reason: format!("plot: {e}"),
    }
}

const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    curves: &[&Curve],
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let max_b = curves
        .iter()
        .flat_map(|c| c.budgets.iter().copied())
        .max()
        .unwrap_or(1) as f64;
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for c in curves {
        for (m, s) in c.balanced_accuracy.iter().zip(&c.balanced_accuracy_se) {
            lo = lo.min(m - s);
            hi = hi.max(m + s);
        }
    }
    if !lo.is_finite() {
        lo = 0.0;
        hi = 1.0;
    }
    let pad = ((hi - lo) * 0.05).max(0.01);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..max_b * 1.02, (lo - pad).max(0.0)..(hi + pad).min(1.0))
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("human labels")
        .y_desc("balanced accuracy")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.2}"))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| e.to_string())?;
    for (k, c) in curves.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let band: Vec<(f64, f64)> = c
            .budgets
            .iter()
            .zip(c.balanced_accuracy.iter().zip(&c.balanced_accuracy_se))
            .map(|(&b, (m, s))| (b as f64, m + s))
            .chain(
                c.budgets
                    .iter()
                    .zip(c.balanced_accuracy.iter().zip(&c.balanced_accuracy_se))
                    .rev()
                    .map(|(&b, (m, s))| (b as f64, m - s)),
            )
            .collect();
        chart
            .draw_series(std::iter::once(Polygon::new(band, color.mix(0.15))))
            .map_err(|e| e.to_string())?;
        let style = if c.is_baseline {
            color.stroke_width(2)
        } else {
            color.stroke_width(4)
        };
        chart
            .draw_series(LineSeries::new(
                c.budgets
                    .iter()
                    .map(|&b| b as f64)
                    .zip(c.balanced_accuracy.iter().copied()),
                style,
            ))
            .map_err(|e| e.to_string())?
            .label(format!("{} ({})", c.strategy, c.learner.as_str()))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// Draws one plot per setting and comparison into `dir` as `curves-<setting>-<comparison>.svg`
/// and `.png`; returns the files written.
pub fn plot_curves(summary: &Summary, dir: &Path) -> Result<Vec<PathBuf>> {
    ensure_font();
    std::fs::create_dir_all(dir).map_err(|e| plot_err(dir, e))?;
    let mut written = Vec::new();
    for cmp in &summary.comparisons {
        let curves: Vec<&Curve> = cmp
            .rows
            .iter()
            .filter_map(|r| {
                summary.curves.iter().find(|c| {
                    c.setting == cmp.setting && c.strategy == r.strategy && c.learner == r.learner
                })
            })
            .collect();
        let title = format!(
            "{}: baselines with the {} learner",
            cmp.setting,
            cmp.comparison.as_str()
        );
        let stem = format!("curves-{}-{}", cmp.setting, cmp.comparison.as_str());
        let svg = dir.join(format!("{stem}.svg"));
        draw(
            SVGBackend::new(&svg, (960, 640)).into_drawing_area(),
            &title,
            &curves,
        )
        .map_err(|e| plot_err(&svg, e))?;
        let png = dir.join(format!("{stem}.png"));
        draw(
            BitMapBackend::new(&png, (960, 640)).into_drawing_area(),
            &title,
            &curves,
        )
        .map_err(|e| plot_err(&png, e))?;
        written.push(svg);
        written.push(png);
    }
    Ok(written)
}

//! Grouped bars on a log scale, so that a 50x gap and a 2x gap are both readable: events/s
//! per pipeline with a bar per engine and shape (weir beside its peers), and the phases of
//! each failure's and rescale's recovery.

use plotters::prelude::*;

use crate::plot::{
    above_legend, axis_number, color, draw_legend, Area, DrawResult, FigureArea, FONT,
};

/// Grouped bars: a group per category, a bar per series in it.
pub(crate) struct BarChart {
    pub caption: String,
    pub x_desc: String,
    pub y_desc: String,
    /// Values below it get no bar: on a log scale a 1 µs phase would otherwise stretch the
    /// axis over decades that say nothing.
    pub smallest: f64,
    pub categories: Vec<String>,
    /// A label and a value per category; none leaves its bar out.
    pub series: Vec<(String, Vec<Option<f64>>)>,
}

/// What a bar figure says on its axes, and the smallest value it draws a bar for.
pub(super) struct Labels<'a> {
    pub caption: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub smallest: f64,
}

pub(super) fn draw(
    area: &mut dyn FigureArea,
    labels: &Labels<'_>,
    categories: &[String],
    series: &[(String, Vec<Option<f64>>)],
) -> DrawResult {
    area.bars(&BarChart {
        caption: labels.caption.to_string(),
        x_desc: labels.x_desc.to_string(),
        y_desc: labels.y_desc.to_string(),
        smallest: labels.smallest,
        categories: categories.to_vec(),
        series: series.to_vec(),
    })
}

impl<DB: DrawingBackend> Area<DB> {
    pub(super) fn draw_bars(&self, chart: &BarChart) -> DrawResult {
        let root = &self.0;
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let values = chart
            .series
            .iter()
            .flat_map(|(_, values)| values.iter().flatten());
        let drawn = |v: &f64| v.is_finite() && *v > 0.0 && *v >= chart.smallest;
        let values: Vec<f64> = values.copied().filter(drawn).collect();
        let low = values.iter().copied().fold(f64::INFINITY, f64::min);
        let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        // Bars start below the smallest value.
        let (y0, y1) = if low.is_finite() {
            let y0 = low / 3.0;
            (y0, above_legend(y0, high, chart.series.len(), true))
        } else {
            (1.0, 10.0)
        };
        let n = chart.categories.len().max(1);
        let mut ctx = ChartBuilder::on(root)
            .caption(&chart.caption, (FONT, 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(-0.5..n as f64 - 0.5, (y0..y1).log_scale())
            .map_err(|e| e.to_string())?;
        let category = |x: &f64| {
            let at = x.round();
            match chart.categories.get(at as usize) {
                Some(name) if (x - at).abs() < 1e-6 && at >= 0.0 => name.clone(),
                _ => String::new(),
            }
        };
        ctx.configure_mesh()
            .disable_x_mesh()
            .x_labels(2 * n + 1)
            .x_desc(&chart.x_desc)
            .y_desc(&chart.y_desc)
            .label_style((FONT, 14))
            .x_label_formatter(&category)
            .y_label_formatter(&|v| axis_number(*v))
            .axis_desc_style((FONT, 16))
            .draw()
            .map_err(|e| e.to_string())?;
        let width = 0.8 / chart.series.len().max(1) as f64;
        for (s, (label, values)) in chart.series.iter().enumerate() {
            let fill = color(s).filled();
            let bars = values.iter().enumerate().filter_map(|(i, value)| {
                let value = value.filter(drawn)?;
                let left = i as f64 - 0.4 + s as f64 * width;
                Some(Rectangle::new(
                    [(left, y0), (left + 0.9 * width, value)],
                    fill,
                ))
            });
            ctx.draw_series(bars)
                .map_err(|e| e.to_string())?
                .label(label.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], fill));
        }
        draw_legend(&mut ctx)?;
        root.present().map_err(|e| e.to_string())
    }
}

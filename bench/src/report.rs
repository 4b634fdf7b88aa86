//! A plain-text table: metric, Trailwatch, baseline, ratio, target, pass/fail.

/// One line of the table.
pub struct Row {
    pub metric: String,
    pub trailwatch: String,
    pub baseline: String,
    pub ratio: String,
    pub target: String,
    /// `None` for informational rows.
    pub pass: Option<bool>,
}

impl Row {
    /// A row with every column given.
    pub fn new(
        metric: impl Into<String>,
        trailwatch: impl Into<String>,
        baseline: impl Into<String>,
        ratio: impl Into<String>,
        target: impl Into<String>,
        pass: Option<bool>,
    ) -> Row {
        Row {
            metric: metric.into(),
            trailwatch: trailwatch.into(),
            baseline: baseline.into(),
            ratio: ratio.into(),
            target: target.into(),
            pass,
        }
    }

    /// An informational row: a value and an optional baseline, no target.
    pub fn info(metric: impl Into<String>, trailwatch: impl Into<String>) -> Row {
        Row::new(metric, trailwatch, "", "", "", None)
    }
}

/// Renders rows as an aligned table; a row whose metric is empty draws a separator.
pub fn table(rows: &[Row]) -> String {
    let header = Row::new("metric", "trailwatch", "baseline", "ratio", "target", None);
    let cells = |r: &Row| -> [String; 6] {
        [
            r.metric.clone(),
            r.trailwatch.clone(),
            r.baseline.clone(),
            r.ratio.clone(),
            r.target.clone(),
            match r.pass {
                Some(true) => "PASS".into(),
                Some(false) => "FAIL".into(),
                None => String::new(),
            },
        ]
    };
    let mut widths = [0usize; 6];
    let all: Vec<[String; 6]> = std::iter::once(&header)
        .chain(rows.iter())
        .map(cells)
        .collect();
    for row in &all {
        for (w, c) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    widths[5] = widths[5].max("pass".len());
    let total: usize = widths.iter().sum::<usize>() + 3 * 5;
    let mut out = String::new();
    for (i, row) in all.iter().enumerate() {
        if i > 0 && row[0].is_empty() {
            out.push_str(&"-".repeat(total));
            out.push('\n');
            continue;
        }
        let mut line = String::new();
        for (j, (c, w)) in row.iter().zip(widths).enumerate() {
            let text = if i == 0 && j == 5 { "pass" } else { c };
            let pad = w - text.chars().count();
            if j == 0 {
                line.push_str(text);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(" | ");
                // Numbers read best right-aligned.
                line.push_str(&" ".repeat(pad));
                line.push_str(text);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(&"=".repeat(total));
            out.push('\n');
        }
    }
    out
}

/// Bytes as decimal megabytes with two decimals.
pub fn mb(bytes: f64) -> String {
    format!("{:.2} MB", bytes / 1e6)
}

/// Bytes as MiB with one decimal.
pub fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
}

/// A ratio as `1.23×`.
pub fn times(ratio: f64) -> String {
    if ratio.is_finite() {
        format!("{ratio:.2}×")
    } else {
        "-".into()
    }
}

/// Renders any header and rows as an aligned table: the first column left-aligned, the
/// others right-aligned (numbers read best that way); a row of empty cells draws a
/// separator.
pub fn grid(header: &[&str], rows: &[Vec<String>]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let total: usize = widths.iter().sum::<usize>() + 3 * columns.saturating_sub(1);
    let line = |cells: &[String]| -> String {
        let mut out = String::new();
        for (j, (c, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = w.saturating_sub(c.chars().count());
            if j == 0 {
                out.push_str(c);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str(" | ");
                out.push_str(&" ".repeat(pad));
                out.push_str(c);
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut out = line(&header);
    out.push_str(&"=".repeat(total));
    out.push('\n');
    for row in rows {
        if row.iter().all(String::is_empty) {
            out.push_str(&"-".repeat(total));
            out.push('\n');
        } else {
            let mut cells = row.clone();
            cells.resize(columns, String::new());
            out.push_str(&line(&cells));
        }
    }
    out
}

//! Output helpers: docker's table layout and human sizes.

use std::io::Write;

/// Prints rows under headers as docker does: columns padded by 3 spaces.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut tw = tabwriter::TabWriter::new(Vec::new())
        .minwidth(10)
        .padding(3);
    writeln!(tw, "{}", headers.join("\t"))?;
    for row in rows {
        writeln!(tw, "{}", row.join("\t"))?;
    }
    tw.flush()?;
    let bytes = tw
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    std::io::stdout().write_all(&bytes)
}

/// A byte count as docker prints sizes: decimal units, three significant digits
/// (`7.81MB`, `512kB`, `0B`).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{}{}", three_significant(value), UNITS[unit])
}

/// A byte count in binary units, as docker prints memory (`1.5GiB`, `512MiB`).
pub fn human_size_binary(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{}{}", three_significant(value), UNITS[unit])
}

/// Go's `%.3g` for the values sizes take (0 ≤ v < 1024).
fn three_significant(v: f64) -> String {
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_like_docker() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(7_810_000), "7.81MB");
        assert_eq!(human_size(512_000), "512kB");
        assert_eq!(human_size(1_500_000_000), "1.5GB");
        assert_eq!(human_size_binary(512 * 1024 * 1024), "512MiB");
        assert_eq!(human_size_binary(1536 * 1024 * 1024), "1.5GiB");
    }
}

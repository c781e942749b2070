//! Output helpers: docker's table layout, human sizes and ages, timestamps, and
//! the [`Console`] a command writes to.

use std::io::{BufRead, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Prints rows under headers as docker does (see [`align`]).
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut text = headers.join("\t") + "\n";
    for row in rows {
        text.push_str(&row.join("\t"));
        text.push('\n');
    }
    std::io::stdout().write_all(&align(&text)?)
}

/// A byte count as docker prints sizes: decimal units, three significant digits
/// (`7.81MB`, `512kB`, `0B`).
pub fn human_size(bytes: u64) -> String {
    human_size_with_precision(bytes, 3)
}

/// A byte count in binary units, as docker prints memory (`1.5GiB`, `512MiB`).
pub fn human_size_binary(bytes: u64) -> String {
    scaled(
        bytes,
        1024.0,
        &["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"],
        3,
    )
}

/// `bytes` in the largest unit that keeps the number below `base`.
fn scaled(bytes: u64, base: f64, units: &[&str], precision: usize) -> String {
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= base && unit < units.len() - 1 {
        value /= base;
        unit += 1;
    }
    format!("{}{}", significant(value, precision), units[unit])
}

/// Aligns tab-separated lines as docker's tables are: Go's `tabwriter` with
/// minimum width 10 and padding 3, where the minimum *includes* the padding.
/// The Rust crate adds the padding after the minimum, hence 7 here.
pub fn align(text: &str) -> std::io::Result<Vec<u8>> {
    let mut tw = tabwriter::TabWriter::new(Vec::new())
        .minwidth(10 - 3)
        .padding(3);
    tw.write_all(text.as_bytes())?;
    tw.flush()?;
    tw.into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// Where a command reads and writes, and what time it is: the process's
/// stdin/stdout/stderr and clock in the binary, buffers and a fixed time in tests.
pub struct Console<'a> {
    /// What the command prints (docker's stdout).
    pub out: &'a mut dyn Write,
    /// Per-object errors and prompts' warnings (docker's stderr).
    pub err: &'a mut dyn Write,
    /// Answers to confirmation prompts.
    pub input: &'a mut dyn BufRead,
    /// "Now", for ages such as `2 hours ago`.
    pub now: SystemTime,
}

impl Console<'_> {
    /// Runs `f` with the process's standard streams and the system clock.
    pub fn with_std<T>(f: impl FnOnce(&mut Console) -> T) -> T {
        let mut out = std::io::stdout().lock();
        let mut err = std::io::stderr().lock();
        let mut input = std::io::stdin().lock();
        let mut console = Console {
            out: &mut out,
            err: &mut err,
            input: &mut input,
            now: SystemTime::now(),
        };
        f(&mut console)
    }
}

/// A byte count as `units.HumanSizeWithPrecision` prints it with `precision`
/// significant digits (docker's prune totals use 4: `1.234MB`).
pub fn human_size_with_precision(bytes: u64, precision: usize) -> String {
    scaled(
        bytes,
        1000.0,
        &["B", "kB", "MB", "GB", "TB", "PB", "EB"],
        precision,
    )
}

/// Go's `%.Ng` for 0 ≤ v < 1000: `precision` significant digits, no trailing zeros.
fn significant(v: f64, precision: usize) -> String {
    let integer_digits = if v < 1.0 {
        1
    } else {
        v.log10().floor() as usize + 1
    };
    let decimals = precision.saturating_sub(integer_digits);
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

// ANCHOR: human_duration
/// A duration in words, by docker's go-units rules: `Less than a second`,
/// `About a minute`, `5 minutes`, `About an hour`, `3 hours` (rounded), then
/// days, weeks, months and years.
pub fn human_duration(d: Duration) -> String {
    let seconds = d.as_secs();
    let minutes = seconds / 60;
    // Hours round to the nearest; everything below them truncates.
    let hours = (d.as_secs_f64() / 3600.0 + 0.5) as u64;
    match () {
        _ if seconds < 1 => "Less than a second".to_string(),
        _ if seconds == 1 => "1 second".to_string(),
        _ if seconds < 60 => format!("{seconds} seconds"),
        _ if minutes == 1 => "About a minute".to_string(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".to_string(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", seconds / 3600 / 24 / 365),
    }
}
// ANCHOR_END: human_duration

/// How long ago `then` was, as docker's CREATED column says it (`2 hours ago`).
/// A time in the future counts as now.
pub fn age(then: SystemTime, now: SystemTime) -> String {
    let elapsed = now.duration_since(then).unwrap_or_default();
    format!("{} ago", human_duration(elapsed))
}

/// Parses an RFC 3339 time (`2024-01-31T12:00:00.123Z`, `…+02:00`), as image
/// configs write `created`.
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    let mut date_parts = date.splitn(3, '-');
    let year: i64 = date_parts.next()?.parse().ok()?;
    let month: u32 = date_parts.next()?.parse().ok()?;
    let day: u32 = date_parts.next()?.parse().ok()?;
    let zone_at = rest.find(['Z', 'z', '+', '-'])?;
    let (clock, zone) = rest.split_at(zone_at);
    let (clock, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut clock_parts = clock.splitn(3, ':');
    let hour: i64 = clock_parts.next()?.parse().ok()?;
    let minute: i64 = clock_parts.next()?.parse().ok()?;
    let second: i64 = clock_parts.next()?.parse().ok()?;
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let (hours, minutes) = zone[1..].split_once(':')?;
            let offset = hours.parse::<i64>().ok()? * 3600 + minutes.parse::<i64>().ok()? * 60;
            if zone.starts_with('-') {
                -offset
            } else {
                offset
            }
        }
    };
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61;
    if !valid || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos: u32 = format!("{:0<9}", &fraction[..fraction.len().min(9)])
        .parse()
        .ok()?;
    let seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    let whole = Duration::from_secs(seconds.unsigned_abs());
    let at = if seconds >= 0 {
        UNIX_EPOCH + whole
    } else {
        UNIX_EPOCH - whole
    };
    Some(at + Duration::from_nanos(nanos.into()))
}

/// A time as RFC 3339 in UTC, whole seconds: `2024-01-31T12:00:00Z` (what
/// `history -H=false` prints).
pub fn rfc3339_utc(time: SystemTime) -> String {
    let (date, clock) = utc_parts(time);
    format!("{date}T{clock}Z")
}

/// A time as Go's `time.Time.String` prints it in UTC:
/// `2024-01-31 12:00:00 +0000 UTC` (docker's `CreatedAt`).
pub fn go_time_string(time: SystemTime) -> String {
    let (date, clock) = utc_parts(time);
    format!("{date} {clock} +0000 UTC")
}

fn utc_parts(time: SystemTime) -> (String, String) {
    let seconds = match time.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs_f64().ceil() as i64),
    };
    let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!(
            "{:02}:{:02}:{:02}",
            of_day / 3600,
            of_day % 3600 / 60,
            of_day % 60
        ),
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years,
/// counted from March so the leap day comes last).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (i64::from(month) + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
    #[test]
    fn sizes_with_four_digits_as_prune_prints_them() {
        assert_eq!(human_size_with_precision(0, 4), "0B");
        assert_eq!(human_size_with_precision(1_234_567, 4), "1.235MB");
        assert_eq!(human_size_with_precision(4_863_000, 4), "4.863MB");
        assert_eq!(human_size_with_precision(1_200_000, 4), "1.2MB");
        assert_eq!(human_size_with_precision(999, 4), "999B");
        assert_eq!(human_size_with_precision(7_810_000, 3), "7.81MB");
    }

    #[test]
    fn durations_read_as_docker_says_them() {
        let s = Duration::from_secs;
        assert_eq!(
            human_duration(Duration::from_millis(400)),
            "Less than a second"
        );
        assert_eq!(human_duration(s(1)), "1 second");
        assert_eq!(human_duration(s(59)), "59 seconds");
        assert_eq!(human_duration(s(60)), "About a minute");
        assert_eq!(human_duration(s(119)), "About a minute");
        assert_eq!(human_duration(s(120)), "2 minutes");
        assert_eq!(human_duration(s(59 * 60 + 59)), "59 minutes");
        assert_eq!(human_duration(s(3600)), "About an hour");
        assert_eq!(human_duration(s(5399)), "About an hour");
        assert_eq!(human_duration(s(5400)), "2 hours");
        assert_eq!(human_duration(s(47 * 3600)), "47 hours");
        assert_eq!(human_duration(s(48 * 3600)), "2 days");
        assert_eq!(human_duration(s(14 * 86_400)), "2 weeks");
        assert_eq!(human_duration(s(60 * 86_400)), "2 months");
        assert_eq!(human_duration(s(730 * 86_400)), "2 years");
        let now = UNIX_EPOCH + s(1_000_000);
        assert_eq!(age(now - s(7200), now), "2 hours ago");
        assert_eq!(age(now + s(5), now), "Less than a second ago");
    }

    #[test]
    fn rfc3339_round_trips() {
        let t = parse_rfc3339("2024-02-29T23:59:58.5Z").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().as_millis(),
            1_709_251_198_500
        );
        assert_eq!(rfc3339_utc(t), "2024-02-29T23:59:58Z");
        assert_eq!(go_time_string(t), "2024-02-29 23:59:58 +0000 UTC");
        let offset = parse_rfc3339("2024-03-01T01:59:58+02:00").unwrap();
        assert_eq!(rfc3339_utc(offset), "2024-02-29T23:59:58Z");
        assert_eq!(
            rfc3339_utc(parse_rfc3339("1970-01-01T00:00:00Z").unwrap()),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            rfc3339_utc(parse_rfc3339("1969-12-31T23:59:59Z").unwrap()),
            "1969-12-31T23:59:59Z"
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("2024-13-01T00:00:00Z"), None);
    }

    #[test]
    fn align_pads_columns_like_docker() {
        let aligned = align("A\tB\nlonger value\tx\n").unwrap();
        assert_eq!(
            String::from_utf8(aligned).unwrap(),
            "A              B\nlonger value   x\n"
        );
        let aligned = align("TAG\tIMAGE ID\tSIZE\nlatest\tx\t1B\n").unwrap();
        assert_eq!(
            String::from_utf8(aligned).unwrap(),
            "TAG       IMAGE ID   SIZE\nlatest    x          1B\n"
        );
    }
}

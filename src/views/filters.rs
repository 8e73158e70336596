//! The askama filters every page shares. A template module brings them in with
//! `use crate::views::filters;` (askama looks custom filters up as `filters::name`).

use askama::filters::Safe;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// A stored time (Unix seconds) as `<time datetime="2026-11-29T19:23:00Z">2026-11-29 19:23
/// UTC</time>`: people read the text, machines (and the HTML checker) the attribute.
pub fn utc(seconds: impl UnixSeconds, _: &dyn askama::Values) -> askama::Result<Safe<String>> {
    let human = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    let html = OffsetDateTime::from_unix_timestamp(seconds.seconds())
        .ok()
        .and_then(|t| Some((t.format(&Rfc3339).ok()?, t.format(&human).ok()?)))
        // Both strings are digits and punctuation: nothing in them needs escaping.
        .map(|(machine, human)| format!(r#"<time datetime="{machine}">{human}</time>"#))
        .unwrap_or_else(|| "an unknown time".to_owned());
    Ok(Safe(html))
}

/// What `utc` accepts: askama hands a filter the value, or a reference to it, depending on
/// where it comes from (a field, a `let`, a `match` binding).
pub trait UnixSeconds {
    fn seconds(&self) -> i64;
}

impl UnixSeconds for i64 {
    fn seconds(&self) -> i64 {
        *self
    }
}

impl<T: UnixSeconds + ?Sized> UnixSeconds for &T {
    fn seconds(&self) -> i64 {
        (**self).seconds()
    }
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn a_time_reads_as_utc_and_carries_its_rfc3339_form() {
        let html = utc(1_795_980_180_i64, askama::NO_VALUES).unwrap().0;
        assert_eq!(
            html,
            r#"<time datetime="2026-11-29T19:23:00Z">2026-11-29 19:23 UTC</time>"#
        );
    }

    #[test]
    fn a_time_out_of_range_is_said_to_be_unknown_not_a_panic() {
        assert_eq!(
            utc(i64::MAX, askama::NO_VALUES).unwrap().0,
            "an unknown time"
        );
    }
}

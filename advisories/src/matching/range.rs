//! Whether a version is affected by one affected entry, as the OSV schema's
//! evaluation pseudo-code says: listed in `versions` (exact), or inside a
//! range that it is below a `limit` of (when the range has any), where the
//! last event at or below the version, in version order, is an
//! `introduced` (a `fixed` at or below it, or a `last_affected` below it,
//! ends the affected stretch).
//!
//! Instead of sorting the events, which would hand a comparator that is
//! not a total order (rpm's is not, on odd input) to a sort that may then
//! panic, the last triggered event is found with one linear scan; ties
//! keep the later event in the record, as a stable sort would.
//! `introduced: "0"` is before everything and never reaches a comparator;
//! neither does `limit: "*"`.

use std::cmp::Ordering;

use crate::osv::Event;
use crate::version::VersionScheme;

/// Ranges (each a list of events) and listed versions of one entry.
pub(crate) struct Entry<'a> {
    pub ranges: &'a [Vec<Event>],
    pub versions: &'a [String],
}

/// `None` when `version` is not affected; else the `fixed` versions of the
/// ranges it is in that are above it (empty: no fix known).
pub(crate) fn affected(
    scheme: &dyn VersionScheme,
    version: &str,
    entry: &Entry<'_>,
) -> Option<Vec<String>> {
    let cmp = |a: &str, b: &str| scheme.compare(a, b).ok();
    let mut hit = entry
        .versions
        .iter()
        .any(|v| v == version || cmp(v, version) == Some(Ordering::Equal));
    let mut fixed = Vec::new();
    // A version the scheme refuses (an npm `file:` or git dependency) is in
    // no range: `introduced: "0"` alone would otherwise match it.
    let comparable = scheme.validate(version).is_ok();
    for events in entry.ranges.iter().filter(|_| comparable) {
        if in_range(scheme, version, events) {
            hit = true;
            fixed.extend(events.iter().filter_map(|e| match e {
                Event::Fixed(f) if cmp(f, version) == Some(Ordering::Greater) => Some(f.clone()),
                _ => None,
            }));
        }
    }
    hit.then_some(fixed)
}

fn in_range(scheme: &dyn VersionScheme, version: &str, events: &[Event]) -> bool {
    let cmp = |a: &str, b: &str| scheme.compare(a, b).ok();
    let mut limits = events.iter().filter_map(|e| match e {
        Event::Limit(l) => Some(l),
        _ => None,
    });
    let has_limits = events.iter().any(|e| matches!(e, Event::Limit(_)));
    if has_limits && !limits.any(|l| l == "*" || cmp(version, l) == Some(Ordering::Less)) {
        return false;
    }
    let mut last: Option<&Event> = None;
    for event in events {
        let triggered = match event {
            Event::Introduced(v) => {
                v == "0" || matches!(cmp(version, v), Some(Ordering::Greater | Ordering::Equal))
            }
            Event::Fixed(v) => {
                matches!(cmp(version, v), Some(Ordering::Greater | Ordering::Equal))
            }
            Event::LastAffected(v) => cmp(version, v) == Some(Ordering::Greater),
            Event::Limit(_) => false,
        };
        if triggered && last.is_none_or(|l| event_order(scheme, l, event) != Ordering::Greater) {
            last = Some(event);
        }
    }
    matches!(last, Some(Event::Introduced(_)))
}

/// The order of two events' versions; `introduced: "0"` is first.
fn event_order(scheme: &dyn VersionScheme, a: &Event, b: &Event) -> Ordering {
    let zero = |e: &Event| matches!(e, Event::Introduced(v) if v == "0");
    match (zero(a), zero(b)) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => scheme
            .compare(a.version(), b.version())
            .unwrap_or(Ordering::Equal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::{DPKG, NPM_SEMVER, RPM};

    fn ev(spec: &str) -> Vec<Event> {
        spec.split_whitespace()
            .map(|part| {
                let (kind, v) = part.split_once('=').unwrap();
                let v = v.to_string();
                match kind {
                    "i" => Event::Introduced(v),
                    "f" => Event::Fixed(v),
                    "la" => Event::LastAffected(v),
                    "l" => Event::Limit(v),
                    _ => unreachable!(),
                }
            })
            .collect()
    }

    fn check(
        scheme: &dyn VersionScheme,
        ranges: &[&str],
        versions: &[&str],
        v: &str,
    ) -> Option<Vec<String>> {
        let ranges: Vec<Vec<Event>> = ranges.iter().map(|r| ev(r)).collect();
        let versions: Vec<String> = versions.iter().map(|s| s.to_string()).collect();
        affected(
            scheme,
            v,
            &Entry {
                ranges: &ranges,
                versions: &versions,
            },
        )
    }

    fn semver(ranges: &[&str], v: &str) -> bool {
        check(&NPM_SEMVER, ranges, &[], v).is_some()
    }

    #[test]
    fn introduced_zero_is_the_beginning() {
        assert!(semver(&["i=0"], "0.0.0"));
        assert!(semver(&["i=0"], "99.0.0"));
        assert!(semver(&["i=0 f=1.0.2"], "1.0.1"));
        assert!(!semver(&["i=0 f=1.0.2"], "1.0.2"));
        // "0" never reaches dpkg's comparator, and is below every version.
        assert!(
            check(
                &DPKG,
                &["i=0 f=1:9.2p1-2+deb12u3"],
                &[],
                "1:9.2p1-2+deb12u2"
            )
            .is_some()
        );
    }

    #[test]
    fn fixed_and_introduced_bounds() {
        assert!(!semver(&["i=1.0.0 f=1.0.2"], "0.9.9"));
        assert!(semver(&["i=1.0.0 f=1.0.2"], "1.0.0"));
        assert!(!semver(&["i=1.0.0 f=1.0.2"], "1.0.2"));
        assert!(!semver(&["i=1.0.0 f=1.0.2"], "2.0.0"));
        // Pre-releases by plain semver precedence.
        assert!(semver(&["i=1.0.0-alpha f=1.0.0"], "1.0.0-beta"));
    }

    #[test]
    fn last_affected_is_inclusive() {
        assert!(semver(&["i=0 la=2.1.214"], "2.1.214"));
        assert!(!semver(&["i=0 la=2.1.214"], "2.1.215"));
    }

    #[test]
    fn limit_caps_the_range() {
        assert!(semver(&["i=1.0.0 l=2.0.0"], "1.5.0"));
        assert!(!semver(&["i=1.0.0 l=2.0.0"], "2.0.0"));
        assert!(!semver(&["i=1.0.0 l=2.0.0"], "3.0.0"));
        assert!(semver(&["i=1.0.0 l=2.0.0 l=4.0.0"], "3.0.0"));
        assert!(semver(&["i=1.0.0 l=*"], "9.0.0"));
        assert!(!semver(&["i=1.0.0 f=1.5.0 l=2.0.0"], "1.6.0"));
    }

    #[test]
    fn several_stretches_in_any_order() {
        let r = ["f=3.2.5 i=3.0.0 f=1.0.2 i=1.0.0"];
        assert!(semver(&r, "1.0.1"));
        assert!(!semver(&r, "2.0.0"));
        assert!(semver(&r, "3.1.0"));
        assert!(!semver(&r, "3.2.5"));
        // Several ranges: any one is enough.
        let rs = ["i=1.0.0 f=1.0.2", "i=3.0.0 f=3.2.5"];
        assert!(semver(&rs, "3.0.0"));
        assert!(!semver(&rs, "2.0.0"));
    }

    #[test]
    fn versions_list_matches_exactly() {
        assert!(check(&NPM_SEMVER, &[], &["5.6.1"], "5.6.1").is_some());
        assert!(check(&NPM_SEMVER, &[], &["5.6.1"], "5.6.0").is_none());
        assert!(check(&NPM_SEMVER, &[], &["5.6.1"], "5.6.10").is_none());
        // A version the scheme refuses still matches itself literally,
        // but is in no range.
        assert!(check(&NPM_SEMVER, &[], &["x"], "x").is_some());
        assert!(check(&NPM_SEMVER, &["i=0"], &[], "file:../lib").is_none());
        // An rpm missing epoch is epoch 0.
        assert!(check(&RPM, &[], &["0:1.0-1"], "1.0-1").is_some());
    }

    #[test]
    fn fixed_versions_above_the_package() {
        let r = ["i=1.0.0 f=1.0.2 i=3.0.0 f=3.2.5"];
        assert_eq!(
            check(&NPM_SEMVER, &r, &[], "3.1.0"),
            Some(vec!["3.2.5".to_string()])
        );
        assert_eq!(check(&NPM_SEMVER, &["i=0"], &[], "3.1.0"), Some(vec![]));
        assert_eq!(
            check(&NPM_SEMVER, &["i=0 f=1.0.0"], &["2.0.0"], "2.0.0"),
            Some(vec![])
        );
    }

    #[test]
    fn rpm_epochs() {
        // Red Hat writes the epoch, the SBOM may not; AlmaLinux omits it.
        assert!(check(&RPM, &["i=0 f=0:8.7p1-38.el9_4.1"], &[], "8.7p1-38.el9").is_some());
        assert!(check(&RPM, &["i=0 f=0:8.7p1-38.el9_4.1"], &[], "8.7p1-38.el9_4.1").is_none());
        assert!(check(&RPM, &["i=0 f=8.7p1-38.el9_4.1"], &[], "0:8.7p1-38.el9_4.1").is_none());
        // A real epoch outranks any version.
        assert!(check(&RPM, &["i=0 f=1:11.0.13.0.8-1.el8_4"], &[], "12.0-1.el8").is_some());
        assert!(
            check(
                &RPM,
                &["i=0 f=1:11.0.13.0.8-1.el8_4"],
                &[],
                "1:11.0.13.0.8-1.el8_4"
            )
            .is_none()
        );
    }

    #[test]
    fn no_introduced_means_nothing_is_affected() {
        assert!(!semver(&["f=1.0.0"], "0.5.0"));
    }
}

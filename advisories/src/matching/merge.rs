//! One result per (package, vulnerability): the advisories that matched a
//! package, merged where they are the same vulnerability.
//!
//! Two matched records are the same vulnerability when their id sets
//! (own id, `aliases`, `upstream`) meet: `DEBIAN-CVE-2024-6387` and
//! `DSA-5724-1` both name `CVE-2024-6387`. A record that names two or more
//! CVEs (a DSA, RHSA or GHSA bundling several) does not bridge them: it is
//! folded, as an alias, into every group it meets, and stands alone only
//! when it meets none. `related` never merges.
//!
//! The primary id, stable across runs and feeds: a `MAL-` id when any
//! record is malicious (the lowest); else the CVE when the group names
//! exactly one; else the lowest matched record id. Every other id of the
//! group is an alias.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use imgscan_sbom::{Package, Severity};

use super::{Candidate, PackageIndex, Vulnerability, VulnerabilityKind};
use crate::severity::Cvss;
use crate::version::VersionScheme;

/// One matched affected entry and the fixes above the package's version.
pub(crate) struct Hit {
    pub candidate: Rc<Candidate>,
    pub fixed: Vec<String>,
}

/// A matched record (all its matching entries together).
struct Member<'a> {
    id: &'a str,
    links: BTreeSet<&'a str>,
    fixed: BTreeSet<&'a str>,
    severity: Severity,
    cvss: Option<&'a Cvss>,
    summary: &'a str,
}

impl Member<'_> {
    fn is_bundle(&self) -> bool {
        self.links.iter().filter(|l| l.starts_with("CVE-")).count() >= 2
    }
}

/// Groups the hits of package `index` into vulnerabilities.
pub(crate) fn group(
    index: usize,
    package: &Package,
    hits: &[Hit],
    scheme: &dyn VersionScheme,
) -> Vec<Vulnerability> {
    let members = members(hits);
    let (bundles, singles): (Vec<&Member<'_>>, Vec<&Member<'_>>) =
        members.values().partition(|m| m.is_bundle());

    let mut parent: Vec<usize> = (0..singles.len()).collect();
    let mut first_with = BTreeMap::<&str, usize>::new();
    for (i, member) in singles.iter().enumerate() {
        for link in &member.links {
            match first_with.get(link) {
                Some(&j) => union(&mut parent, i, j),
                None => {
                    first_with.insert(link, i);
                }
            }
        }
    }
    let mut groups = BTreeMap::<usize, Group<'_>>::new();
    for (i, member) in singles.iter().enumerate() {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().members.push(member);
    }
    let mut groups: Vec<Group<'_>> = groups.into_values().collect();
    for bundle in bundles {
        let mut absorbed = false;
        for group in &mut groups {
            if group
                .members
                .iter()
                .any(|m| !m.links.is_disjoint(&bundle.links))
            {
                group.absorbed.push(bundle.id);
                absorbed = true;
            }
        }
        if !absorbed {
            groups.push(Group {
                members: vec![bundle],
                absorbed: Vec::new(),
            });
        }
    }
    groups
        .iter()
        .map(|g| g.vulnerability(index, package, scheme))
        .collect()
}

fn members(hits: &[Hit]) -> BTreeMap<&str, Member<'_>> {
    let mut members = BTreeMap::<&str, Member<'_>>::new();
    for hit in hits {
        let c = &*hit.candidate;
        let member = members.entry(&c.record_id).or_insert_with(|| Member {
            id: &c.record_id,
            links: std::iter::once(c.record_id.as_str())
                .chain(c.aliases.iter().map(String::as_str))
                .chain(c.upstream.iter().map(String::as_str))
                .collect(),
            fixed: BTreeSet::new(),
            severity: c.severity,
            cvss: c.cvss.as_ref(),
            summary: &c.summary,
        });
        member.fixed.extend(hit.fixed.iter().map(String::as_str));
        member.severity = member.severity.min(c.severity);
        member.cvss = better(member.cvss, c.cvss.as_ref());
    }
    members
}

fn better<'a>(a: Option<&'a Cvss>, b: Option<&'a Cvss>) -> Option<&'a Cvss> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y.preference(x) == Ordering::Greater {
            y
        } else {
            x
        }),
        (x, y) => x.or(y),
    }
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    // The lower index stays the root: groups come out in record-id order.
    let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
    parent[hi] = lo;
}

/// Records that are one vulnerability, and bundles folded into it.
#[derive(Default)]
struct Group<'a> {
    members: Vec<&'a Member<'a>>,
    absorbed: Vec<&'a str>,
}

/// Fixed versions are ordered by the scheme when there are few (insertion
/// sort: a comparator that is not a total order cannot make it panic),
/// else left in string order.
const SORT_FIXED_UP_TO: usize = 64;

impl Group<'_> {
    fn vulnerability(
        &self,
        index: usize,
        package: &Package,
        scheme: &dyn VersionScheme,
    ) -> Vulnerability {
        let ids: BTreeSet<&str> = self.members.iter().map(|m| m.id).collect();
        let links: BTreeSet<&str> = self
            .members
            .iter()
            .flat_map(|m| m.links.iter().copied())
            .chain(self.absorbed.iter().copied())
            .collect();
        let malicious = ids.iter().find(|id| id.starts_with("MAL-")).copied();
        let cves: Vec<&str> = self
            .members
            .iter()
            .flat_map(|m| m.links.iter().copied())
            .filter(|l| l.starts_with("CVE-"))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let primary = match (malicious, cves.as_slice()) {
            (Some(mal), _) => mal,
            (None, [cve]) => cve,
            _ => ids.first().copied().unwrap_or_default(),
        };
        let cvss = self
            .members
            .iter()
            .fold(None, |best, m| better(best, m.cvss));
        let severity = if malicious.is_some() {
            Severity::Critical
        } else if let Some(c) = cvss {
            c.severity()
        } else {
            self.members
                .iter()
                .map(|m| m.severity)
                .min()
                .unwrap_or(Severity::Unknown)
        };
        let summary = self
            .members
            .iter()
            .find(|m| m.id == primary && !m.summary.is_empty())
            .or_else(|| self.members.iter().find(|m| !m.summary.is_empty()))
            .map_or("", |m| m.summary);
        let fixed: BTreeSet<&str> = self
            .members
            .iter()
            .flat_map(|m| m.fixed.iter().copied())
            .collect();
        Vulnerability {
            id: primary.to_string(),
            kind: if malicious.is_some() {
                VulnerabilityKind::Malicious
            } else {
                VulnerabilityKind::Vulnerability
            },
            aliases: links
                .into_iter()
                .filter(|l| *l != primary)
                .map(str::to_string)
                .collect(),
            purl: package.purl.clone(),
            name: package.name.clone(),
            version: package.version.clone(),
            fixed: sort_versions(fixed.into_iter().map(str::to_string).collect(), scheme),
            severity,
            cvss: cvss.cloned(),
            at: PackageIndex { package: index },
            summary: summary.to_string(),
        }
    }
}

fn sort_versions(mut versions: Vec<String>, scheme: &dyn VersionScheme) -> Vec<String> {
    if versions.len() > SORT_FIXED_UP_TO {
        return versions;
    }
    for i in 1..versions.len() {
        let mut j = i;
        while j > 0 && scheme.compare(&versions[j - 1], &versions[j]) == Ok(Ordering::Greater) {
            versions.swap(j - 1, j);
            j -= 1;
        }
    }
    versions
}

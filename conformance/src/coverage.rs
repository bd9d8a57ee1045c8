//! Coverage of the upstream conformance tests by scenarios, per `needs` class.
//!
//! A test is *covered and passing* when at least one enabled scenario tags it (enabled scenarios must
//! pass for the suite to pass), and *tagged* when any scenario does, including scenarios ignored
//! until a feature lands: the difference is what those features will bring.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::upstream::{UpstreamTest, tests};

/// What the coverage report needs to know about one scenario.
#[derive(Debug, Clone)]
pub struct ScenarioCoverage {
    /// The scenario's name (its test module path).
    pub name: String,
    /// The upstream codenames it covers.
    pub covers: Vec<&'static str>,
    /// Whether it runs (is not `#[ignore]`d).
    pub enabled: bool,
}

/// Tags that name no upstream test (typos, or tests dropped from the list).
pub fn unknown_tags(scenarios: &[ScenarioCoverage]) -> Vec<(String, &'static str)> {
    let known: BTreeSet<&str> = tests().iter().map(|t| t.codename).collect();
    scenarios
        .iter()
        .flat_map(|s| s.covers.iter().map(move |c| (s.name.clone(), *c)))
        .filter(|(_, c)| !known.contains(c))
        .collect()
}

/// The coverage table (per `needs` class, then the total), followed by every tagged test with the
/// scenarios that tag it.
pub fn report(scenarios: &[ScenarioCoverage]) -> String {
    let upstream = tests();
    let mut passing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut pending: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in scenarios {
        for c in &s.covers {
            let into = if s.enabled {
                &mut passing
            } else {
                &mut pending
            };
            into.entry(c).or_default().push(&s.name);
        }
    }
    let mut classes: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for t in &upstream {
        let row = classes.entry(t.needs).or_default();
        row.0 += 1;
        if passing.contains_key(t.codename) {
            row.1 += 1;
        }
        if passing.contains_key(t.codename) || pending.contains_key(t.codename) {
            row.2 += 1;
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<14} {:>20} {:>28}",
        "needs", "covered+passing", "tagged (incl. ignored)"
    );
    let mut total = (0, 0, 0);
    for (class, (n, pass, tagged)) in &classes {
        let _ = writeln!(
            out,
            "{class:<14} {:>20} {:>28}",
            format!("{pass}/{n}"),
            format!("{tagged}/{n}")
        );
        total = (total.0 + n, total.1 + pass, total.2 + tagged);
    }
    let _ = writeln!(
        out,
        "{:<14} {:>20} {:>28}",
        "all",
        format!("{}/{}", total.1, total.0),
        format!("{}/{}", total.2, total.0)
    );
    let _ = writeln!(out);
    let line = |out: &mut String, mark: &str, t: &UpstreamTest, by: &[&str]| {
        let _ = writeln!(out, "{mark} {}\n      by {}", t.codename, by.join(", "));
    };
    for t in &upstream {
        if let Some(by) = passing.get(t.codename) {
            line(&mut out, "[pass]", t, by);
        }
    }
    for t in &upstream {
        if let (None, Some(by)) = (passing.get(t.codename), pending.get(t.codename)) {
            line(&mut out, "[todo]", t, by);
        }
    }
    out
}

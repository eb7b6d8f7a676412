//! The README is for a shop's first hour: under 20 KB, the two commands first (one sets up
//! and runs the demo, one runs the whole test suite), and every page it links exists. The
//! measurements and their history live in docs/performance.md.

use crate::exe::{path, root};

#[test]
fn the_readme_is_under_20_kb_and_starts_with_the_two_commands() {
    let readme = std::fs::read_to_string(path("README.md")).expect("README.md");
    assert!(
        readme.len() < 20_000,
        "README.md is {} bytes: move details to docs/",
        readme.len()
    );
    let block = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh block at the top");
    let commands: Vec<&str> = block
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(commands, ["scripts/demo", "scripts/test"], "{block}");
    assert!(
        readme.contains("(docs/performance.md)"),
        "links the measurements"
    );
}

#[test]
fn every_local_link_of_the_readme_and_docs_exists() {
    let mut pages = vec![path("README.md")];
    for e in std::fs::read_dir(path("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            pages.push(p);
        }
    }
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        let dir = page.parent().unwrap();
        for link in text.split("](").skip(1) {
            let target = link.split(')').next().unwrap().split('#').next().unwrap();
            if target.is_empty() || target.contains("://") {
                continue;
            }
            assert!(
                dir.join(target).exists(),
                "{} links {target}, which does not exist",
                page.strip_prefix(root()).unwrap_or(&page).display()
            );
        }
    }
}

/// docs/configuration.md says it lists every key: each key of the configuration (as the
/// default settings serialize) is named there in full, `a.b.c`, or under a `a.b.*` row.
#[test]
fn the_configuration_reference_names_every_key() {
    let doc = std::fs::read_to_string(path("docs/configuration.md")).expect("the reference");
    let defaults = serde_yaml::to_value(concierge::config::Settings::default())
        .expect("the default settings serialize");
    let mut keys = Vec::new();
    collect_keys(&defaults, "", &mut keys);
    assert!(keys.len() > 40, "found only {keys:?}");
    let missing: Vec<&String> = keys
        .iter()
        .filter(|key| {
            let named = doc.contains(&format!("`{key}`"));
            let under_a_star = key
                .match_indices('.')
                .any(|(at, _)| doc.contains(&format!("`{}.*`", &key[..at])));
            !named && !under_a_star
        })
        .collect();
    assert!(
        missing.is_empty(),
        "docs/configuration.md does not name these keys: {missing:?}"
    );
}

/// The dotted paths of the leaves of `value` (a mapping's keys; lists and scalars are leaves).
fn collect_keys(value: &serde_yaml::Value, prefix: &str, keys: &mut Vec<String>) {
    match value {
        serde_yaml::Value::Mapping(map) if !prefix.is_empty() && map.is_empty() => {
            keys.push(prefix.to_string())
        }
        serde_yaml::Value::Mapping(map) => {
            for (k, v) in map {
                let k = k.as_str().expect("string keys");
                let key = if prefix.is_empty() {
                    k.to_string()
                } else {
                    format!("{prefix}.{k}")
                };
                collect_keys(v, &key, keys);
            }
        }
        _ => keys.push(prefix.to_string()),
    }
}

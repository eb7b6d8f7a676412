//! The README is for a shop's first hour: under 20 KB, the two commands first (one sets up
//! and runs the demo, one runs the whole test suite), and every page it links exists. The
//! measurements and their history live in docs/performance.md.

use crate::exe::{path, root};

#[test]
fn the_readme_is_under_20_kb_and_starts_with_the_two_commands() {
    let readme = std::fs::read_to_string(path("README.md")).expect("README.md");
    assert!(
        readme.len() < 20 * 1024,
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

//! The shop's own synonyms: a folder (`synonyms:` in the config) with one YAML file per
//! locale (`en.yaml`, `nl.yaml`), each a list of groups whose first entry is the canonical
//! word, exactly like the built-in `synonyms.yaml`. They are added to the built-in groups of
//! their language (`Synonyms::with_shop`), so brand names, product nicknames and local words
//! ("pakketautomaat") meet the articles that use the shop's own word.
//!
//! A bad file costs that file or group, never the bot: the loader returns what it could read
//! with a diagnostic (file, line, what to do) for each problem.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::diagnostic::{find_line, Diagnostic};
use crate::locale::Locale;

use super::normalize::words;

/// The shop's synonym groups per language (ISO 639-1 code).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShopSynonyms {
    groups: BTreeMap<String, Vec<Vec<String>>>,
}

impl ShopSynonyms {
    /// The languages the shop has groups for.
    pub fn languages(&self) -> impl Iterator<Item = &str> {
        self.groups.keys().map(String::as_str)
    }

    /// The groups of a language, canonical first.
    pub fn groups(&self, language: &str) -> Option<&[Vec<String>]> {
        self.groups.get(language).map(Vec::as_slice)
    }

    pub fn is_empty(&self) -> bool {
        self.groups.values().all(Vec::is_empty)
    }
}

/// Loads every `<locale>.yaml` (or `.yml`) file of `dir`. `served` are the languages the shop
/// answers in; a file for another language is an error (its words would never be used).
/// Empty `served` accepts any valid locale.
pub fn load_dir(dir: &Path, served: &[Locale]) -> (ShopSynonyms, Vec<Diagnostic>) {
    let mut out = ShopSynonyms::default();
    let mut diags = Vec::new();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect(),
        Err(e) => {
            diags.push(
                Diagnostic::error(dir, None, format!("cannot read the synonyms folder: {e}"))
                    .with_hint("create the folder, or remove `synonyms:` from the config"),
            );
            return (out, diags);
        }
    };
    files.sort();
    // Where each phrase (folded words) was first seen, per language: a phrase in two groups
    // would rewrite to one of two canonicals depending on the order of the files.
    let mut seen: HashMap<(String, String), (PathBuf, usize)> = HashMap::new();
    for path in files {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let locale: Locale = match stem.parse() {
            Ok(l) => l,
            Err(_) => {
                diags.push(
                    Diagnostic::error(&path, None, format!("unknown locale `{stem}`"))
                        .with_hint("name the file after its locale, e.g. `en.yaml` or `nl.yaml`"),
                );
                continue;
            }
        };
        let language = locale.language().to_string();
        if !served.is_empty() && !served.iter().any(|l| l.language() == language) {
            let list: Vec<&str> = served.iter().map(Locale::as_str).collect();
            diags.push(
                Diagnostic::error(
                    &path,
                    None,
                    format!("locale `{locale}` is not served by this shop"),
                )
                .with_hint(format!(
                    "the shop serves {}: add `{locale}` to `shop.locales` in the config, or delete this file",
                    list.join(", ")
                )),
            );
            continue;
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                diags.push(Diagnostic::error(&path, None, format!("cannot read: {e}")));
                continue;
            }
        };
        let groups: Vec<Vec<String>> = match serde_yaml::from_str::<Option<Vec<Vec<String>>>>(&text)
        {
            Ok(g) => g.unwrap_or_default(),
            Err(e) => {
                let line = e.location().map(|l| l.line());
                let msg = e.to_string();
                diags.push(
                    Diagnostic::error(&path, line, msg.split(" at line ").next().unwrap_or(&msg))
                        .with_hint("the file is a list of groups, one per line, canonical word first: `- [parcel locker, locker, pakketautomaat]`"),
                );
                continue;
            }
        };
        let lines = item_lines(&text);
        let kept = out.groups.entry(language.clone()).or_default();
        'groups: for (i, group) in groups.into_iter().enumerate() {
            let line = lines.get(i).copied();
            if group.len() < 2 {
                diags.push(
                    Diagnostic::error(&path, line, "a synonym group needs at least two entries")
                        .with_hint("list the canonical word first, then the words that mean the same: `- [parcel locker, locker]`"),
                );
                continue;
            }
            let mut phrases = Vec::with_capacity(group.len());
            for entry in &group {
                let phrase: Vec<String> = words(entry).collect();
                if phrase.is_empty() {
                    diags.push(
                        Diagnostic::error(&path, line, "an empty entry in a synonym group")
                            .with_hint("remove it, or write the word it stands for"),
                    );
                    continue 'groups;
                }
                phrases.push((entry, phrase.join(" ")));
            }
            let mut clash = false;
            for (entry, phrase) in &phrases {
                let at = find_line(&text, entry, line.unwrap_or(1)).or(line);
                match seen.get(&(language.clone(), phrase.clone())) {
                    Some((file, first)) => {
                        diags.push(
                            Diagnostic::error(
                                &path,
                                at,
                                format!(
                                    "`{entry}` is in two groups (first at {}:{first})",
                                    file.display()
                                ),
                            )
                            .with_hint("a word may belong to one group only: merge the groups or remove it from one"),
                        );
                        clash = true;
                    }
                    None => {
                        seen.insert(
                            (language.clone(), phrase.clone()),
                            (path.clone(), at.unwrap_or(0)),
                        );
                    }
                }
            }
            if !clash {
                kept.push(group);
            }
        }
    }
    out.groups.retain(|_, g| !g.is_empty());
    (out, diags)
}

/// The 1-based line of each top-level list item (`- ` at the start of a line).
fn item_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with('-'))
        .map(|(i, _)| i + 1)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop(files: &[(&str, &str)]) -> (tempfile::TempDir, ShopSynonyms, Vec<Diagnostic>) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let served: Vec<Locale> = vec!["en".parse().unwrap(), "nl".parse().unwrap()];
        let (s, d) = load_dir(dir.path(), &served);
        (dir, s, d)
    }

    #[test]
    fn loads_groups_per_language() {
        let (_d, s, diags) = shop(&[
            (
                "en.yaml",
                "# ours\n- [parcel locker, locker]\n- [nordhaven card, nh card]\n",
            ),
            ("nl-BE.yml", "- [pakketautomaat, pakketkluis]\n"),
            ("notes.txt", "not yaml"),
        ]);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(s.groups("en").unwrap().len(), 2);
        assert_eq!(s.groups("nl").unwrap()[0][0], "pakketautomaat");
        assert_eq!(s.languages().collect::<Vec<_>>(), ["en", "nl"]);
    }

    #[test]
    fn problems_name_the_file_and_line() {
        let (_d, s, diags) = shop(&[
            (
                "en.yaml",
                "- [parcel locker, locker]\n- []\n- [cabinet, Locker]\n- [ok, fine]\n",
            ),
            ("xx_bad.yaml", "- [a, b]\n"),
            ("es.yaml", "- [taquilla, casillero]\n"),
        ]);
        let text: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
        assert_eq!(diags.len(), 4, "{text:#?}");
        assert!(
            text[0].ends_with("en.yaml:2: error: a synonym group needs at least two entries")
                || text[0].contains("en.yaml:2: error: a synonym group"),
            "{text:#?}"
        );
        assert!(
            text[1].contains("en.yaml:3: error: `Locker` is in two groups (first at "),
            "{text:#?}"
        );
        assert!(text
            .iter()
            .any(|t| t.contains("es.yaml: error: locale `es` is not served")));
        assert!(text
            .iter()
            .any(|t| t.contains("xx_bad.yaml: error: unknown locale `xx_bad`")));
        // The good groups still count; the clashing one is skipped.
        let en = s.groups("en").unwrap();
        assert_eq!(en.len(), 2);
        assert_eq!(en[1][0], "ok");
    }

    #[test]
    fn a_missing_folder_is_one_error() {
        let (s, d) = load_dir(Path::new("/nonexistent/synonyms"), &[]);
        assert!(s.is_empty());
        assert_eq!(d.len(), 1);
        assert!(d[0].is_error());
    }
}

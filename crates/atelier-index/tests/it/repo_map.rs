//! The repo map: ranked by use, personalised, within its budget.

use atelier_index::estimate_tokens;

use crate::indexed;

fn project() -> Vec<(String, String)> {
    let mut files = vec![
        (
            "src/core.rs".to_owned(),
            "pub fn load_settings_from_disk() -> u32 {\n    1\n}\n\npub fn never_called_helper() {}\n"
                .to_owned(),
        ),
        ("src/lonely.rs".to_owned(), "pub fn unused_lonely_function() {}\n".to_owned()),
    ];
    for i in 0..8 {
        files.push((
            format!("src/user{i}.rs"),
            format!("pub fn user_{i}() -> u32 {{\n    crate::core::load_settings_from_disk()\n}}\n"),
        ));
    }
    files
}

#[test]
fn a_much_used_definition_ranks_above_an_unused_one() {
    let files = project();
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let (_dir, index) = indexed(&refs);
    let map = index.repo_map(&[], &[], 1_500).unwrap();
    let used = map.find("load_settings_from_disk").expect(&map);
    let unused = map.find("unused_lonely_function").expect(&map);
    assert!(used < unused, "{map}");
    assert!(map.starts_with("src/core.rs:\n"), "{map}");
    assert!(map.contains("    1│ pub fn load_settings_from_disk() -> u32 {"), "{map}");
}

#[test]
fn the_map_fits_its_budget() {
    let files: Vec<(String, String)> = (0..200)
        .map(|i| {
            (
                format!("src/m{i:03}.rs"),
                format!("pub fn function_number_{i}(x: u32) -> u32 {{ x }}\npub struct Type{i};\n"),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let (_dir, index) = indexed(&refs);
    for budget in [50, 300, 1_500] {
        let map = index.repo_map(&[], &[], budget).unwrap();
        assert!(estimate_tokens(&map) <= budget, "{budget}: {} tokens", estimate_tokens(&map));
        assert!(!map.is_empty());
    }
    let small = index.repo_map(&[], &[], 300).unwrap();
    let large = index.repo_map(&[], &[], 1_500).unwrap();
    assert!(large.len() > small.len() * 3);
}

#[test]
fn names_and_files_in_the_request_come_first() {
    let files = project();
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let (_dir, index) = indexed(&refs);
    let map = index.repo_map(&[], &["unusedLonelyFunction".to_owned()], 40).unwrap();
    assert!(map.contains("unused_lonely_function"), "{map}");
    let map = index.repo_map(&["src/lonely.rs".to_owned()], &[], 1_500).unwrap();
    assert!(map.contains("unused_lonely_function"), "{map}");
}

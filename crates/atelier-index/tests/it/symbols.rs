//! Definitions with their lines, for a small file in each language with a grammar.

use atelier_index::{Lang, parse};

/// The (name, kind, first line) of each definition in `text` read as `path`'s language.
fn defs(path: &str, text: &str) -> Vec<(String, String, u32)> {
    let lang = Lang::of_path(path).unwrap_or_else(|| panic!("no language for {path}"));
    let parsed = parse(lang, text).unwrap_or_else(|| panic!("{path} did not parse"));
    parsed.definitions.into_iter().map(|d| (d.name, d.kind, d.start_line)).collect()
}

fn check(path: &str, text: &str, expected: &[(&str, &str, u32)]) {
    let got = defs(path, text);
    for (name, kind, line) in expected {
        assert!(
            got.iter().any(|(n, k, l)| n == name && k == kind && l == line),
            "{path}: expected {kind} {name} at line {line}; got {got:?}"
        );
    }
}

#[test]
fn rust() {
    check(
        "src/lib.rs",
        "use std::fmt;\n\npub struct Config {\n    port: u16,\n}\n\nimpl Config {\n    pub fn port(&self) -> u16 {\n        self.port\n    }\n}\n\npub fn choose_num_ctx() -> u32 {\n    4096\n}\n\npub trait Provider {}\nenum Kind { A }\nconst LIMIT: u32 = 3;\nmacro_rules! twice { () => {} }\nmod inner {}\n",
        &[
            ("Config", "struct", 3),
            ("port", "method", 8),
            ("choose_num_ctx", "function", 13),
            ("Provider", "trait", 17),
            ("Kind", "enum", 18),
            ("LIMIT", "constant", 19),
            ("twice", "macro", 20),
            ("inner", "module", 21),
        ],
    );
}

#[test]
fn python() {
    check(
        "app/models.py",
        "import os\n\nMAX_USERS = 10\n\nclass User:\n    def __init__(self, name):\n        self.name = name\n\n    def greet(self):\n        return 'hi'\n\ndef load_users(path):\n    return []\n",
        &[
            ("MAX_USERS", "constant", 3),
            ("User", "class", 5),
            ("greet", "method", 9),
            ("load_users", "function", 12),
        ],
    );
}

#[test]
fn javascript() {
    check(
        "web/app.js",
        "import x from 'y';\n\nexport function render(el) {\n  return el;\n}\n\nclass Store {\n  load() { return 1; }\n}\n\nconst handler = (req) => req;\nexport const ROUTES = ['a'];\n",
        &[
            ("render", "function", 3),
            ("Store", "class", 7),
            ("load", "method", 8),
            ("handler", "function", 11),
            ("ROUTES", "constant", 12),
        ],
    );
}

#[test]
fn typescript_and_tsx() {
    check(
        "src/api.ts",
        "export interface Session {\n  id: string;\n}\n\nexport type Id = string;\n\nexport enum Role { User }\n\nexport class Client {\n  send(text: string): void {}\n}\n\nexport function connect(url: string): Client {\n  return new Client();\n}\n",
        &[
            ("Session", "interface", 1),
            ("Id", "type", 5),
            ("Role", "enum", 7),
            ("Client", "class", 9),
            ("send", "method", 10),
            ("connect", "function", 13),
        ],
    );
    check(
        "src/View.tsx",
        "import React from 'react';\n\nexport function View(props: { name: string }) {\n  return <div>{props.name}</div>;\n}\n\nexport const Button = () => <button />;\n",
        &[("View", "function", 3), ("Button", "function", 7)],
    );
}

#[test]
fn go() {
    check(
        "main.go",
        "package main\n\ntype Server struct {\n\tport int\n}\n\ntype Handler interface {\n\tServe()\n}\n\nfunc (s *Server) Start() error {\n\treturn nil\n}\n\nfunc main() {\n}\n\nconst Version = \"1\"\n",
        &[
            ("Server", "struct", 3),
            ("Handler", "interface", 7),
            ("Start", "method", 11),
            ("main", "function", 15),
            ("Version", "constant", 18),
        ],
    );
}

#[test]
fn java() {
    check(
        "src/Main.java",
        "package app;\n\npublic class Main {\n    public Main() {}\n\n    public static void main(String[] args) {\n    }\n}\n\ninterface Greeter {\n    void greet();\n}\n\nenum Color { RED }\n",
        &[("Main", "class", 3), ("main", "method", 6), ("Greeter", "interface", 10), ("Color", "enum", 14)],
    );
}

#[test]
fn c() {
    check(
        "src/util.c",
        "#include <stdio.h>\n#define MAX 10\n\nstruct point {\n    int x;\n};\n\ntypedef int number;\n\nint add(int a, int b) {\n    return a + b;\n}\n\nstatic char *name(void) {\n    return 0;\n}\n",
        &[
            ("MAX", "constant", 2),
            ("point", "struct", 4),
            ("number", "type", 8),
            ("add", "function", 10),
            ("name", "function", 14),
        ],
    );
}

#[test]
fn cpp() {
    check(
        "src/shape.cpp",
        "#include <string>\n\nnamespace geo {\n\nclass Shape {\npublic:\n    double area() const { return 0; }\n};\n\ndouble Shape::perimeter() const {\n    return 1;\n}\n\nint helper(int x) {\n    return x;\n}\n\n}\n",
        &[
            ("geo", "module", 3),
            ("Shape", "class", 5),
            ("area", "method", 7),
            ("perimeter", "method", 10),
            ("helper", "function", 14),
        ],
    );
}

#[test]
fn csharp() {
    check(
        "src/Program.cs",
        "namespace App\n{\n    public class Program\n    {\n        public string Name { get; set; }\n\n        public static void Main(string[] args)\n        {\n        }\n    }\n\n    public interface IStore {}\n}\n",
        &[
            ("App", "module", 1),
            ("Program", "class", 3),
            ("Name", "property", 5),
            ("Main", "method", 7),
            ("IStore", "interface", 12),
        ],
    );
}

#[test]
fn ruby() {
    check(
        "lib/shop.rb",
        "module Shop\n  TAX = 0.2\n\n  class Cart\n    def total\n      0\n    end\n\n    def self.empty\n      new\n    end\n  end\nend\n",
        &[
            ("Shop", "module", 1),
            ("TAX", "constant", 2),
            ("Cart", "class", 4),
            ("total", "method", 5),
            ("empty", "method", 9),
        ],
    );
}

#[test]
fn bash() {
    check(
        "scripts/setup.sh",
        "#!/bin/sh\nset -e\n\ninstall_deps() {\n  apt-get install -y git\n}\n\nfunction run_tests {\n  cargo test\n}\n\ninstall_deps\n",
        &[("install_deps", "function", 4), ("run_tests", "function", 8)],
    );
}

#[test]
fn uses_are_counted_and_definition_names_are_not_uses() {
    let parsed = parse(
        Lang::Rust,
        "fn helper() {}\nfn main() {\n    helper();\n    helper();\n    Config::load();\n}\n",
    )
    .unwrap();
    assert_eq!(parsed.references.get("helper"), Some(&2));
    assert_eq!(parsed.references.get("Config"), Some(&1));
    assert_eq!(parsed.references.get("main"), None);
}

#[test]
fn every_language_has_a_working_query() {
    for path in
        ["a.rs", "a.py", "a.js", "a.ts", "a.tsx", "a.go", "a.java", "a.c", "a.cpp", "a.cs", "a.rb", "a.sh"]
    {
        let lang = Lang::of_path(path).unwrap();
        assert!(lang.query().is_ok(), "{path}: {:?}", lang.query().err());
    }
}

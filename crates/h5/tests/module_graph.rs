//! The crate's modules form layers without cycles: this test reads the `use` lines and the
//! paths in crates/h5/src and fails on an import cycle between two modules (files) or on an
//! edge that runs up the layer order:
//!
//! `error`, `limits` → `storage` → `base` → `read` → `write` → `api` → `lib.rs`
//!
//! A module may use modules of its own layer (without cycles) and of the layers before it.
//! A folder's `mod.rs` that re-exports its children (`pub use child::Item`) does not depend on
//! them by doing so: re-exports in `mod.rs` and `lib.rs` are names, not uses.
//!
//! The reader knows files, not inline modules: `super::` inside a file's `mod tests` is read
//! as the file's own `super::`, so tests name other modules from `crate::`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layer of a module, by its first path component; `None` for modules outside them.
fn layer(module: &str) -> Option<usize> {
    let top = module.split("::").next().unwrap_or("");
    Some(match top {
        "error" | "limits" => 0,
        "storage" => 1,
        "base" => 2,
        "read" => 3,
        "write" => 4,
        "api" => 5,
        "" => 6,
        _ => return None,
    })
}

struct Module {
    /// `a::b` for src/a/b.rs and src/a/b/mod.rs; "" for lib.rs.
    name: String,
    /// Whether the file is a folder's mod.rs (or lib.rs): it may name its children without
    /// `self::`, and its `pub use` lines are re-exports.
    is_dir: bool,
    source: String,
}

fn modules(src: &Path) -> Vec<Module> {
    let mut out = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = p.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let is_dir = matches!(parts.last().map(String::as_str), Some("mod" | "lib"));
            if is_dir {
                parts.pop();
            }
            out.push(Module {
                name: parts.join("::"),
                is_dir,
                source: strip(&std::fs::read_to_string(&p).unwrap()),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The source without comments, string and char literals (doc links name paths that are
/// not uses). Unit tests inside a file count: they are the file's code too.
fn strip(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if b[i] == b'"'
            || (b[i] == b'r' && b.get(i + 1).is_some_and(|&c| c == b'"' || c == b'#'))
        {
            // string literal (raw strings with any number of #)
            let raw = b[i] == b'r';
            if raw {
                i += 1;
                let mut hashes = 0;
                while b.get(i) == Some(&b'#') {
                    hashes += 1;
                    i += 1;
                }
                if b.get(i) != Some(&b'"') {
                    out.push('r');
                    continue;
                }
                i += 1;
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                while i < b.len() && !b[i..].starts_with(&close) {
                    i += 1;
                }
                i += close.len();
            } else {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            out.push_str("\"\"");
        } else if b[i] == b'\'' {
            // a char literal ('x', '\n', '\u{..}') or a lifetime ('a)
            let end = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..]
                    .iter()
                    .position(|&c| c == b'\'')
                    .map(|p| i + 2 + p)
            } else if b.get(i + 2) == Some(&b'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(e) => {
                    out.push_str("' '");
                    i = e + 1;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let c = s[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Expand a `use` tree (`a::{b, c::{d as e, *}}`) into its paths.
fn expand(tree: &str) -> Vec<Vec<String>> {
    // drop renames (`x as y` names x) and whitespace
    let mut flat = String::new();
    let mut words = tree.split_whitespace().peekable();
    while let Some(w) = words.next() {
        if w == "as" {
            // the new name, and whatever punctuation follows it
            if let Some(n) = words.next() {
                flat.push_str(n.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_'));
            }
        } else {
            flat.push_str(w);
        }
    }
    fn go(s: &[u8], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut path = prefix.to_vec();
        let mut word = String::new();
        while *i < s.len() {
            match s[*i] {
                b'{' => {
                    *i += 1;
                    loop {
                        go(s, i, &path, out);
                        if s.get(*i) == Some(&b',') {
                            *i += 1;
                            continue;
                        }
                        break;
                    }
                    *i += 1; // the '}'
                    return;
                }
                b'}' | b',' => break,
                b':' => {
                    if !word.is_empty() {
                        path.push(std::mem::take(&mut word));
                    }
                    *i += 1;
                }
                c => {
                    word.push(c as char);
                    *i += 1;
                }
            }
        }
        if !word.is_empty() {
            path.push(word);
        }
        if !path.is_empty() {
            out.push(path);
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    go(flat.as_bytes(), &mut i, &[], &mut out);
    out
}

/// A crate path a module names, made absolute, and whether it is a re-export (`pub use` in a
/// folder's mod.rs or lib.rs).
type Named = (Vec<String>, bool);

/// Every crate path a module names.
fn scan(m: &Module, names: &BTreeSet<String>) -> Vec<Named> {
    let here: Vec<String> = if m.name.is_empty() {
        Vec::new()
    } else {
        m.name.split("::").map(String::from).collect()
    };
    // `super` of a::b is a, whether b is a file or a folder (b/mod.rs)
    let parent: Vec<String> = here[..here.len().saturating_sub(1)].to_vec();
    let base_for_self = here.clone();
    let resolve = |path: &[String]| -> Option<Vec<String>> {
        let first = path.first()?.as_str();
        let (mut abs, rest) = match first {
            "crate" => (Vec::new(), &path[1..]),
            "self" => (base_for_self.clone(), &path[1..]),
            "super" => {
                let mut p = parent.clone();
                let mut rest = &path[1..];
                while rest.first().map(String::as_str) == Some("super") {
                    p.pop();
                    rest = &rest[1..];
                }
                (p, rest)
            }
            _ => {
                // a child module of this one, named without `self::` (2018 paths)
                let mut child = base_for_self.clone();
                child.push(first.to_string());
                if m.is_dir && names.contains(&child.join("::")) {
                    (base_for_self.clone(), path)
                } else {
                    return None;
                }
            }
        };
        abs.extend(rest.iter().cloned());
        Some(abs)
    };
    let mut out = Vec::new();
    let src = &m.source;
    // `use` statements
    let mut rest = src.as_str();
    let mut uses_spans = Vec::new();
    while let Some(p) = find_word(rest, "use") {
        let start = src.len() - rest.len() + p;
        let after = &rest[p + 3..];
        let Some(end) = after.find(';') else { break };
        let tree = &after[..end];
        let line_start = src[..start]
            .rfind(['\n', ';', '{', '}'])
            .map_or(0, |n| n + 1);
        let lead = src[line_start..start].trim();
        let reexport = lead.starts_with("pub") && m.is_dir;
        for path in expand(tree.trim()) {
            if let Some(abs) = resolve(&path) {
                out.push((abs, reexport));
            }
        }
        uses_spans.push((start, start + 3 + end));
        rest = &after[end..];
    }
    // paths in code: crate::, super::, self::, child::
    let code: String = {
        let mut c = String::new();
        let mut at = 0;
        for (s, e) in &uses_spans {
            c.push_str(&src[at..*s]);
            at = *e;
        }
        c.push_str(&src[at..]);
        c
    };
    let b = code.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // (`$crate::` in a macro names the caller's view of the crate, not a use)
        let boundary = i == 0
            || !(b[i - 1].is_ascii_alphanumeric()
                || b[i - 1] == b'_'
                || b[i - 1] == b':'
                || b[i - 1] == b'$');
        if boundary && (b[i].is_ascii_alphabetic() || b[i] == b'_') {
            let mut j = i;
            let mut path = Vec::new();
            loop {
                let s = j;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                path.push(code[s..j].to_string());
                if code[j..].starts_with("::")
                    && code[j + 2..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                {
                    j += 2;
                } else {
                    break;
                }
            }
            if path.len() > 1 {
                if let Some(abs) = resolve(&path) {
                    out.push((abs, false));
                }
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// The module a path names (its longest prefix that is a module) and that prefix's length.
fn module_of(names: &BTreeSet<String>, path: &[String]) -> Option<(String, usize)> {
    (0..=path.len())
        .rev()
        .map(|k| (path[..k].join("::"), k))
        .find(|(cand, _)| names.contains(cand))
}

struct Graph {
    names: BTreeSet<String>,
    /// module → modules it uses
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    fn build(mods: &[Module]) -> Graph {
        let names: BTreeSet<String> = mods.iter().map(|m| m.name.clone()).collect();
        let scans: Vec<(&Module, Vec<Named>)> = mods.iter().map(|m| (m, scan(m, &names))).collect();
        // what each folder's mod.rs re-exports: name → the module that defines it
        let mut reexports: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (m, paths) in &scans {
            for (path, reexport) in paths {
                if *reexport {
                    if let (Some(name), Some((target, _))) = (path.last(), module_of(&names, path))
                    {
                        reexports
                            .entry(m.name.clone())
                            .or_default()
                            .insert(name.clone(), target);
                    }
                }
            }
        }
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (m, paths) in &scans {
            for (path, reexport) in paths {
                if *reexport {
                    continue;
                }
                let Some((mut target, mut k)) = module_of(&names, path) else {
                    continue;
                };
                // an item named through a folder's re-export is used from where it is defined
                for _ in 0..8 {
                    let hop = path
                        .get(k)
                        .and_then(|name| reexports.get(&target)?.get(name));
                    match hop {
                        Some(t) if *t != target => {
                            target = t.clone();
                            k = path.len();
                        }
                        _ => break,
                    }
                }
                if target != m.name {
                    edges.entry(m.name.clone()).or_default().insert(target);
                }
            }
        }
        Graph { names, edges }
    }

    /// Strongly connected components with more than one module (Tarjan).
    fn cycles(&self) -> Vec<BTreeSet<String>> {
        struct T<'a> {
            g: &'a Graph,
            index: BTreeMap<&'a str, usize>,
            low: BTreeMap<&'a str, usize>,
            stack: Vec<&'a str>,
            on: BTreeSet<&'a str>,
            next: usize,
            out: Vec<BTreeSet<String>>,
        }
        fn visit<'a>(t: &mut T<'a>, v: &'a str) {
            t.index.insert(v, t.next);
            t.low.insert(v, t.next);
            t.next += 1;
            t.stack.push(v);
            t.on.insert(v);
            if let Some(ws) = t.g.edges.get(v) {
                for w in ws {
                    let w = w.as_str();
                    if !t.index.contains_key(w) {
                        visit(t, w);
                        let l = t.low[w].min(t.low[v]);
                        t.low.insert(v, l);
                    } else if t.on.contains(w) {
                        let l = t.index[w].min(t.low[v]);
                        t.low.insert(v, l);
                    }
                }
            }
            if t.low[v] == t.index[v] {
                let mut comp = BTreeSet::new();
                while let Some(w) = t.stack.pop() {
                    t.on.remove(w);
                    comp.insert(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    t.out.push(comp);
                }
            }
        }
        let mut t = T {
            g: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on: BTreeSet::new(),
            next: 0,
            out: Vec::new(),
        };
        for v in &self.names {
            if !t.index.contains_key(v.as_str()) {
                visit(&mut t, v);
            }
        }
        t.out
    }

    /// Every edge that breaks a rule, as "from -> to (why)".
    fn violations(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for comp in self.cycles() {
            for a in &comp {
                for b in self.edges.get(a).into_iter().flatten() {
                    if comp.contains(b) {
                        out.insert(format!("{a} -> {b} (cycle)"));
                    }
                }
            }
        }
        for (a, bs) in &self.edges {
            for b in bs {
                match (layer(a), layer(b)) {
                    (Some(la), Some(lb)) if lb > la => {
                        out.insert(format!("{a} -> {b} (up)"));
                    }
                    (None, _) | (_, None) => {
                        out.insert(format!("{a} -> {b} (outside the layers)"));
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

/// The position of `word` as a whole word in `s`.
fn find_word(s: &str, word: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(p) = s[from..].find(word) {
        let at = from + p;
        let before = at == 0 || !(b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_');
        let end = at + word.len();
        let after = end < b.len() && b[end].is_ascii_whitespace();
        if before && after {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    Graph::build(&modules(&src))
}

#[test]
fn modules_form_layers_without_cycles() {
    let found = graph().violations();
    assert!(
        found.is_empty(),
        "module graph of crates/h5/src breaks the layering:\n    {}",
        found.into_iter().collect::<Vec<_>>().join("\n    ")
    );
}

/// The parser itself: a use tree, paths in code, `super` from files and folders, re-exports.
#[test]
fn the_graph_reader_sees_every_kind_of_use() {
    let m = |name: &str, is_dir: bool, src: &str| Module {
        name: name.into(),
        is_dir,
        source: strip(src),
    };
    let mods = [
        m("", true, "mod base; mod read; pub use read::links::Link;"),
        m("base", true, "pub(crate) use context::Ctx; mod context;"),
        m("base::context", false, "pub struct Ctx; // crate::read::links\n"),
        m("read", true, "pub mod links; mod engine;"),
        m(
            "read::links",
            false,
            "use crate::{base::{context::Ctx as C, self}, error::Error};\nfn f() { super::engine::go(); let s = \"crate::api\"; }",
        ),
        m("read::engine", false, "fn go() -> crate::base::Ctx { todo!() }"),
        m("limits", false, "use super::read::links;"),
        m("error", false, "pub struct Error;"),
    ];
    let g = Graph::build(&mods);
    let e = |a: &str| -> Vec<String> { g.edges.get(a).into_iter().flatten().cloned().collect() };
    assert_eq!(
        e(""),
        Vec::<String>::new(),
        "re-exports in lib.rs are not uses"
    );
    assert_eq!(
        e("base::context"),
        Vec::<String>::new(),
        "comments are not uses"
    );
    assert_eq!(
        e("read::links"),
        vec!["base", "base::context", "error", "read::engine"]
    );
    assert_eq!(
        e("read::engine"),
        vec!["base::context"],
        "an item named through a re-export is used from where it is defined"
    );
    assert_eq!(e("limits"), vec!["read::links"]);
    let v = g.violations();
    assert!(v.contains("limits -> read::links (up)"), "{v:?}");
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(g.cycles().is_empty());
    let cyc = Graph::build(&[
        m("read", true, "mod a; mod b;"),
        m("read::a", false, "use super::b;"),
        m("read::b", false, "fn f() { crate::read::a::g() }"),
    ]);
    assert_eq!(cyc.cycles().len(), 1);
    assert_eq!(
        cyc.violations().into_iter().collect::<Vec<_>>(),
        vec!["read::a -> read::b (cycle)", "read::b -> read::a (cycle)"]
    );
}

//! `h5 ls`: a tree listing like h5ls.

use h5::{File, Group, LinkKind, Node};
use std::io::Write;
use std::path::Path;

/// Split `FILE[/path]` at the longest prefix that is an existing file.
fn split_target(target: &str) -> (String, String) {
    let mut cut = target.len();
    loop {
        let head = &target[..cut];
        if Path::new(head).is_file() {
            let rest = &target[cut..];
            return (
                head.to_string(),
                if rest.is_empty() {
                    "/".into()
                } else {
                    rest.to_string()
                },
            );
        }
        match head.rfind('/') {
            Some(i) if i > 0 => cut = i,
            _ => return (target.to_string(), "/".into()),
        }
    }
}

/// List `target`.
pub fn run(target: &str, recursive: bool, verbose: bool) -> h5::Result<()> {
    let (path, inner) = split_target(target);
    let file = File::open(&path)?;
    let mut out = std::io::stdout().lock();
    match file.root()?.node(&inner)? {
        Node::Group(g) => list_group(&mut out, &g, "", recursive, verbose),
        n => Ok(writeln!(out, "{}", describe(&n, verbose)?)?),
    }
}

fn list_group(
    out: &mut impl Write,
    g: &Group,
    prefix: &str,
    recursive: bool,
    verbose: bool,
) -> h5::Result<()> {
    for link in g.links()? {
        let name = format!("{prefix}{}", link.name);
        match &link.kind {
            LinkKind::Soft(t) => writeln!(out, "{name:<24} Soft Link {{{t}}}")?,
            LinkKind::External { file, path } => {
                writeln!(out, "{name:<24} External Link {{{file}/{path}}}")?
            }
            LinkKind::UserDefined(k) => writeln!(out, "{name:<24} User-defined link type {k}")?,
            LinkKind::Hard(_) => match g.node(&link.name) {
                Ok(n) => {
                    let text =
                        describe(&n, verbose).unwrap_or_else(|e| format!("(cannot describe: {e})"));
                    writeln!(out, "{name:<24} {text}")?;
                    if let (true, Node::Group(sub)) = (recursive, &n) {
                        list_group(out, sub, &format!("{name}/"), recursive, verbose)?;
                    }
                }
                Err(e) => writeln!(out, "{name:<24} error: {e}")?,
            },
        }
    }
    Ok(())
}

fn describe(n: &Node, verbose: bool) -> h5::Result<String> {
    Ok(match n {
        Node::Group(_) => "Group".into(),
        Node::Datatype(t) => format!("Type {}", crate::dump::dtype_desc(&t.dtype()?)?),
        Node::Dataset(d) => {
            let shape = match d.shape() {
                None => "NULL".to_string(),
                Some(s) if s.is_empty() => "SCALAR".to_string(),
                Some(s) => {
                    let max = d.maxshape().unwrap_or_default();
                    let parts: Vec<String> = s
                        .iter()
                        .zip(max)
                        .map(|(c, m)| match m {
                            Some(m) if m == *c => c.to_string(),
                            Some(m) => format!("{c}/{m}"),
                            None => format!("{c}/Inf"),
                        })
                        .collect();
                    format!("{{{}}}", parts.join(", "))
                }
            };
            let mut s = format!("Dataset {shape} {}", crate::dump::dtype_desc(d.dtype())?);
            if verbose {
                s += &format!("\n    Layout: {:?}", d.layout());
                if let Some(c) = d.chunks() {
                    s += &format!(" {c:?}");
                }
                // as h5ls prints them: name-id, OPT when optional, the client data
                for (i, f) in d.filters().iter().enumerate() {
                    let cd: Vec<String> = f.client_data.iter().map(u32::to_string).collect();
                    s += &format!(
                        "\n    Filter-{i}:  {}-{} {} {{{}}}",
                        f.name.as_deref().unwrap_or(h5::filter_name(f.id)),
                        f.id,
                        if f.flags & 1 != 0 { "OPT" } else { "" },
                        cd.join(", ")
                    );
                }
                for a in d.attrs().names()? {
                    s += &format!("\n    Attribute: {a}");
                }
            }
            s
        }
    })
}

//! `#[derive(Compound)]`: read and write a struct with named fields as an HDF5 compound whose
//! members are its fields (by name, in field order, packed as numpy lays out
//! `np.dtype([...])`). The derive only finds the struct's name and field names and hands them
//! to `h5::compound!`, which does the work; so it needs no parser crate.
#![forbid(unsafe_code)]

use proc_macro::{Delimiter, TokenStream, TokenTree};

/// Implements `h5::FromValue` and `h5::ToValue` for a struct with named fields, whose field
/// types implement them (numbers, `bool`, `String`, `Vec<T>`, other compounds).
///
/// ```text
/// #[derive(h5::Compound)]
/// struct Particle { id: i32, mass: f64, name: String }
/// ```
#[proc_macro_derive(Compound)]
pub fn derive_compound(input: TokenStream) -> TokenStream {
    match parse(input) {
        Ok((name, fields)) => format!("::h5::compound!({name} {{ {} }});", fields.join(", "))
            .parse()
            .unwrap_or_else(|_| error("h5::Compound: could not build the implementation")),
        Err(msg) => error(msg),
    }
}

fn error(msg: &str) -> TokenStream {
    format!("::core::compile_error!({msg:?});")
        .parse()
        .unwrap_or_default()
}

/// The struct's name and its field names.
fn parse(input: TokenStream) -> Result<(String, Vec<String>), &'static str> {
    let mut tokens = input.into_iter().peekable();
    // attributes, visibility, then `struct Name`
    let name = loop {
        match tokens.next() {
            Some(TokenTree::Ident(i)) if i.to_string() == "struct" => match tokens.next() {
                Some(TokenTree::Ident(n)) => break n.to_string(),
                _ => return Err("h5::Compound: expected the struct's name"),
            },
            Some(TokenTree::Ident(i)) if matches!(i.to_string().as_str(), "enum" | "union") => {
                return Err("h5::Compound can only be derived for structs with named fields")
            }
            Some(_) => continue,
            None => return Err("h5::Compound: expected a struct"),
        }
    };
    let body = match tokens.next() {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => g.stream(),
        Some(TokenTree::Punct(p)) if p.as_char() == '<' => {
            return Err("h5::Compound: generic structs are not supported")
        }
        _ => return Err("h5::Compound can only be derived for structs with named fields"),
    };
    // fields: [attributes] [visibility] name ':' type, separated by top-level commas
    // (commas inside a type's angle brackets are not separators)
    let mut fields = Vec::new();
    let mut last_ident: Option<String> = None;
    let mut in_type = false;
    let mut angle = 0i32;
    for t in body {
        match &t {
            TokenTree::Punct(p) if !in_type && p.as_char() == ':' => {
                let f = last_ident
                    .take()
                    .ok_or("h5::Compound: expected a field name before ':'")?;
                fields.push(f);
                in_type = true;
            }
            TokenTree::Punct(p) if in_type && p.as_char() == '<' => angle += 1,
            TokenTree::Punct(p) if in_type && p.as_char() == '>' => angle -= 1,
            TokenTree::Punct(p) if in_type && angle == 0 && p.as_char() == ',' => {
                in_type = false;
            }
            TokenTree::Ident(i) if !in_type => last_ident = Some(i.to_string()),
            _ => {}
        }
    }
    if fields.is_empty() {
        return Err("h5::Compound needs at least one named field");
    }
    Ok((name, fields))
}

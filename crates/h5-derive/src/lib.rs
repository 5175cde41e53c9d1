//! `#[derive(H5Type)]`: read and write a struct with named fields as an HDF5 compound whose
//! members are its fields (by name, in field order, packed as numpy lays out
//! `np.dtype([...])`), or a fieldless `#[repr(int)]` enum as an HDF5 enum. The derive only
//! finds the names and hands them to `h5::compound!` / `h5::h5_enum!`, which do the work; so
//! it needs no parser crate.
#![forbid(unsafe_code)]

use proc_macro::{Delimiter, TokenStream, TokenTree};

/// Implements `h5::H5Type` for a struct with named fields (a compound whose members are the
/// fields, whose types implement `H5Type`) or for a fieldless enum with a `#[repr]` integer
/// type (an HDF5 enum of that base type, members named as the variants).
///
/// ```text
/// #[derive(h5::H5Type)]
/// struct Particle { id: i32, mass: f64, name: String }
///
/// #[derive(h5::H5Type)]
/// #[repr(u8)]
/// enum Phase { Solid, Liquid, Gas = 7 }
/// ```
#[proc_macro_derive(H5Type)]
pub fn derive_h5type(input: TokenStream) -> TokenStream {
    expand(input, "h5::H5Type")
}

/// The former name of `#[derive(h5::H5Type)]`.
#[proc_macro_derive(Compound)]
pub fn derive_compound(input: TokenStream) -> TokenStream {
    expand(input, "h5::Compound")
}

fn expand(input: TokenStream, what: &str) -> TokenStream {
    let code = match parse(input) {
        Ok(Item::Struct { name, fields }) => {
            format!("::h5::compound!({name} {{ {} }});", fields.join(", "))
        }
        Ok(Item::Enum {
            name,
            repr,
            variants,
        }) => format!(
            "::h5::h5_enum!({name}: {repr} {{ {} }});",
            variants.join(", ")
        ),
        Err(msg) => return error(&format!("{what}: {msg}")),
    };
    code.parse()
        .unwrap_or_else(|_| error(&format!("{what}: could not build the implementation")))
}

fn error(msg: &str) -> TokenStream {
    format!("::core::compile_error!({msg:?});")
        .parse()
        .unwrap_or_default()
}

/// What the derive was given.
enum Item {
    /// A struct's name and its field names.
    Struct { name: String, fields: Vec<String> },
    /// An enum's name, its `#[repr]` integer type and its variant names.
    Enum {
        name: String,
        repr: String,
        variants: Vec<String>,
    },
}

const INTEGERS: [&str; 10] = [
    "i8", "i16", "i32", "i64", "isize", "u8", "u16", "u32", "u64", "usize",
];

fn parse(input: TokenStream) -> Result<Item, &'static str> {
    let mut tokens = input.into_iter().peekable();
    let mut repr = None;
    // attributes (noting `#[repr(int)]`), visibility, then `struct Name` or `enum Name`
    let (kind, name) = loop {
        match tokens.next() {
            Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Bracket => {
                let mut inner = g.stream().into_iter();
                if let (Some(TokenTree::Ident(i)), Some(TokenTree::Group(args))) =
                    (inner.next(), inner.next())
                {
                    if i.to_string() == "repr" {
                        repr = args.stream().into_iter().find_map(|t| match t {
                            TokenTree::Ident(t) if INTEGERS.contains(&t.to_string().as_str()) => {
                                Some(t.to_string())
                            }
                            _ => None,
                        });
                    }
                }
            }
            Some(TokenTree::Ident(i)) if matches!(i.to_string().as_str(), "struct" | "enum") => {
                match tokens.next() {
                    Some(TokenTree::Ident(n)) => break (i.to_string(), n.to_string()),
                    _ => return Err("expected the type's name"),
                }
            }
            Some(TokenTree::Ident(i)) if i.to_string() == "union" => {
                return Err("unions cannot be stored")
            }
            Some(_) => continue,
            None => return Err("expected a struct or an enum"),
        }
    };
    let body = match tokens.next() {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => g.stream(),
        Some(TokenTree::Punct(p)) if p.as_char() == '<' => {
            return Err("generic types are not supported")
        }
        _ if kind == "struct" => return Err("only structs with named fields are supported"),
        _ => return Err("expected the enum's variants"),
    };
    if kind == "enum" {
        let repr = repr.ok_or(
            "an enum needs a #[repr] integer type (e.g. #[repr(u8)]): it is the HDF5 enum's base",
        )?;
        return Ok(Item::Enum {
            name,
            repr,
            variants: variants(body)?,
        });
    }
    Ok(Item::Struct {
        name,
        fields: fields(body)?,
    })
}

/// An enum's variant names: `[attributes] Name [= discriminant]`, separated by commas.
fn variants(body: TokenStream) -> Result<Vec<String>, &'static str> {
    enum At {
        Name,
        AfterName,
        Discriminant,
    }
    let mut out = Vec::new();
    let mut at = At::Name;
    for t in body {
        at = match (at, &t) {
            (At::Name, TokenTree::Ident(i)) => {
                out.push(i.to_string());
                At::AfterName
            }
            // attributes before a variant
            (At::Name, _) => At::Name,
            (At::AfterName, TokenTree::Punct(p)) if p.as_char() == ',' => At::Name,
            (At::AfterName, TokenTree::Punct(p)) if p.as_char() == '=' => At::Discriminant,
            (At::AfterName, _) => return Err("only fieldless enums are supported"),
            (At::Discriminant, TokenTree::Punct(p)) if p.as_char() == ',' => At::Name,
            (At::Discriminant, _) => At::Discriminant,
        };
    }
    if out.is_empty() {
        return Err("an enum needs at least one variant");
    }
    Ok(out)
}

/// A struct's field names.
fn fields(body: TokenStream) -> Result<Vec<String>, &'static str> {
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
                    .ok_or("expected a field name before ':'")?;
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
        return Err("a struct needs at least one named field");
    }
    Ok(fields)
}

//! Drawing operation sequences from a seed: every op is drawn against the model's current
//! state (existing paths, shapes, types), with some that h5py refuses mixed in.

use crate::model::*;

/// SplitMix64: small, seedable, the same everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5eed_5eed_5eed_5eed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

const NAMES: [&str; 10] = ["a", "b", "c", "data", "x", "y", "grp", "ü", "名前", "z z"];

/// A random value of `dt`.
pub fn value(r: &mut Rng, dt: Dt) -> V {
    let edge = r.chance(0.15);
    macro_rules! int {
        ($t:ty) => {
            if edge {
                V::I(*r.pick(&[<$t>::MIN as i64, <$t>::MAX as i64, 0, -1]))
            } else {
                V::I(r.range(<$t>::MIN as i64, <$t>::MAX as i64))
            }
        };
    }
    macro_rules! uint {
        ($t:ty) => {
            if edge {
                V::U(*r.pick(&[<$t>::MAX as u64, 0, 1]))
            } else {
                V::U(r.next() % (<$t>::MAX as u64).saturating_add(1).max(1))
            }
        };
    }
    match dt {
        Dt::I8 => int!(i8),
        Dt::I16 => int!(i16),
        Dt::I32 => int!(i32),
        Dt::I64 => {
            if edge {
                V::I(*r.pick(&[i64::MIN, i64::MAX, 0, -1]))
            } else {
                V::I(r.next() as i64)
            }
        }
        Dt::U8 => uint!(u8),
        Dt::U16 => uint!(u16),
        Dt::U32 => uint!(u32),
        Dt::U64 => {
            if edge {
                V::U(*r.pick(&[u64::MAX, 0]))
            } else {
                V::U(r.next())
            }
        }
        // exact in half: quarters up to ±500
        Dt::F16 => V::F(r.range(-2000, 2000) as f64 / 4.0),
        Dt::F32 => V::F(loop {
            let x = if edge {
                *r.pick(&[f32::INFINITY, -0.0, f32::MIN_POSITIVE / 8.0, f32::MAX])
            } else {
                f32::from_bits(r.next() as u32)
            };
            if !x.is_nan() {
                break x as f64;
            }
        }),
        Dt::F64 => V::F(loop {
            let x = if edge {
                *r.pick(&[f64::NEG_INFINITY, -0.0, 5e-324, f64::MAX])
            } else {
                f64::from_bits(r.next())
            };
            if !x.is_nan() {
                break x;
            }
        }),
        Dt::Bool => V::B(r.chance(0.5)),
        Dt::VStr => {
            let n = r.below(8);
            V::S(
                (0..n)
                    .map(|_| *r.pick(&['a', 'Z', ' ', 'é', '€', '😀', '0']))
                    .collect(),
            )
        }
        Dt::FStr(n) => {
            let len = r.below(n as u64 + 1);
            V::S(
                (0..len)
                    .map(|_| *r.pick(&['a', 'b', 'Q', '7', '-']))
                    .collect(),
            )
        }
        Dt::Pair => V::L(vec![value(r, Dt::I32), value(r, Dt::F64)]),
        Dt::C16 => V::L(vec![value(r, Dt::F64), value(r, Dt::F64)]),
        Dt::VlenI32 => {
            let n = r.below(5);
            V::L((0..n).map(|_| value(r, Dt::I32)).collect())
        }
        Dt::ArrI16 => V::L((0..3).map(|_| value(r, Dt::I16)).collect()),
        Dt::Color => V::I(r.range(0, 2)),
        Dt::ObjRef => V::R(if r.chance(0.2) {
            None
        } else {
            Some(String::new())
        }),
    }
}

/// Point the references among `values` at objects that exist now (`paths`: the model's
/// objects; `value` leaves a placeholder).
fn aim(r: &mut Rng, values: &mut [V], paths: &[String]) {
    for v in values {
        if let V::R(Some(p)) = v {
            *p = r.pick(paths).clone();
        }
    }
}

/// An attribute's values of `dt` and `shape` (some aimed at `objects`, for references), then
/// the object it goes on and its name — drawn in that order.
fn attr_values(r: &mut Rng, dt: Dt, shape: &[u64], objects: &[String]) -> (Vec<V>, String, String) {
    let n: u64 = shape.iter().product();
    let mut values: Vec<V> = (0..n).map(|_| value(r, dt)).collect();
    aim(r, &mut values, objects);
    (values, r.pick(objects).clone(), r.pick(&NAMES).to_string())
}

fn shape(r: &mut Rng, max_rank: u64) -> Vec<u64> {
    let rank = r.below(max_rank + 1);
    loop {
        let s: Vec<u64> = (0..rank)
            .map(|_| {
                if r.chance(0.08) {
                    0
                } else {
                    r.range(1, 7) as u64
                }
            })
            .collect();
        if s.iter().product::<u64>() <= 200 {
            return s;
        }
    }
}

/// A selection of `shape` (sometimes out of range: h5py refuses those).
pub fn selection(r: &mut Rng, shape: &[u64]) -> Sel {
    let n: u64 = shape.iter().product();
    let bad = r.chance(0.03);
    match r.below(10) {
        _ if shape.is_empty() => Sel::All,
        0..=2 => Sel::All,
        3 if n > 0 => {
            let k = r.range(1, 6) as usize;
            let mut pts: Vec<Vec<u64>> = Vec::new();
            for _ in 0..k {
                let p: Vec<u64> = shape.iter().map(|&d| r.below(d + bad as u64)).collect();
                if !pts.contains(&p) {
                    pts.push(p);
                }
            }
            Sel::Points(pts)
        }
        4 => Sel::Mask((0..n).map(|_| r.chance(0.4)).collect()),
        _ => {
            let list_axis = r.below(shape.len() as u64 * 3) as usize;
            Sel::Slice(
                shape
                    .iter()
                    .enumerate()
                    .map(|(d, &len)| {
                        if d == list_axis && len > 0 {
                            let mut l: Vec<u64> = (0..len).filter(|_| r.chance(0.5)).collect();
                            if l.is_empty() {
                                l.push(r.below(len));
                            }
                            Ax::List(l)
                        } else if len > 0 && r.chance(0.3) {
                            Ax::Index(r.below(len + bad as u64 * 2))
                        } else {
                            let a = r.below(len + 1);
                            let b = a + r.below(len + 3 - a);
                            Ax::Range(a, b.max(a), r.range(1, 3) as u64)
                        }
                    })
                    .collect(),
            )
        }
    }
}

fn new_path(r: &mut Rng, m: &Model) -> String {
    let groups: Vec<String> = std::iter::once(String::new())
        .chain(m.walk().into_iter().filter_map(|(p, l)| match l {
            Lnk::Hard(id) if matches!(m.objs[&id].kind, Kind::Group(_)) => Some(p),
            _ => None,
        }))
        .collect();
    let base = r.pick(&groups).clone();
    let mut p = format!("{base}/{}", r.pick(&NAMES));
    if r.chance(0.1) {
        p = format!("{p}/{}", r.pick(&NAMES)); // intermediate groups
    }
    p
}

fn paths_where(m: &Model, f: impl Fn(&Kind) -> bool) -> Vec<String> {
    m.walk()
        .into_iter()
        .filter_map(|(p, l)| match l {
            Lnk::Hard(id) if f(&m.objs[&id].kind) => Some(p),
            _ => None,
        })
        .collect()
}

fn spec(r: &mut Rng, m: &Model) -> DsSpec {
    let types = paths_where(m, |k| matches!(k, Kind::Type(_)));
    let (dt, committed) = if !types.is_empty() && r.chance(0.2) {
        let p = r.pick(&types).clone();
        let dt = match m.objs[&m.resolve(&p).unwrap()].kind {
            Kind::Type(dt) => dt,
            _ => unreachable!(),
        };
        (dt, Some(p))
    } else {
        (*r.pick(&ALL_DTS), None)
    };
    let shape = shape(r, 3);
    let mut s = DsSpec {
        dt,
        shape: shape.clone(),
        maxshape: None,
        layout: None,
        chunks: None,
        filters: Filters::default(),
        fill: (dt != Dt::ObjRef && r.chance(0.3)).then(|| value(r, dt)),
        committed,
        empty: false,
        alloc: None,
        fill_time: None,
        track_order: r.chance(0.1),
    };
    if r.chance(0.04) {
        s.empty = true;
        s.layout = r.chance(0.3).then_some(Layout::Contiguous);
        return s;
    }
    match r.below(10) {
        0..=2 => {}
        3 => s.layout = Some(Layout::Contiguous),
        4 => s.layout = Some(Layout::Compact),
        _ if shape.is_empty() => {}
        _ => {
            if r.chance(0.5) {
                s.maxshape = Some(
                    shape
                        .iter()
                        .map(|&d| match r.below(3) {
                            0 => None,
                            1 => Some(d + r.below(4)),
                            _ => Some(d),
                        })
                        .collect(),
                );
            }
            if r.chance(0.6) {
                let max = s.maxshape.clone();
                s.chunks = Some(
                    shape
                        .iter()
                        .enumerate()
                        .map(|(i, &d)| {
                            let lim = match &max {
                                Some(m) => m[i].unwrap_or(d.max(4)),
                                None => d,
                            };
                            // chunks past the shape are refused when the axis is fixed
                            let lim = if r.chance(0.02) { lim + 1 } else { lim };
                            r.range(1, lim.clamp(1, 6) as i64) as u64
                        })
                        .collect(),
                );
            } else {
                s.layout = Some(Layout::Chunked);
            }
            match r.below(4) {
                0 => s.filters.gzip = Some(r.below(10) as u8),
                1 => s.filters.lzf = true,
                _ => {}
            }
            s.filters.shuffle = r.chance(0.3);
            s.filters.fletcher32 = r.chance(0.2);
        }
    }
    if r.chance(0.15) {
        // compact needs early allocation; now and then h5py's refusal is checked
        s.alloc = Some(match s.layout {
            Some(Layout::Compact) if r.chance(0.9) => 1,
            _ => r.range(1, 3) as u8,
        });
    }
    if s.fill.is_some()
        && matches!(dt, Dt::VStr | Dt::VlenI32)
        && s.alloc.is_some_and(|a| a != 1)
        && !matches!(s.layout, Some(Layout::Compact | Layout::Contiguous))
    {
        // libhdf5 cannot read unallocated chunks with a variable-length fill value from a
        // read-only file ("no write intent"), its own files neither: not drawn
        s.alloc = None;
    }
    if r.chance(0.15) {
        // "never" only where storage is allocated early: elsewhere libhdf5 leaves what
        // unwritten elements read as undefined
        s.fill_time = Some(if s.alloc == Some(1) {
            *r.pick(&[0, 1, 2])
        } else {
            *r.pick(&[0, 2])
        });
    }
    s
}

/// Draw one operation against the model's state.
pub fn op(r: &mut Rng, m: &Model) -> Op {
    let datasets = paths_where(m, |k| matches!(k, Kind::Dataset(_)));
    let objects: Vec<String> = std::iter::once("/".to_string())
        .chain(paths_where(m, |_| true))
        .collect();
    let links: Vec<String> = m.walk().into_iter().map(|(p, _)| p).collect();
    let types = paths_where(m, |k| matches!(k, Kind::Type(_)));
    let chunked = paths_where(
        m,
        |k| matches!(k, Kind::Dataset(d) if d.layout == Layout::Chunked),
    );
    loop {
        let op = match r.below(100) {
            0..=7 => Op::CreateGroup(new_path(r, m)),
            8..=9 => Op::CreateGroupOrdered(new_path(r, m)),
            10..=27 => Op::CreateDataset(new_path(r, m), spec(r, m)),
            28..=49 if !datasets.is_empty() => {
                let path = r.pick(&datasets).clone();
                let Some(Kind::Dataset(ds)) = m.resolve(&path).map(|id| &m.objs[&id].kind) else {
                    unreachable!()
                };
                let sel = selection(r, &ds.shape);
                let n = sel.indices(&ds.shape).map_or(1, |i| i.len());
                let count = match r.below(20) {
                    0..=2 => 1,
                    3 => n + 1,
                    _ => n,
                };
                let mut values: Vec<V> = (0..count).map(|_| value(r, ds.dt)).collect();
                aim(r, &mut values, &objects);
                Op::Write {
                    path,
                    sel,
                    values,
                    typed: ds.dt.is_numeric() && r.chance(0.5),
                }
            }
            50..=57 if !datasets.is_empty() => {
                // mostly resizable ones; the others check h5py's refusal
                let path = if !chunked.is_empty() && r.chance(0.85) {
                    r.pick(&chunked).clone()
                } else if r.chance(0.2) {
                    r.pick(&datasets).clone()
                } else {
                    continue;
                };
                let Some(Kind::Dataset(ds)) = m.resolve(&path).map(|id| &m.objs[&id].kind) else {
                    unreachable!()
                };
                let shape = ds
                    .shape
                    .iter()
                    .zip(&ds.maxshape)
                    .map(|(&d, mx)| match mx {
                        _ if r.chance(0.03) => d + 1,
                        Some(mx) => r.below(mx + 1),
                        None => r.below(d + 6),
                    })
                    .collect();
                Op::Resize(path, shape)
            }
            58..=64 => {
                let dt = *r.pick(&ALL_DTS);
                let shape = shape(r, 2);
                let (values, path, name) = attr_values(r, dt, &shape, &objects);
                Op::SetAttr {
                    path,
                    name,
                    dt,
                    values,
                    shape,
                }
            }
            68 => Op::SetAttrEmpty {
                path: r.pick(&objects).clone(),
                name: r.pick(&NAMES).to_string(),
                dt: *r.pick(&ALL_DTS),
            },
            65..=67 if !types.is_empty() => {
                let ty = r.pick(&types).clone();
                let Some(Kind::Type(dt)) = m.resolve(&ty).map(|id| &m.objs[&id].kind) else {
                    unreachable!()
                };
                let shape = shape(r, 1);
                let (values, path, name) = attr_values(r, *dt, &shape, &objects);
                Op::SetAttrCommitted {
                    path,
                    name,
                    ty,
                    values,
                    shape,
                }
            }
            69..=70 => {
                let with_attrs: Vec<String> = objects
                    .iter()
                    .filter(|p| m.resolve(p).is_some_and(|id| !m.objs[&id].attrs.is_empty()))
                    .cloned()
                    .collect();
                let path = if !with_attrs.is_empty() && r.chance(0.8) {
                    r.pick(&with_attrs).clone()
                } else {
                    r.pick(&objects).clone()
                };
                let names: Vec<String> = m
                    .resolve(&path)
                    .map(|id| m.objs[&id].attrs.keys().cloned().collect())
                    .unwrap_or_default();
                let name = if !names.is_empty() && r.chance(0.8) {
                    r.pick(&names).clone()
                } else {
                    r.pick(&NAMES).to_string()
                };
                Op::DeleteAttr(path, name)
            }
            71..=74 if objects.len() > 1 => Op::LinkHard {
                target: r.pick(&objects).clone(),
                path: new_path(r, m),
            },
            75..=76 => Op::LinkSoft {
                target: r.pick(&objects).clone(),
                path: new_path(r, m),
            },
            77 => Op::LinkExternal {
                file: "other.h5".into(),
                target: r.pick(&objects).clone(),
                path: new_path(r, m),
            },
            78..=83 if !links.is_empty() => Op::Unlink(if r.chance(0.1) {
                "/no/such/link".into()
            } else {
                r.pick(&links).clone()
            }),
            84..=89 if !links.is_empty() => {
                let src = if r.chance(0.1) {
                    "/missing".into()
                } else {
                    r.pick(&links).clone()
                };
                let dst = if r.chance(0.15) {
                    r.pick(&links).clone()
                } else {
                    new_path(r, m)
                };
                Op::Move(src, dst)
            }
            90..=93 => Op::CommitType(new_path(r, m), *r.pick(&ALL_DTS)),
            94..=96 => Op::Flush,
            97..=99 => Op::Reopen,
            _ => continue,
        };
        return op;
    }
}

/// The edits h5py makes to the file afterwards (check.py carries them out): an attribute,
/// a new dataset, a write into a numeric dataset, a resize, a group and a delete.
pub fn h5py_edits(r: &mut Rng, m: &Model) -> Vec<Op> {
    let mut out = vec![
        Op::SetAttr {
            path: "/".into(),
            name: "h5py_attr".into(),
            dt: Dt::I32,
            shape: vec![],
            values: vec![V::I(r.range(-100, 100))],
        },
        Op::CreateGroup("/h5py_group".into()),
        Op::CreateDataset(
            "/h5py_group/ints".into(),
            DsSpec {
                dt: Dt::I32,
                shape: vec![5],
                maxshape: None,
                layout: None,
                chunks: None,
                filters: Filters::default(),
                fill: None,
                committed: None,
                empty: false,
                alloc: None,
                fill_time: None,
                track_order: false,
            },
        ),
        Op::Write {
            path: "/h5py_group/ints".into(),
            sel: Sel::All,
            values: (0..5).map(|i| V::I(i * 3)).collect(),
            typed: true,
        },
    ];
    let numeric: Vec<(String, Ds)> = m
        .walk()
        .into_iter()
        .filter_map(|(p, l)| match l {
            Lnk::Hard(id) => match &m.objs[&id].kind {
                Kind::Dataset(d) if d.dt.is_numeric() && !d.null => Some((p, d.clone())),
                _ => None,
            },
            _ => None,
        })
        .collect();
    if !numeric.is_empty() {
        let (p, d) = r.pick(&numeric).clone();
        if d.shape.iter().product::<u64>() > 0 {
            let v = match d.dt {
                Dt::F16 | Dt::F32 | Dt::F64 => V::F(0.5),
                Dt::U8 | Dt::U16 | Dt::U32 | Dt::U64 => V::U(7),
                _ => V::I(-7),
            };
            out.push(Op::Write {
                path: p.clone(),
                sel: Sel::Points(vec![vec![0; d.shape.len()]]),
                values: vec![v],
                typed: true,
            });
        }
        // (not where the fill time is "never": what libhdf5 leaves in storage it allocates
        // then is undefined)
        if d.layout == Layout::Chunked
            && !d.never_fill
            && d.maxshape[0].is_none_or(|m| m > d.shape[0])
        {
            let mut s = d.shape.clone();
            s[0] += 1;
            out.push(Op::Resize(p, s));
        }
    }
    let links: Vec<String> = m.walk().into_iter().map(|(p, _)| p).collect();
    if !links.is_empty() {
        out.push(Op::Unlink(r.pick(&links).clone()));
    }
    out
}

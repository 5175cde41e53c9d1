//! The HDF5 library's own test files (../shared/corpus): every file h5py reads — with
//! hdf5plugin's filters for the rows marked `plugin` — dumps as h5py dumps it (expected dumps
//! committed under fixtures/corpus, made by fixtures/corpus_dumps.py); files h5py cannot read
//! give a clean error or, where listed below with the reason, a dump of our own.

mod common;
use common::{diff, h5, parse, root};
use std::fs;

/// `yes` and `plugin` files we do not read yet: (path, text the error must contain, why).
const KNOWN_GAPS: &[(&str, &str, &str)] = &[];

/// `no` files that are valid and that we read although h5py cannot: (path, why).
const BEYOND_H5PY: &[(&str, &str)] = &[
    (
        "tools/test/h5dump/testfiles/trefer_obj.h5",
        "revised (1.12) references resolve to their objects (all four name /Group1/Dataset1, at the address their tokens hold)",
    ),
    (
        "tools/test/h5dump/testfiles/t128bit_float.h5",
        "128-bit floats read as the nearest double (h5dump agrees: 1.12346)",
    ),
    (
        "tools/test/h5dump/testfiles/xml/topaque.h5",
        "opaque data dumped as hex (h5dump shows the same bytes)",
    ),
    (
        "tools/test/misc/testfiles/h5clear_sec2_v3.h5",
        "a superblock still marked open for writing is read, not refused",
    ),
    (
        "testdata/hdf5_official/tcomplex_be.h5",
        "big-endian long double complex numbers read as the nearest doubles",
    ),
];

/// A committed dump: `NAME.json`, or `NAME.json.gz` for the large ones.
fn read_dump(path: &std::path::Path) -> String {
    if let Ok(text) = fs::read_to_string(path) {
        return text;
    }
    let gz = path.with_extension("json.gz");
    let bytes = fs::read(&gz).unwrap_or_else(|e| {
        panic!(
            "{} (or .gz): {e}; run fixtures/corpus_dumps.py",
            path.display()
        )
    });
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
        .unwrap_or_else(|e| panic!("{}: {e}", gz.display()));
    text
}

struct Row {
    repo: String,
    path: String,
    ok: String,
}

fn manifest() -> (std::path::PathBuf, Vec<Row>) {
    let corpus = root().join("../shared/corpus");
    let text = fs::read_to_string(corpus.join("MANIFEST.tsv")).unwrap_or_else(|e| {
        panic!(
            "the corpus test needs ../shared/corpus/MANIFEST.tsv beside the checkout ({}: {e}); \
             CI always has it — copy shared/ next to the repository to run this test",
            corpus.display()
        )
    });
    let rows = text
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Row {
                repo: c[0].into(),
                path: c[2].into(),
                ok: c[4].into(),
            }
        })
        .collect();
    (corpus, rows)
}

#[test]
fn corpus_matches_h5py() {
    let (corpus, rows) = manifest();
    let expected_dir = root().join("fixtures/corpus");
    let ref_failures = fs::read_to_string(expected_dir.join("REFERENCE_FAILURES.tsv"))
        .expect("REFERENCE_FAILURES.tsv");
    let mut failures = Vec::new();
    let (mut equal, mut no_reference, mut gaps, mut clean_errors, mut beyond) = (0, 0, 0, 0, 0);
    for row in &rows {
        if row.ok == "aux" {
            continue;
        }
        let file = corpus.join(&row.repo).join(&row.path);
        let dir = file.parent().unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let (code, out, err) = h5(dir, &["dump", "--json", &name]);
        let p = row.path.as_str();
        if let Some((_, needle, why)) = KNOWN_GAPS.iter().find(|g| g.0 == p) {
            if code == 0 {
                failures.push(format!(
                    "{p}: now dumps; compare it with h5py and remove it from KNOWN_GAPS ({why})"
                ));
            } else if code != 1 || !err.contains(needle) {
                failures.push(format!(
                    "{p}: expected a clean error mentioning {needle:?}, got exit {code}: {err}"
                ));
            }
            gaps += 1;
            continue;
        }
        match row.ok.as_str() {
            "yes" | "plugin" => {
                if code != 0 {
                    failures.push(format!("{p}: exit {code}: {err}"));
                    continue;
                }
                let actual = parse(&out, p);
                if ref_failures
                    .lines()
                    .any(|l| l.split('\t').nth(1) == Some(p))
                {
                    // h5py_dump.py itself fails on this file; we must still produce a dump.
                    assert_eq!(actual["format"], "h5-dump-json/1", "{p}");
                    no_reference += 1;
                    continue;
                }
                let exp_path = expected_dir.join(&row.repo).join(format!("{p}.json"));
                let expected = parse(&read_dump(&exp_path), p);
                let mut d = Vec::new();
                diff(&expected, &actual, "", &mut d, 5);
                if d.is_empty() {
                    equal += 1;
                } else {
                    failures.push(format!("{p}:\n  {}", d.join("\n  ")));
                }
            }
            _ => {
                if let Some((_, why)) = BEYOND_H5PY.iter().find(|b| b.0 == p) {
                    if code != 0 {
                        failures.push(format!(
                            "{p}: expected a dump ({why}), got exit {code}: {err}"
                        ));
                    } else {
                        parse(&out, p);
                        beyond += 1;
                    }
                } else if !(code == 1 || code == 2) || err.trim().is_empty() {
                    failures.push(format!(
                        "{p} (h5py: {}): expected a clean error, got exit {code} {err}",
                        row.ok
                    ));
                } else {
                    clean_errors += 1;
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} corpus failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "corpus: {equal} equal to h5py, {no_reference} without a reference dump, {gaps} known gaps, \
         {clean_errors} clean errors, {beyond} read beyond h5py"
    );
    assert!(equal >= 46, "only {equal} corpus files equal to h5py");
}

#[test]
fn corpus_errors_name_structure_and_offset() {
    let (corpus, _) = manifest();
    let dir = corpus.join("hdf5-library/test/testfiles");
    let (code, _, err) = h5(&dir, &["dump", "--json", "cve_2020_10810.h5"]);
    assert_eq!(code, 1);
    assert!(err.contains("file space info message at 0x"), "{err}");
    let (code, _, err) = h5(&dir, &["dump", "--json", "bad_compound.h5"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("datatype message at 0x") && err.contains("compound members"),
        "{err}"
    );
}

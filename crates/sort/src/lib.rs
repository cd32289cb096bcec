//! Laying images out in one folder per cluster, as symbolic links to the originals or as
//! copies. It never moves, overwrites or deletes a file: it refuses a sort folder that
//! exists and is not empty, and creates every entry as new.

use std::path::{Path, PathBuf};

/// A file or folder that cannot be sorted into or from, and why.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SortError {
    /// The file or folder.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

/// Result of this crate.
pub type Result<T, E = SortError> = std::result::Result<T, E>;

fn invalid(path: impl Into<PathBuf>, message: impl Into<String>) -> SortError {
    SortError {
        path: path.into(),
        message: message.into(),
    }
}

/// Refuses `sort_dir` when it exists and is not an empty folder (checked before any
/// work, and again by [`sort_into`]).
pub fn check_free(sort_dir: &Path) -> Result<()> {
    if !sort_dir.exists() {
        return Ok(());
    }
    let mut entries = std::fs::read_dir(sort_dir).map_err(|e| {
        invalid(
            sort_dir,
            format!("--into: exists and cannot be listed ({e})"),
        )
    })?;
    if entries.next().is_some() {
        return Err(invalid(
            sort_dir,
            "--into: the folder exists and is not empty; give a new or empty folder \
             (nothing in it was changed)",
        ));
    }
    Ok(())
}

/// The commonest class of each of `k` clusters (`labels` index `classes`; ties: the
/// first class), none for a cluster with no rows.
pub fn majorities(
    clusters: &[usize],
    labels: &[u8],
    classes: &[String],
    k: usize,
) -> Vec<Option<String>> {
    let mut counts = vec![vec![0usize; classes.len()]; k];
    for (&c, &l) in clusters.iter().zip(labels) {
        counts[c][usize::from(l)] += 1;
    }
    counts
        .iter()
        .map(|row| {
            let (best, &n) = row
                .iter()
                .enumerate()
                .max_by_key(|&(i, n)| (*n, std::cmp::Reverse(i)))?;
            (n > 0).then(|| classes[best].clone())
        })
        .collect()
}

/// How the sorted folders hold the images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortMode {
    /// Symbolic links to the original files (absolute paths).
    Link,
    /// Copies of the files.
    Copy,
}

/// One image to sort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortedRow {
    /// The original file.
    pub file: String,
    /// Its cluster.
    pub cluster: usize,
}

/// A folder name: `cluster-03`, or `cluster-03-sneaker` with the cluster's majority
/// class (characters other than letters, digits, `-`, `_` and `.` become `_`).
pub fn folder_name(cluster: usize, k: usize, majority: Option<&str>) -> String {
    let width = (k.max(1) - 1).to_string().len().max(2);
    let mut name = format!("cluster-{cluster:0width$}");
    if let Some(class) = majority {
        let clean: String = class
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if !clean.trim_matches('.').is_empty() {
            name.push('-');
            name.push_str(&clean);
        }
    }
    name
}

/// `name` if it is free in `taken`, else `stem-2.ext`, `stem-3.ext`, ….
fn free_name(name: &str, taken: &mut std::collections::HashSet<String>) -> String {
    if taken.insert(name.to_string()) {
        return name.to_string();
    }
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    (2..)
        .map(|n| format!("{stem}-{n}{ext}"))
        .find(|candidate| taken.insert(candidate.clone()))
        .expect("some number is free")
}

/// Makes `sort_dir` (absent or empty) with one sub-folder per cluster of `k` (named by
/// [`folder_name`] with `majority[c]`), holding every row's file as a link or a copy
/// under its own name (`-2`, `-3`… appended when two share one). Returns the number of
/// entries made.
pub fn sort_into(
    rows: &[SortedRow],
    k: usize,
    majority: &[Option<String>],
    sort_dir: &Path,
    mode: SortMode,
) -> Result<usize> {
    check_free(sort_dir)?;
    for row in rows {
        if row.cluster >= k {
            return Err(invalid(
                &row.file,
                format!("cluster {} of {k}", row.cluster),
            ));
        }
        let path = Path::new(&row.file);
        if !path.is_file() {
            return Err(invalid(
                path,
                "--into: not a file that can be linked or copied (IDX rows have none; \
                 sort image folders)",
            ));
        }
    }
    let io = |path: &Path, e: std::io::Error| invalid(path, format!("--into: {e}"));
    let folders: Vec<PathBuf> = (0..k)
        .map(|c| {
            sort_dir.join(folder_name(
                c,
                k,
                majority.get(c).and_then(|m| m.as_deref()),
            ))
        })
        .collect();
    for f in &folders {
        std::fs::create_dir_all(f).map_err(|e| io(f, e))?;
    }
    let mut taken: Vec<std::collections::HashSet<String>> = vec![Default::default(); k];
    for row in rows {
        let original = Path::new(&row.file);
        let base = original
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".into());
        let target = folders[row.cluster].join(free_name(&base, &mut taken[row.cluster]));
        match mode {
            SortMode::Link => {
                let absolute = std::fs::canonicalize(original).map_err(|e| io(original, e))?;
                std::os::unix::fs::symlink(&absolute, &target).map_err(|e| io(&target, e))?;
            }
            SortMode::Copy => {
                // create_new: never replace anything that appeared meanwhile.
                let mut to = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&target)
                    .map_err(|e| io(&target, e))?;
                let mut from = std::fs::File::open(original).map_err(|e| io(original, e))?;
                std::io::copy(&mut from, &mut to).map_err(|e| io(&target, e))?;
            }
        }
    }
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_padded_and_clean() {
        assert_eq!(folder_name(3, 10, None), "cluster-03");
        assert_eq!(folder_name(3, 120, None), "cluster-003");
        assert_eq!(
            folder_name(0, 4, Some("Ankle boot")),
            "cluster-00-Ankle_boot"
        );
        assert_eq!(folder_name(1, 4, Some("../x")), "cluster-01-.._x");
        assert_eq!(folder_name(1, 4, Some("..")), "cluster-01");
    }

    #[test]
    fn majorities_name_each_clusters_commonest_class() {
        let classes = vec!["a".to_string(), "b".to_string()];
        let m = majorities(&[0, 0, 0, 1, 2], &[1, 1, 0, 0, 1], &classes, 4);
        assert_eq!(
            m,
            vec![Some("b".into()), Some("a".into()), Some("b".into()), None]
        );
    }

    #[test]
    fn repeated_names_get_numbers() {
        let mut taken = Default::default();
        assert_eq!(free_name("a.png", &mut taken), "a.png");
        assert_eq!(free_name("a.png", &mut taken), "a-2.png");
        assert_eq!(free_name("a.png", &mut taken), "a-3.png");
        assert_eq!(free_name("noext", &mut taken), "noext");
        assert_eq!(free_name("noext", &mut taken), "noext-2");
    }

    #[test]
    fn links_and_copies_never_replace_anything() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("a")).unwrap();
        std::fs::create_dir_all(src.join("b")).unwrap();
        std::fs::write(src.join("a/x.png"), b"one").unwrap();
        std::fs::write(src.join("b/x.png"), b"two").unwrap();
        let rows = vec![
            SortedRow {
                file: src.join("a/x.png").display().to_string(),
                cluster: 1,
            },
            SortedRow {
                file: src.join("b/x.png").display().to_string(),
                cluster: 1,
            },
        ];
        let sorted = dir.path().join("sorted");
        let majority = vec![None, Some("shoes".to_string())];
        assert_eq!(
            sort_into(&rows, 2, &majority, &sorted, SortMode::Link).unwrap(),
            2
        );
        let folder = sorted.join("cluster-01-shoes");
        assert!(sorted.join("cluster-00").is_dir());
        assert_eq!(std::fs::read(folder.join("x.png")).unwrap(), b"one");
        assert_eq!(std::fs::read(folder.join("x-2.png")).unwrap(), b"two");
        assert!(std::fs::symlink_metadata(folder.join("x.png"))
            .unwrap()
            .file_type()
            .is_symlink());
        // A second sort into the same (now non-empty) folder is refused, untouched.
        let err = sort_into(&rows, 2, &majority, &sorted, SortMode::Copy).unwrap_err();
        assert!(err.to_string().contains("not empty"), "{err}");
        assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 2);
        // Copies are files of their own; the originals stay.
        let copied = dir.path().join("copied");
        sort_into(&rows, 2, &majority, &copied, SortMode::Copy).unwrap();
        let copy = copied.join("cluster-01-shoes/x-2.png");
        assert!(!std::fs::symlink_metadata(&copy)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(copy).unwrap(), b"two");
        assert_eq!(std::fs::read(src.join("b/x.png")).unwrap(), b"two");
    }
}

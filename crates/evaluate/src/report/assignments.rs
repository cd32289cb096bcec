//! `assignments.csv`: one row per image and clustering, pointing back to the image's
//! source file.

use std::fmt::Write as _;
use std::path::Path;

use aeclust_artifact::kinds::{DatasetInfo, ImageFiles, PerSplit, Split};
use aeclust_artifact::ArtifactError;

use super::load::{ClusteringRun, SplitAssignments};
use super::{invalid, Result};

/// Columns of `assignments.csv`.
pub(crate) const HEADER: &str = "file,split,index,cluster,confidence,clustering,seed";

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The source file of every row of `split`: the image file for image folders, else
/// `FILE#INDEX` of the IDX images file, else `SPLIT#INDEX`.
fn sources(run: &ClusteringRun, split: Split, n: usize) -> Result<Vec<String>> {
    let Some((dataset, info)) = &run.dataset else {
        return Ok((0..n).map(|i| format!("{split}#{i}")).collect());
    };
    if let Some(folder) = &info.folder {
        let path = dataset.path(DatasetInfo::FILES_FILE)?;
        let text = std::fs::read_to_string(&path).map_err(|e| ArtifactError::io(&path, e))?;
        let files: ImageFiles = serde_json::from_str(&text)
            .map_err(|e| invalid(&path, format!("not an image file list: {e}")))?;
        let root = folder.roots.get(split).clone().unwrap_or_default();
        let rel = files.files.get(split);
        if rel.len() != n {
            return Err(invalid(
                &path,
                format!(
                    "{} {split} files, but {} assigns {n} rows",
                    rel.len(),
                    run.clustering.dir().display()
                ),
            ));
        }
        return Ok(rel
            .iter()
            .map(|f| Path::new(&root).join(f).display().to_string())
            .collect());
    }
    // IDX: train images, train labels, test images, test labels.
    let images_file = match split {
        Split::Train => info.sources.first(),
        Split::Test => info.sources.get(2),
    };
    Ok(match images_file {
        Some(f) if info.sources.len() == 4 => (0..n).map(|i| format!("{}#{i}", f.path)).collect(),
        _ => (0..n).map(|i| format!("{split}#{i}")).collect(),
    })
}

/// The whole file for `runs`.
pub(crate) fn csv(
    runs: &[ClusteringRun],
    assignments: &[PerSplit<SplitAssignments>],
) -> Result<String> {
    let mut out = String::from(HEADER);
    out.push('\n');
    for (run, a) in runs.iter().zip(assignments) {
        let name = field(&run.name);
        for split in Split::ALL {
            let s = a.get(split);
            let files = sources(run, split, s.len())?;
            for (i, ((file, &c), &conf)) in
                files.iter().zip(&s.clusters).zip(&s.confidence).enumerate()
            {
                let _ = writeln!(
                    out,
                    "{},{split},{i},{c},{conf},{name},{}",
                    field(file),
                    run.seed()
                );
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_commas_or_quotes_are_quoted() {
        assert_eq!(field("a/b.png"), "a/b.png");
        assert_eq!(field("a,b.png"), "\"a,b.png\"");
        assert_eq!(field("say \"hi\".png"), "\"say \"\"hi\"\".png\"");
    }
}

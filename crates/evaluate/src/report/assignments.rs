//! `assignments.csv`: one row per image and clustering, pointing back to the image's
//! source file.

use std::fmt::Write as _;

use aeclust_artifact::kinds::{PerSplit, Split};
use aeclust_cli::csv_field as field;

use super::load::{ClusteringRun, SplitAssignments};
use super::{invalid, Result};

/// Columns of `assignments.csv`.
pub(crate) const HEADER: &str = "file,split,index,cluster,confidence,clustering,seed";

/// The source file of every row of `split`: the image file for image folders, else
/// `FILE#INDEX` of the IDX images file, else `SPLIT#INDEX`.
pub(crate) fn sources(run: &ClusteringRun, split: Split, n: usize) -> Result<Vec<String>> {
    let Some((dataset, info)) = &run.dataset else {
        return Ok((0..n).map(|i| format!("{split}#{i}")).collect());
    };
    let files = info.row_sources(dataset, split)?;
    if files.len() != n {
        return Err(invalid(
            dataset.dir(),
            format!(
                "{} {split} images, but {} assigns {n} rows",
                files.len(),
                run.clustering.dir().display()
            ),
        ));
    }
    Ok(files)
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

//! Groups of near-identical rows: rows joined when one is among the other's `k` nearest
//! and their distance is at most a threshold, groups the connected components.

/// A row of a group and its distance to the nearest other member.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Row of the codes (train split).
    pub row: usize,
    /// Euclidean distance to the nearest other member of its group.
    pub distance: f32,
}

/// Near-identical rows, by ascending row.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Two or more members.
    pub members: Vec<Member>,
}

fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// The groups of rows of `codes` ([n, dim]) within `threshold` (Euclidean) of each
/// other through each row's `k` nearest others: largest group first, then by first row.
/// A group's members are connected by such links; two members need not be within the
/// threshold of each other.
pub fn duplicate_groups(codes: &[f32], dim: usize, threshold: f32, k: usize) -> Vec<Group> {
    let n = codes.len() / dim.max(1);
    if n < 2 {
        return Vec::new();
    }
    let k = k.clamp(1, n - 1);
    let nn = aeclust_knn::nearest_others(codes, dim, k, &|_| {});
    let mut parent: Vec<usize> = (0..n).collect();
    let mut nearest = vec![f32::INFINITY; n];
    for i in 0..n {
        for (&j, &d) in nn.row(i).iter().zip(nn.row_distances(i)) {
            if d > threshold {
                break;
            }
            let j = j as usize;
            nearest[i] = nearest[i].min(d);
            nearest[j] = nearest[j].min(d);
            let (a, b) = (root(&mut parent, i), root(&mut parent, j));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let mut by_root: std::collections::BTreeMap<usize, Vec<Member>> = Default::default();
    for (i, &distance) in nearest.iter().enumerate() {
        if distance.is_finite() {
            let r = root(&mut parent, i);
            by_root
                .entry(r)
                .or_default()
                .push(Member { row: i, distance });
        }
    }
    let mut groups: Vec<Group> = by_root
        .into_values()
        .map(|members| Group { members })
        .collect();
    groups.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.members[0].row.cmp(&b.members[0].row))
    });
    groups
}

/// The median distance of every row to its nearest other row: the scale a threshold is
/// read against.
pub fn median_nearest_distance(codes: &[f32], dim: usize) -> f32 {
    let n = codes.len() / dim.max(1);
    if n < 2 {
        return 0.0;
    }
    let nn = aeclust_knn::nearest_others(codes, dim, 1, &|_| {});
    let mut d = nn.distances;
    d.sort_by(f32::total_cmp);
    d[d.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_near_copies_group_and_distinct_rows_do_not() {
        // 1-d codes: 0, 0, 0 (three copies), 10, 10.05 (a near copy), 20, 30.
        let codes = [0.0, 10.0, 0.0, 20.0, 10.05, 0.0, 30.0];
        let groups = duplicate_groups(&codes, 1, 0.1, 3);
        assert_eq!(groups.len(), 2);
        let rows = |g: &Group| g.members.iter().map(|m| m.row).collect::<Vec<_>>();
        assert_eq!(rows(&groups[0]), [0, 2, 5]);
        assert!(groups[0].members.iter().all(|m| m.distance == 0.0));
        assert_eq!(rows(&groups[1]), [1, 4]);
        assert!((groups[1].members[0].distance - 0.05).abs() < 1e-4);
        // A threshold of 0 keeps the exact copies only; none below it.
        assert_eq!(duplicate_groups(&codes, 1, 0.0, 3).len(), 1);
        assert!(duplicate_groups(&[0.0, 1.0, 2.0], 1, 0.5, 2).is_empty());
    }

    #[test]
    fn a_chain_of_links_is_one_group_and_the_scale_is_the_median_gap() {
        // 0, 1, 2, 3 with threshold 1: each links to the next.
        let codes = [0.0, 1.0, 2.0, 3.0, 50.0];
        let groups = duplicate_groups(&codes, 1, 1.0, 1);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].members.len(), 4);
        // Nearest-other distances 1, 1, 1, 1, 47: median 1.
        assert_eq!(median_nearest_distance(&codes, 1), 1.0);
    }
}

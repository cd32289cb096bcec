//! Look-alikes among the images a codes artifact encodes: groups of near-identical
//! images (duplicates, copies under other names, re-encodings), found with the exact
//! k-nearest neighbours of the codes.

mod duplicates;
mod fitted;

pub use duplicates::{duplicate_groups, median_nearest_distance, Group, Member};
pub use fitted::{Fitted, SimilarError};

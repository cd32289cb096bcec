//! Look-alikes among the images a codes artifact encodes: groups of near-identical
//! images (duplicates, copies under other names, re-encodings), and the fitted images
//! nearest to new query images (read and encoded as the codes were), found with the
//! exact k-nearest neighbours of the codes.

mod duplicates;
mod fitted;
mod query;

pub use duplicates::{duplicate_groups, median_nearest_distance, Group, Member};
pub use fitted::{Fitted, SimilarError};
pub use query::{look_alikes, LookAlike};

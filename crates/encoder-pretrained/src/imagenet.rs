//! The 1,000 ImageNet-1k classes in the classifier's output order (`imagenet/README.md`
//! says where the names come from), compiled in.

const CLASSES: &str = include_str!("../imagenet/classes.tsv");

/// The vocabulary's name as codes artifacts record it.
pub const VOCABULARY: &str = "ImageNet-1k";

/// Each class's first lemma (`tabby`, `Egyptian cat`, `espresso`), index order.
pub fn class_names() -> Vec<String> {
    CLASSES
        .lines()
        .map(|l| {
            let lemmas = l.split_once('\t').map_or(l, |(_, lemmas)| lemmas);
            lemmas.split(", ").next().unwrap_or(lemmas).to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousand_names_in_order() {
        let names = super::class_names();
        assert_eq!(names.len(), 1000);
        assert_eq!(names[0], "tench");
        assert_eq!(names[285], "Egyptian cat");
        assert_eq!(names[967], "espresso");
    }
}

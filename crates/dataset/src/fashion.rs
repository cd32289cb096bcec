//! Facts about the Fashion-MNIST release, used to recognise it.

/// The ten Fashion-MNIST class names, indexed by label.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// (file stem, decompressed size, SHA-256 of the decompressed bytes).
pub type KnownFile = (&'static str, u64, &'static str);

/// (file stem, decompressed size, SHA-256 of the decompressed bytes) of the four files.
/// Debian re-compressed the archives, so the content is checked, never the `.gz` bytes.
pub const FASHION_MNIST_FILES: [KnownFile; 4] = [
    (
        "train-images-idx3-ubyte",
        47_040_016,
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    (
        "train-labels-idx1-ubyte",
        60_008,
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    (
        "t10k-images-idx3-ubyte",
        7_840_016,
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    (
        "t10k-labels-idx1-ubyte",
        10_008,
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
];

/// The same for the subset committed under `data/fashion-mnist-subset` (the first 2,000
/// train and 500 test images of the release).
pub const FASHION_MNIST_SUBSET_FILES: [KnownFile; 4] = [
    (
        "train-images-idx3-ubyte",
        1_568_016,
        "71a9f8cec24060d6752b3e4940ce6d6fd729334afa47b735dd553481aa83b53e",
    ),
    (
        "train-labels-idx1-ubyte",
        2_008,
        "8983259dfbc9f185f92698916f7daf361704b43ba7d19568cc7bcdeefdc1bece",
    ),
    (
        "t10k-images-idx3-ubyte",
        392_016,
        "c9bd0ed7148856eb2287d902861921296d6c36d95a5113341a35554343e84123",
    ),
    (
        "t10k-labels-idx1-ubyte",
        508,
        "9f5f7b9143df7bffff73a8bf7d8a53545dbf787f86e5e195c64401d2c6f8f372",
    ),
];

/// The known releases: name and files.
const RELEASES: [(&str, &[KnownFile; 4]); 2] = [
    ("fashion-mnist", &FASHION_MNIST_FILES),
    ("fashion-mnist-subset", &FASHION_MNIST_SUBSET_FILES),
];

/// The known release whose file `stem` has this decompressed size and SHA-256.
pub(crate) fn known_release(stem: &str, size: u64, sha256: &str) -> Option<&'static str> {
    RELEASES.iter().find_map(|(name, files)| {
        files
            .iter()
            .any(|(s, n, h)| *s == stem && *n == size && *h == sha256)
            .then_some(*name)
    })
}

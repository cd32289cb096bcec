//! Holds no code: the end-to-end test lives in `pipeline.rs`.

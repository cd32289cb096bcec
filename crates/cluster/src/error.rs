/// Errors of the clustering algorithms and stage.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Impossible parameters (checked before fitting).
    #[error("invalid parameter: {0}")]
    InvalidParams(String),
    /// Data that cannot be clustered as given.
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// A covariance matrix that stays singular after regularisation.
    #[error("covariance of component {component} is not positive definite even with reg_covar = {reg_covar:e}; the data may have (near-)duplicate points or collinear dimensions: increase --reg-covar (e.g. 1e-4) or use --covariance diag")]
    SingularCovariance { component: usize, reg_covar: f64 },
    /// Artifact layer errors.
    #[error(transparent)]
    Artifact(#[from] aeclust_artifact::ArtifactError),
    /// linfa's own errors.
    #[error(transparent)]
    Linfa(#[from] linfa::Error),
}

/// Result alias for this crate.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;

/// Checks that a real-valued setting is finite and not negative.
pub(crate) fn check_non_negative<F: linfa::Float>(name: &str, value: F) -> Result<()> {
    if !value.is_finite() || value < F::zero() {
        return Err(ClusterError::InvalidParams(format!(
            "{name} must be finite and >= 0, got {value}"
        )));
    }
    Ok(())
}

//! How a source tells the caller about layers as they finish (the CLI's
//! progress bar implements it).

/// Receives progress as layers finish; implemented by the CLI's progress bar.
pub trait Progress: Sync {
    /// The number of layers to read, once known.
    fn start(&self, _layers: usize) {}
    /// One layer of `bytes` uncompressed bytes is done.
    fn layer_done(&self, _bytes: u64) {}
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {}

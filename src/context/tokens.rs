//! Token estimates. Claude's tokenizer is not public, so the count comes from a real BPE
//! vocabulary shipped inside the binary (OpenAI's `cl100k_base`, through `tiktoken-rs`; nothing is
//! downloaded) and is raised by a margin (10% by default) so that the estimate errs high: a prompt
//! estimated within budget stays within it. Anything implementing [`TokenEstimator`] can replace
//! it.

/// Counts tokens, erring high.
pub trait TokenEstimator: Send + Sync + std::fmt::Debug {
    /// The estimated tokens of `text`.
    fn estimate(&self, text: &str) -> u32;
}

/// `cl100k_base` counts raised by a margin.
#[derive(Debug, Clone, Copy)]
pub struct BpeEstimator {
    margin: f64,
}

impl BpeEstimator {
    /// An estimator adding `margin` (0.1 = 10%) to the BPE count.
    pub fn new(margin: f64) -> Self {
        Self {
            margin: margin.max(0.0),
        }
    }

    /// Builds the vocabulary tables now (the first count pays for it otherwise).
    pub fn warm(&self) {
        let _ = tiktoken_rs::cl100k_base_singleton();
    }
}

impl Default for BpeEstimator {
    fn default() -> Self {
        Self::new(0.10)
    }
}

impl TokenEstimator for BpeEstimator {
    fn estimate(&self, text: &str) -> u32 {
        if text.is_empty() {
            return 0;
        }
        let count = tiktoken_rs::cl100k_base_singleton()
            .encode_ordinary(text)
            .len() as f64;
        let raised = (count * (1.0 + self.margin)).ceil();
        u32::try_from(raised as u64).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_err_high_by_the_margin() {
        let plain = BpeEstimator::new(0.0).estimate("hello world, this is a test");
        let raised = BpeEstimator::default().estimate("hello world, this is a test");
        assert!(plain > 3 && plain < 12, "{plain}");
        assert_eq!(raised, (f64::from(plain) * 1.1).ceil() as u32);
        assert_eq!(BpeEstimator::default().estimate(""), 0);
    }
}

//! The Feishu side, on 127.0.0.1, for tests, the demo and benchmarks. (Being built.)
pub mod cli;

//! The TOML manifest. (Being built.)

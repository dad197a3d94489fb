//! What the OpenAPI tests share: the traversal corpus.
pub mod corpus;
